"""Recording through the room's websocket: the host's control, everyone's notice, each
participant's consent, and the hand-over to processing (the media side is in
test_recording_media.py)."""

from __future__ import annotations

import dataclasses

import pytest
from channels.db import database_sync_to_async

from billing.entitlements import FREE_PLAN
from recordings.models import ConsentReceipt, Recording

from . import ajoin

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def meeting(meeting):
    meeting.recording_allowed = True
    meeting.save(update_fields=["recording_allowed"])
    return meeting


async def _start(sockets, host, guest):
    host_socket, _ = await sockets.enter(host)
    guest_socket, _ = await sockets.enter(guest)
    await host_socket.send({"type": "recording", "action": "start"})
    started = await host_socket.expect("recording_started")
    assert started["recording"].pop("started_by") == host.id
    await guest_socket.expect("recording_started")
    return host_socket, guest_socket, started["recording"]


async def test_the_host_starts_everyone_hears_and_only_the_host_is_recorded_at_first(
    sockets, meeting, host, guest
):
    _, _, recording = await _start(sockets, host, guest)

    row = await database_sync_to_async(Recording.objects.get)(public_id=recording["id"])
    assert row.state == Recording.State.RECORDING and row.meeting_id == meeting.pk
    receipts = await database_sync_to_async(list)(
        ConsentReceipt.objects.filter(recording=row).values_list("participant_id", "decision")
    )
    assert [(str(p), d) for p, d in receipts] == [(host.id, "accepted")]
    # A reconnecting participant learns it from the snapshot, with their own decision.
    _, again = await sockets.enter(guest)
    assert again["recording"] == recording | {"consent": None}
    assert again["recording_control"] is None
    _, host_again = await sockets.enter(host)
    assert host_again["recording"]["consent"] == "accepted"
    assert host_again["recording_control"] == {
        "allowed": True,
        "reason": None,
        "upgrade_url": None,
    }


async def test_consent_is_a_receipt_each_time_and_comes_back_to_the_participant(
    sockets, meeting, host, guest
):
    _, guest_socket, recording = await _start(sockets, host, guest)

    await guest_socket.send(
        {"type": "recording_consent", "recording": recording["id"], "accepted": False}
    )
    await guest_socket.expect("recording_consent", consent="declined")
    await guest_socket.send(
        {"type": "recording_consent", "recording": recording["id"], "accepted": True}
    )
    await guest_socket.expect("recording_consent", consent="accepted")

    receipts = await database_sync_to_async(list)(
        ConsentReceipt.objects.filter(participant_id=guest.id).values_list(
            "decision", "context", "email", "display_name"
        )
    )
    assert receipts == [
        ("declined", "in_meeting", "ada@example.com", "Ada Guest"),
        ("accepted", "in_meeting", "ada@example.com", "Ada Guest"),
    ]


async def test_a_late_joiners_consent_is_marked_as_given_on_joining(sockets, meeting, host, guest):
    _, _, recording = await _start(sockets, host, guest)
    late = await ajoin(meeting, name="Carol Late", email="carol@example.com")
    late_socket, snapshot = await sockets.enter(late)
    assert snapshot["recording"]["consent"] is None

    await late_socket.send(
        {"type": "recording_consent", "recording": recording["id"], "accepted": True}
    )
    await late_socket.expect("recording_consent", consent="accepted")
    receipt = await database_sync_to_async(ConsentReceipt.objects.get)(participant_id=late.id)
    assert receipt.context == "on_join"


async def test_consent_for_an_unknown_or_malformed_recording_is_refused(
    sockets, meeting, host, guest
):
    _, guest_socket, _ = await _start(sockets, host, guest)
    for bad in ("not-a-uuid", "6f1c1f4e-4d55-4c56-9a77-2b8f0d7a9a10"):
        await guest_socket.send({"type": "recording_consent", "recording": bad, "accepted": True})
        error = await guest_socket.error("not_found")
        assert error["in_reply_to"] == "recording_consent"
    await guest_socket.send({"type": "recording_consent", "recording": "x", "accepted": "yes"})
    await guest_socket.error("invalid_message")
    await guest_socket.send({"type": "recording", "action": "pause"})
    await guest_socket.error("invalid_message")


async def test_only_the_host_records_and_only_once(sockets, meeting, host, guest):
    host_socket, guest_socket, _ = await _start(sockets, host, guest)

    await guest_socket.send({"type": "recording", "action": "stop"})
    await guest_socket.error("not_host")
    await guest_socket.send({"type": "recording", "action": "start"})
    await guest_socket.error("not_host")
    await host_socket.send({"type": "recording", "action": "start"})
    await host_socket.error("recording_running")
    assert await database_sync_to_async(Recording.objects.count)() == 1


async def test_stopping_tells_everyone_and_hands_over_to_processing(sockets, meeting, host, guest):
    host_socket, guest_socket, recording = await _start(sockets, host, guest)

    await host_socket.send({"type": "recording", "action": "stop"})
    await guest_socket.expect("recording_stopped", recording={"id": recording["id"]})
    await host_socket.expect("recording_stopped")
    row = await database_sync_to_async(Recording.objects.get)(public_id=recording["id"])
    # Processing ran at once (eager Celery): nobody published media, so nothing to compose.
    assert row.state == Recording.State.FAILED and row.stopped_at is not None
    assert row.failure_reason == "Nothing was recorded."

    await host_socket.send({"type": "recording", "action": "stop"})
    await host_socket.error("not_recording")
    _, snapshot = await sockets.enter(guest)
    assert snapshot["recording"] is None


async def test_ending_the_meeting_stops_its_recording(sockets, meeting, host, guest):
    host_socket, guest_socket, recording = await _start(sockets, host, guest)

    await host_socket.send({"type": "host", "action": "end"})
    await guest_socket.expect("meeting_ended")
    row = await database_sync_to_async(Recording.objects.get)(public_id=recording["id"])
    assert row.state != Recording.State.RECORDING and row.stopped_at is not None


async def test_the_last_one_leaving_stops_the_recording(sockets, meeting, host, guest):
    host_socket, guest_socket, recording = await _start(sockets, host, guest)

    await guest_socket.send({"type": "leave"})
    await guest_socket.closed()
    row = await database_sync_to_async(Recording.objects.get)(public_id=recording["id"])
    assert row.state == Recording.State.RECORDING  # the host is still there
    await host_socket.send({"type": "leave"})
    await host_socket.closed()
    await row.arefresh_from_db()
    assert row.state != Recording.State.RECORDING and row.stopped_at is not None


async def test_a_meeting_without_recording_explains_why(sockets, meeting, host):
    meeting.recording_allowed = False
    await database_sync_to_async(meeting.save)(update_fields=["recording_allowed"])
    socket, snapshot = await sockets.enter(host)
    assert snapshot["recording_control"]["allowed"] is False
    assert "meeting's settings" in snapshot["recording_control"]["reason"]

    await socket.send({"type": "recording", "action": "start"})
    error = await socket.error("recording_unavailable")
    assert "meeting's settings" in error["message"]
    assert await database_sync_to_async(Recording.objects.count)() == 0


async def test_a_plan_without_recording_points_to_an_upgrade(sockets, meeting, host, monkeypatch):
    no_recording = dataclasses.replace(FREE_PLAN, recording_allowed=False)
    monkeypatch.setattr("recordings.services.entitlements_for", lambda account: no_recording)
    socket, snapshot = await sockets.enter(host)
    assert snapshot["recording_control"]["allowed"] is False
    assert "plan" in snapshot["recording_control"]["reason"]

    await socket.send({"type": "recording", "action": "start"})
    error = await socket.error("recording_unavailable")
    assert "Upgrade" in error["message"]
