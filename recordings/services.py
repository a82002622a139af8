"""Recording lifecycle: start, consent, stop, and handing over to processing.

The room calls these (through ``meetings.room.actions``) and then tells the media server
what to write; the media server never reads the database. Processing is in
``processing.py``, retention in ``retention.py``, the host's library in ``library.py``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, connections, transaction
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from accounts.models import User
from billing.entitlements import entitlements_for
from meetings import lookups
from recordings import states
from recordings.errors import (
    InvalidTransition,
    NotRecording,
    RecordingRunning,
    RecordingUnavailable,
    UnknownRecording,
)
from recordings.models import ConsentReceipt, Recording

if TYPE_CHECKING:
    # What the room hands over; every read of them goes through ``meetings.lookups``.
    from meetings.models import Occurrence, ParticipantSession

State = Recording.State
Decision = ConsentReceipt.Decision
Context = ConsentReceipt.Context


@dataclass(frozen=True)
class Control:
    """Whether the host's record button works, and if not why and where to upgrade."""

    allowed: bool
    reason: str | None = None
    upgrade_url: str | None = None

    def as_message(self) -> dict[str, object]:
        return {"allowed": self.allowed, "reason": self.reason, "upgrade_url": self.upgrade_url}


def _upgrade_url() -> str | None:
    try:
        return reverse("billing:plans")
    except NoReverseMatch:
        return None


def recording_control(*, occurrence: Occurrence) -> Control:
    return _control(lookups.sitting(occurrence))


def _control(sitting: lookups.Sitting) -> Control:
    if not entitlements_for(sitting.host).recording_allowed:
        return Control(
            False,
            "Your plan doesn't include recording. Upgrade to record meetings.",
            _upgrade_url(),
        )
    if not sitting.recording_allowed:
        return Control(
            False, "Recording is turned off for this meeting: allow it in the meeting's settings."
        )
    return Control(True)


def running_recording(*, occurrence_id: int) -> Recording | None:
    return Recording.objects.filter(occurrence_id=occurrence_id, state=State.RECORDING).first()


def _title(sitting: lookups.Sitting) -> str:
    local = timezone.localtime(timezone.now(), ZoneInfo(sitting.time_zone))
    return f"{sitting.title} ({local:%Y-%m-%d %H:%M})"[:200]


@transaction.atomic
def start_recording(*, occurrence: Occurrence, by: ParticipantSession) -> Recording:
    """The host starts recording; they are recorded (their own consent receipt)."""
    host = lookups.participant(by)
    if not host.is_host or host.occurrence_id != occurrence.pk:
        raise RecordingUnavailable("Only the host can start recording.")
    sitting = lookups.sitting(occurrence)
    control = _control(sitting)
    if not control.allowed:
        raise RecordingUnavailable(control.reason or "Recording isn't available.")
    try:
        with transaction.atomic():
            recording = Recording.objects.create(
                meeting_id=sitting.meeting_id,
                occurrence_id=sitting.occurrence_id,
                host=sitting.host,
                title=_title(sitting),
                started_at=timezone.now(),
                retention_days=entitlements_for(sitting.host).recording_retention_days,
            )
    except IntegrityError as exc:  # the unique "one running recording" constraint
        raise RecordingRunning("This meeting is already being recorded.") from exc
    _receipt(recording, host, accepted=True, context=Context.STARTED)
    return recording


def _receipt(
    recording: Recording, participant: lookups.Participant, *, accepted: bool, context: str
) -> ConsentReceipt:
    return ConsentReceipt.objects.create(
        recording=recording,
        session_id=participant.session_id,
        participant_id=participant.public_id,
        display_name=participant.display_name,
        email=participant.email,
        decision=Decision.ACCEPTED if accepted else Decision.DECLINED,
        context=context,
        decided_at=timezone.now(),
    )


def record_consent(
    *, recording_id: str, session: ParticipantSession, accepted: bool
) -> tuple[Recording, ConsentReceipt]:
    """A participant's choice about the running recording of their meeting."""
    person = lookups.participant(session)
    recording = Recording.objects.filter(
        public_id=recording_id, occurrence_id=person.occurrence_id, state=State.RECORDING
    ).first()
    if recording is None:
        raise UnknownRecording("That recording isn't running in this meeting.")
    asked_before = ConsentReceipt.objects.filter(
        recording=recording, participant_id=person.public_id
    ).exists()
    joined_after = person.admitted_at is not None and person.admitted_at > recording.started_at
    context = Context.IN_MEETING if asked_before or not joined_after else Context.ON_JOIN
    return recording, _receipt(recording, person, accepted=accepted, context=context)


def consent_of(*, recording: Recording, participant_id: str) -> str | None:
    """The participant's latest decision about ``recording`` (None: not asked yet)."""
    return (
        ConsentReceipt.objects.filter(recording=recording, participant_id=participant_id)
        .order_by("-decided_at", "-pk")
        .values_list("decision", flat=True)
        .first()
    )


def consenting_participants(*, recording: Recording) -> list[str]:
    """Participant ids whose latest decision is "accepted": the media server records them."""
    latest: dict[str, str] = {}
    for participant_id, decision in (
        ConsentReceipt.objects.filter(recording=recording)
        .order_by("decided_at", "pk")
        .values_list("participant_id", "decision")
    ):
        latest[str(participant_id)] = decision
    return sorted(p for p, decision in latest.items() if decision == Decision.ACCEPTED)


def stop_recording(*, recording: Recording, enqueue: bool = True) -> bool:
    """Recording -> processing; processing is enqueued after commit, unless the caller
    hands it over itself (``dispatch_processing``) once the media server has closed its
    files. False if already stopped (stopping is idempotent: the host's click and the
    meeting's end may race)."""
    now = timezone.now()
    moved = states.move(
        recording.pk, source=State.RECORDING, target=State.PROCESSING, stopped_at=now, progress=0
    )
    if moved and enqueue:
        _enqueue_processing(recording.pk)
    return moved


def stop_recording_by_pk(*, recording_pk: int) -> bool:
    recording = Recording.objects.filter(pk=recording_pk).first()
    return recording is not None and stop_recording(recording=recording)


def stop_running(*, occurrence_id: int, enqueue: bool = True) -> Recording | None:
    """Stop the occurrence's running recording, if any (meeting ended, room emptied)."""
    recording = running_recording(occurrence_id=occurrence_id)
    if recording is not None and stop_recording(recording=recording, enqueue=enqueue):
        return recording
    return None


def require_running(*, occurrence_id: int) -> Recording:
    recording = running_recording(occurrence_id=occurrence_id)
    if recording is None:
        raise NotRecording("Nothing is being recorded.")
    return recording


def retry_processing(*, recording: Recording, by: User) -> Recording:
    """The host retries a failed recording's processing."""
    if recording.host_id != by.pk:
        raise InvalidTransition("Only the recording's host can retry it.")
    moved = states.move(
        recording.pk,
        source=State.FAILED,
        target=State.PROCESSING,
        failure_reason="",
        progress=0,
        attempts=0,
        lease_token="",
        lease_until=None,
    )
    if not moved:
        raise InvalidTransition("Only a failed recording can be processed again.")
    _enqueue_processing(recording.pk)
    recording.refresh_from_db()
    return recording


def _enqueue_processing(recording_id: int) -> None:
    transaction.on_commit(lambda: _dispatch_processing(recording_id))


def dispatch_processing(*, recording_id: int) -> None:
    """Hand a stopped recording to processing now (the room calls this once the media
    server has closed the recording's files)."""
    _dispatch_processing(recording_id)


def _dispatch_processing(recording_id: int) -> None:
    from recordings.tasks import process_recording

    if process_recording.app.conf.task_always_eager and settings.RECORDINGS_PROCESS_IN_THREAD:
        # The embedded default has no worker: compose beside the server, not inside the
        # request (or websocket message) that stopped the recording.
        threading.Thread(
            target=_process_in_thread, args=(recording_id,), daemon=True, name="recording"
        ).start()
        return
    process_recording.delay(recording_id)


def _process_in_thread(recording_id: int) -> None:
    from recordings.tasks import process_recording

    try:
        process_recording.apply((recording_id,))
    finally:
        connections.close_all()


def requeue_stalled(*, stale_after: timedelta) -> list[int]:
    """Processing recordings nobody is working on (the worker died, the message was lost):
    enqueue them again. A live worker holds a lease it renews; a duplicate run exits."""
    now = timezone.now()
    stalled = list(
        Recording.objects.filter(state=State.PROCESSING, stopped_at__lt=now - stale_after)
        .exclude(lease_until__gt=now)
        .values_list("pk", flat=True)
    )
    for recording_id in stalled:
        _enqueue_processing(recording_id)
    return stalled


def abandoned_sittings() -> list[int]:
    """The sittings whose recording still runs though they ended or have nobody in them
    any more (the room's own stop was lost: a process died). The room's actions stop them
    (``meetings.room.actions.recording.stop_abandoned``)."""
    running = list(Recording.objects.filter(state=State.RECORDING))
    abandoned = lookups.abandoned_sittings(occurrence_ids={r.occurrence_id for r in running})
    return sorted({r.occurrence_id for r in running if r.occurrence_id in abandoned})
