"""The recording lifecycle outside the room: the state machine, processing claims and
retries, the sweeps, and retention under a time machine."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from billing.entitlements import FREE_PLAN
from recordings import processing, retention, services, states, storage
from recordings.errors import (
    InvalidTransition,
    NotRecording,
    RecordingRunning,
    RecordingUnavailable,
)
from recordings.models import ConsentReceipt, Recording
from recordings.tasks import (
    apply_retention,
    process_recording,
    requeue_stalled_processing,
    stop_abandoned_recordings,
)
from tests.factories import UserFactory
from tests.meetings.factories import MeetingFactory

from .factories import RecordingFactory
from .tracks import BLUE, RED, Participant, write_recording

pytestmark = pytest.mark.django_db(transaction=True)

State = Recording.State


def _host_session(occurrence):
    from meetings.models import ParticipantSession

    now = timezone.now()
    return ParticipantSession.objects.create(
        occurrence=occurrence,
        user=occurrence.meeting.host,
        email=occurrence.meeting.host.email,
        display_name="Hana Host",
        is_host=True,
        state=ParticipantSession.State.ADMITTED,
        requested_at=now,
        admitted_at=now,
        last_seen_at=now,
    )


@pytest.fixture
def occurrence():
    return MeetingFactory(recording_allowed=True).occurrences.first()


def _stopped(occurrence, seconds: float = 2.0, people=None) -> Recording:
    """A recording stopped just now, with tracks as the media server writes them."""
    recording = services.start_recording(occurrence=occurrence, by=_host_session(occurrence))
    write_recording(
        storage.tracks_directory(recording),
        people or [Participant("hana", RED, 440.0), Participant("ada", BLUE, 660.0, joins=0.5)],
        seconds=seconds,
    )
    return recording


# --- starting -------------------------------------------------------------------------


def test_the_state_machine_allows_only_its_moves():
    assert states.can_move(State.RECORDING, State.PROCESSING)
    assert states.can_move(State.FAILED, State.PROCESSING)
    assert not states.can_move(State.READY, State.PROCESSING)
    assert not states.can_move(State.RECORDING, State.READY)
    with pytest.raises(InvalidTransition):
        states.move(1, source=State.READY, target=State.RECORDING)


def test_starting_takes_the_plans_retention_and_the_hosts_consent(occurrence):
    host = _host_session(occurrence)
    recording = services.start_recording(occurrence=occurrence, by=host)
    assert recording.state == State.RECORDING
    assert recording.retention_days == FREE_PLAN.recording_retention_days
    assert recording.qa_use_allowed  # the policy's default: may be used for QA
    assert recording.title.startswith(occurrence.meeting.title)
    receipt = ConsentReceipt.objects.get(recording=recording)
    assert (receipt.decision, receipt.context, receipt.participant_id) == (
        "accepted",
        "started",
        host.public_id,
    )
    with pytest.raises(RecordingRunning):
        services.start_recording(occurrence=occurrence, by=host)


def test_only_a_host_of_this_sitting_may_start(occurrence):
    host = _host_session(occurrence)
    host.is_host = False
    with pytest.raises(RecordingUnavailable):
        services.start_recording(occurrence=occurrence, by=host)
    other = MeetingFactory(recording_allowed=True).occurrences.first()
    with pytest.raises(RecordingUnavailable):
        services.start_recording(occurrence=other, by=_host_session(occurrence))


def test_the_plan_and_the_meeting_must_both_allow_it(occurrence, monkeypatch):
    no_recording = dataclasses.replace(FREE_PLAN, recording_allowed=False)
    monkeypatch.setattr("recordings.services.entitlements_for", lambda account: no_recording)
    control = services.recording_control(occurrence=occurrence)
    assert not control.allowed and "plan" in (control.reason or "")
    with pytest.raises(RecordingUnavailable):
        services.start_recording(occurrence=occurrence, by=_host_session(occurrence))
    monkeypatch.undo()
    occurrence.meeting.recording_allowed = False
    occurrence.meeting.save()
    assert not services.recording_control(occurrence=occurrence).allowed


def test_stopping_is_idempotent_and_require_running_says_so(occurrence):
    recording = services.start_recording(occurrence=occurrence, by=_host_session(occurrence))
    assert services.stop_recording(recording=recording)
    assert not services.stop_recording(recording=recording)
    with pytest.raises(NotRecording):
        services.require_running(occurrence_id=occurrence.pk)


# --- processing -----------------------------------------------------------------------


def test_processing_composes_verifies_and_removes_the_originals(occurrence):
    recording = _stopped(occurrence, seconds=2.0)
    services.stop_recording(recording=recording)  # eager: processed on commit
    recording.refresh_from_db()
    assert recording.state == State.READY, recording.failure_reason
    assert recording.progress == 100 and recording.has_thumbnail
    assert recording.duration_seconds == pytest.approx(2.0, abs=0.5)
    assert recording.expires_at == recording.stopped_at + timedelta(days=recording.retention_days)
    assert storage.composed_path(recording).stat().st_size == recording.size_bytes
    assert not storage.tracks_directory(recording).exists()
    assert process_recording.apply((recording.pk,)).get() == "skipped"  # done is done


def test_a_live_lease_keeps_a_second_run_out_and_an_expired_one_lets_it_in(occurrence, settings):
    recording = _stopped(occurrence)
    states.move(recording.pk, source=State.RECORDING, target=State.PROCESSING)
    Recording.objects.filter(pk=recording.pk).update(
        stopped_at=timezone.now(),
        lease_token="other",
        lease_until=timezone.now() + timedelta(seconds=60),
    )
    assert processing.process(recording.pk) == processing.Outcome.BUSY
    Recording.objects.filter(pk=recording.pk).update(lease_until=timezone.now())
    assert processing.process(recording.pk) == processing.Outcome.READY


def test_a_run_that_lost_its_lease_does_not_mark_ready(occurrence):
    recording = _stopped(occurrence)
    states.move(recording.pk, source=State.RECORDING, target=State.PROCESSING)
    Recording.objects.filter(pk=recording.pk).update(stopped_at=timezone.now())

    def steal(fraction: float) -> None:
        Recording.objects.filter(pk=recording.pk).update(lease_token="thief")

    progress = processing._Progress(recording.pk, "mine")
    steal(0)
    with pytest.raises(processing.LeaseLost):
        progress(0.5)


def test_waiting_for_the_media_server_then_composing_what_a_dead_one_left(occurrence, settings):
    recording = services.start_recording(occurrence=occurrence, by=_host_session(occurrence))
    write_recording(
        storage.tracks_directory(recording),
        [Participant("hana", RED, 440.0)],
        seconds=2.0,
        died=True,
    )
    states.move(recording.pk, source=State.RECORDING, target=State.PROCESSING)
    Recording.objects.filter(pk=recording.pk).update(stopped_at=timezone.now())
    with pytest.raises(processing.NotReadyYet):
        processing.process(recording.pk)
    recording.refresh_from_db()
    assert recording.lease_token == "" and recording.state == State.PROCESSING
    settings.RECORDINGS_JOURNAL_WAIT_SECONDS = 0
    assert processing.process(recording.pk) == processing.Outcome.READY


def test_a_failure_shows_the_reason_and_the_host_can_retry(occurrence):
    recording = services.start_recording(occurrence=occurrence, by=_host_session(occurrence))
    storage.tracks_directory(recording).mkdir(parents=True)
    (storage.tracks_directory(recording) / "journal.jsonl").write_text(
        '{"event": "started", "recording": "x", "at": 1}\n{"event": "stopped", "at": 1}\n'
    )
    services.stop_recording(recording=recording)
    recording.refresh_from_db()
    assert recording.state == State.FAILED and recording.failure_reason == "Nothing was recorded."

    with pytest.raises(InvalidTransition):
        services.retry_processing(recording=recording, by=UserFactory())
    write_recording(
        storage.tracks_directory(recording), [Participant("hana", RED, 440.0)], seconds=1.0
    )
    retried = services.retry_processing(recording=recording, by=recording.host)
    assert retried.state == State.READY and retried.failure_reason == ""
    with pytest.raises(InvalidTransition):
        services.retry_processing(recording=retried, by=recording.host)


def test_the_task_retries_with_backoff_before_failing(occurrence, monkeypatch):
    recording = _stopped(occurrence)
    states.move(recording.pk, source=State.RECORDING, target=State.PROCESSING)
    retries = []

    def retry(*args, **kwargs):
        retries.append(kwargs["countdown"])
        raise RuntimeError("retry scheduled")

    monkeypatch.setattr(processing, "process", lambda pk: (_ for _ in ()).throw(OSError("disk")))
    monkeypatch.setattr(process_recording, "retry", retry)
    request = {"is_eager": False}
    for failures in range(4):
        with pytest.raises(RuntimeError, match="retry scheduled"):
            process_recording.run.__func__(  # type: ignore[attr-defined]
                _Task(request), recording.pk, failures=failures
            )
    assert retries == [10, 20, 40, 80]
    with pytest.raises(OSError):
        process_recording.run.__func__(_Task(request), recording.pk, failures=4)  # type: ignore[attr-defined]
    recording.refresh_from_db()
    assert recording.state == State.FAILED and "OSError" in recording.failure_reason


class _Task:
    """Stands in for the bound task (``self``) to call the task body with a non-eager request."""

    def __init__(self, request: dict) -> None:
        self.request = type("Request", (), request)()

    def retry(self, **kwargs):
        return process_recording.retry(**kwargs)


def test_the_sweep_requeues_processing_nobody_holds(occurrence):
    recording = _stopped(occurrence)
    states.move(recording.pk, source=State.RECORDING, target=State.PROCESSING)
    Recording.objects.filter(pk=recording.pk).update(stopped_at=timezone.now())
    assert requeue_stalled_processing.apply().get() == 0  # just stopped: give it time
    Recording.objects.filter(pk=recording.pk).update(
        stopped_at=timezone.now() - timedelta(minutes=5),
        lease_token="alive",
        lease_until=timezone.now() + timedelta(minutes=1),
    )
    assert requeue_stalled_processing.apply().get() == 0  # a live worker holds it
    Recording.objects.filter(pk=recording.pk).update(lease_until=timezone.now())
    assert requeue_stalled_processing.apply().get() == 1
    recording.refresh_from_db()
    assert recording.state == State.READY


def test_recordings_of_empty_or_ended_sittings_are_stopped(occurrence):
    host = _host_session(occurrence)
    recording = services.start_recording(occurrence=occurrence, by=host)
    assert services.abandoned_sittings() == []  # the host is in
    assert stop_abandoned_recordings.apply().get() == 0
    host.state = host.State.LEFT
    host.save()
    assert services.abandoned_sittings() == [occurrence.pk]
    assert stop_abandoned_recordings.apply().get() == 1
    recording.refresh_from_db()
    assert recording.state != State.RECORDING
    assert stop_abandoned_recordings.apply().get() == 0


# --- retention ------------------------------------------------------------------------


def test_expired_recordings_go_to_the_trash_then_are_purged_after_seven_days():
    keep = RecordingFactory(retention_days=30)
    expiring = RecordingFactory(retention_days=7)
    path = storage.composed_path(expiring)
    assert path.exists()
    expires = expiring.expires_at

    with time_machine.travel(expires - timedelta(minutes=1)):
        assert apply_retention.apply().get() == {"trashed": 0, "purged": 0}
    with time_machine.travel(expires + timedelta(minutes=1)):
        assert apply_retention.apply().get() == {"trashed": 1, "purged": 0}
    expiring.refresh_from_db()
    assert expiring.trashed_at is not None and path.exists()
    with time_machine.travel(expires + timedelta(days=6, hours=23)):
        assert retention.purge_trash() == 0
    with time_machine.travel(expires + timedelta(days=7, minutes=2)):
        assert apply_retention.apply().get() == {"trashed": 0, "purged": 1}
    assert not Recording.objects.filter(pk=expiring.pk).exists()
    assert not storage.directory(expiring).exists()
    keep.refresh_from_db()
    assert keep.trashed_at is None and storage.composed_path(keep).exists()
