"""One door per action: every room action has the same effects whichever door calls it.

The table ``DOORS`` says which doors offer which action: the room's socket, the meeting
page, the REST API and the tasks. Each cell is run against real sockets and asserts the
same effects: the room hears the event, the affected socket closes with the documented
code within a second, the media server drops the peer, a running recording stops and goes
to processing, attendance closes. ``test_every_door_has_its_row`` fails when a door gains
an action that has no row here.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.urls import URLPattern, reverse
from django.utils import timezone

from meetings import live_api, live_views, lobby, tasks, time_limit
from meetings.api_urls import urlpatterns as api_patterns
from meetings.host_urls import urlpatterns as page_patterns
from meetings.models import Occurrence, ParticipantSession, RoomAction
from meetings.room import consumer, protocol
from meetings.room.media_gateway import get_gateway
from meetings.room.protocol import CLOSE_ENDED, CLOSE_NOT_ALLOWED, CLOSE_REMOVED
from recordings.models import Recording
from recordings.tasks import stop_abandoned_recordings

from . import Joined, ajoin

pytestmark = pytest.mark.django_db(transaction=True)
State = ParticipantSession.State
Reason = ParticipantSession.LeaveReason

ROOM, PAGE, API, TASK = "room", "page", "api", "task"
DOORS: dict[str, set[str]] = {
    "admit": {ROOM, PAGE, API},
    "deny": {ROOM, PAGE, API},
    "admit_all": {ROOM, PAGE, API},
    "remove": {ROOM, PAGE, API},
    "mute": {ROOM, PAGE, API},
    "mute_all": {ROOM, PAGE, API},
    "lock": {ROOM, PAGE, API},
    "unlock": {ROOM, PAGE, API},
    "end": {ROOM, PAGE, API},
    "lock_unmute": {ROOM},
    "unlock_unmute": {ROOM},
    "leave": {ROOM, PAGE},
    "stale_close": {ROOM, TASK},
    "time_limit_end": {ROOM, TASK},
    "recording_stop": {ROOM, TASK},
}
CELLS = sorted((action, door) for action, doors in DOORS.items() for door in doors)
PAGE_NAMES = {
    "admit": "meetings:lobby_admit",
    "deny": "meetings:lobby_deny",
    "remove": "meetings:lobby_remove",
    "mute": "meetings:lobby_mute",
    "admit_all": "meetings:lobby_admit_all",
    "mute_all": "meetings:occurrence_mute_all",
    "lock": "meetings:occurrence_lock",
    "unlock": "meetings:occurrence_unlock",
    "end": "meetings:occurrence_end",
    "leave": "meetings:leave",
}
API_NAMES = {
    "admit": "api:meetings:live-admit",
    "deny": "api:meetings:live-deny",
    "remove": "api:meetings:live-remove",
    "mute": "api:meetings:live-mute",
    "admit_all": "api:meetings:live-admit-all",
    "mute_all": "api:meetings:live-mute-all",
    "lock": "api:meetings:live-lock",
    "unlock": "api:meetings:live-unlock",
    "end": "api:meetings:live-end",
}
TARGETED = {"admit", "deny", "remove", "mute"}


def _names(patterns: list) -> set[str]:
    return {p.name for p in patterns if isinstance(p, URLPattern) and p.name}


def test_every_door_has_its_row():
    room_actions = protocol.TARGETED_HOST_ACTIONS | protocol.ROOM_HOST_ACTIONS
    others = {"leave", "stale_close", "time_limit_end", "recording_stop"}
    assert room_actions | others == {a for a, d in DOORS.items() if ROOM in d}
    page_actions = {a for a, d in DOORS.items() if PAGE in d}
    assert set(live_views.PARTICIPANT_ACTIONS) <= page_actions
    live_page_names = {
        n for n in _names(page_patterns) if n.startswith(("lobby_", "occurrence_"))
    } - {"occurrence_edit", "occurrence_cancel"}
    assert {f"meetings:{n}" for n in live_page_names} <= set(PAGE_NAMES.values())
    assert set(live_api.PARTICIPANT_ACTIONS) <= {a for a, d in DOORS.items() if API in d}
    live_api_names = {n for n in _names(api_patterns) if n.startswith("live-")}
    assert {f"api:meetings:{n}" for n in live_api_names} == set(API_NAMES.values())


# --- The doors ------------------------------------------------------------------------


async def call(door: str, action: str, host: Joined, host_socket, target: Joined | None):
    occurrence = await sync_to_async(Occurrence.objects.get)(pk=host.session.occurrence_id)
    meeting = host.meeting
    if door == ROOM:
        message = {"type": "host", "action": action}
        if action in TARGETED:
            message["target"] = target.id
        if action == "mute_all":
            message["lock_unmute"] = False
        await host_socket.send(message)
        return
    if door == PAGE:
        if action in TARGETED:
            url = reverse(PAGE_NAMES[action], args=[meeting.public_id, target.session.public_id])
        else:
            url = reverse(PAGE_NAMES[action], args=[meeting.public_id, occurrence.public_id])
        response = await sync_to_async(host.browser.post)(url)
        assert response.status_code == 302, response.content[:500]
        return
    assert door == API
    args = [meeting.public_id, occurrence.public_id]
    if action in TARGETED:
        args.append(target.session.public_id)
    response = await sync_to_async(host.browser.post)(
        reverse(API_NAMES[action], args=args), {}, content_type="application/json"
    )
    assert response.status_code == 200, response.content[:500]


# --- One test per action, parametrized over its doors ---------------------------------


def doors_of(action: str) -> list[str]:
    return sorted(DOORS[action])


async def _two_in_the_room(sockets, meeting, host, guest):
    bob = await ajoin(meeting, name="Bob", email="bob@example.com")
    host_socket, _ = await sockets.enter(host)
    guest_socket, _ = await sockets.enter(guest)
    bob_socket, _ = await sockets.enter(bob)
    return host_socket, guest_socket, bob_socket


async def _start_recording(host_socket, *others):
    await host_socket.send({"type": "recording", "action": "start"})
    started = await host_socket.expect("recording_started")
    for socket in others:
        await socket.expect("recording_started")
    return started["recording"]["id"]


async def _recording_state(recording_id: str) -> str:
    return (await sync_to_async(Recording.objects.get)(public_id=recording_id)).state


@pytest.mark.parametrize("door", doors_of("remove"))
async def test_remove(door, sockets, meeting, host, guest):
    host_socket, guest_socket, bob_socket = await _two_in_the_room(sockets, meeting, host, guest)
    assert guest.id in get_gateway().rooms()[guest.room].peers

    await call(door, "remove", host, host_socket, guest)

    await guest_socket.expect("removed", timeout=1)
    assert await guest_socket.closed(timeout=1) == CLOSE_REMOVED
    for socket in (host_socket, bob_socket):
        left = await socket.expect("participant_left", timeout=1)
        assert (left["id"], left["reason"]) == (guest.id, "removed")
    session = await sync_to_async(guest.refresh)()
    assert (session.state, session.leave_reason) == (State.LEFT, Reason.REMOVED)
    assert guest.id not in get_gateway().rooms()[guest.room].peers
    audit = await sync_to_async(RoomAction.objects.get)(action="remove")
    assert (audit.door, audit.target_id) == (door, guest.session.pk)


@pytest.mark.parametrize("door", doors_of("mute"))
async def test_mute(door, sockets, meeting, host, guest):
    host_socket, guest_socket, bob_socket = await _two_in_the_room(sockets, meeting, host, guest)

    await call(door, "mute", host, host_socket, guest)

    await guest_socket.expect("muted_by_host", timeout=1)
    for socket in (host_socket, bob_socket, guest_socket):
        updated = await socket.expect("participant_updated", timeout=1)
        assert (updated["participant"]["id"], updated["participant"]["audio_muted"]) == (
            guest.id,
            True,
        )
    await guest_socket.alive()


@pytest.mark.parametrize("door", doors_of("mute_all"))
async def test_mute_all(door, sockets, meeting, host, guest):
    host_socket, guest_socket, bob_socket = await _two_in_the_room(sockets, meeting, host, guest)
    bob_id = (await sync_to_async(ParticipantSession.objects.get)(display_name="Bob")).public_id

    await call(door, "mute_all", host, host_socket, None)

    for socket in (host_socket, guest_socket, bob_socket):
        muted = await socket.expect("muted_all", timeout=1)
        assert set(muted["ids"]) == {guest.id, str(bob_id)}
    assert not (await sync_to_async(host.refresh)()).audio_muted
    assert (await sync_to_async(guest.refresh)()).audio_muted


@pytest.mark.parametrize("door", doors_of("lock"))
async def test_lock_and_unlock(door, sockets, meeting, host, guest):
    host_socket, guest_socket, _ = await _two_in_the_room(sockets, meeting, host, guest)

    await call(door, "lock", host, host_socket, None)
    for socket in (host_socket, guest_socket):
        assert (await socket.expect("room_locked", timeout=1))["locked"] is True
    await call(door, "unlock", host, host_socket, None)
    for socket in (host_socket, guest_socket):
        assert (await socket.expect("room_locked", timeout=1))["locked"] is False
    actions = await sync_to_async(list)(RoomAction.objects.values_list("action", "door"))
    assert actions == [("lock", door), ("unlock", door)]


@pytest.mark.parametrize("door", doors_of("end"))
async def test_end(door, sockets, meeting, host, guest):
    meeting.recording_allowed = True
    await sync_to_async(meeting.save)()
    host_socket, guest_socket, bob_socket = await _two_in_the_room(sockets, meeting, host, guest)
    recording = await _start_recording(host_socket, guest_socket, bob_socket)

    await call(door, "end", host, host_socket, None)

    for socket in (host_socket, guest_socket, bob_socket):
        await socket.expect("recording_stopped", timeout=1, recording={"id": recording})
        await socket.expect("meeting_ended", timeout=1)
        assert await socket.closed(timeout=1) == CLOSE_ENDED
    occurrence = await sync_to_async(Occurrence.objects.get)(pk=host.session.occurrence_id)
    assert occurrence.status == Occurrence.Status.ENDED
    for joined in (host, guest):
        session = await sync_to_async(joined.refresh)()
        assert (session.state, session.leave_reason) == (State.LEFT, Reason.ENDED)
    assert await _recording_state(recording) != Recording.State.RECORDING
    assert guest.room not in get_gateway().rooms()


@pytest.mark.parametrize("door", doors_of("admit"))
async def test_admit_and_deny(door, sockets, meeting, host):
    host_socket, _ = await sockets.enter(host)
    wes = await ajoin(meeting, name="Wes", email="wes@example.com", admit=False)
    ann = await ajoin(meeting, name="Ann", email="ann@example.com", admit=False)
    await host_socket.expect("lobby")
    await host_socket.expect("lobby")

    await call(door, "admit", host, host_socket, wes)
    queue = await host_socket.expect("lobby", timeout=1)
    assert [w["id"] for w in queue["waiting"]] == [ann.id]
    await call(door, "deny", host, host_socket, ann)
    assert (await host_socket.expect("lobby", timeout=1))["waiting"] == []

    assert (await sync_to_async(wes.refresh)()).state == State.ADMITTED
    assert (await sync_to_async(ann.refresh)()).state == State.DENIED


@pytest.mark.parametrize("door", doors_of("admit_all"))
async def test_admit_all(door, sockets, meeting, host):
    host_socket, _ = await sockets.enter(host)
    waiting = [
        await ajoin(meeting, name=f"W{i}", email=f"w{i}@example.com", admit=False) for i in range(3)
    ]

    await call(door, "admit_all", host, host_socket, None)

    while (await host_socket.expect("lobby", timeout=1))["waiting"]:
        pass
    for joined in waiting:
        assert (await sync_to_async(joined.refresh)()).state == State.ADMITTED


@pytest.mark.parametrize("door", doors_of("leave"))
async def test_leave(door, sockets, meeting, host, guest):
    host_socket, guest_socket, bob_socket = await _two_in_the_room(sockets, meeting, host, guest)

    if door == ROOM:
        await guest_socket.send({"type": "leave"})
        assert await guest_socket.closed(timeout=1) == 1000
    else:
        url = reverse("meetings:leave", args=[meeting.join_token])
        await sync_to_async(guest.browser.post)(url)
        await guest_socket.error("session_closed", timeout=1)
        assert await guest_socket.closed(timeout=1) == CLOSE_NOT_ALLOWED

    for socket in (host_socket, bob_socket):
        left = await socket.expect("participant_left", timeout=1)
        assert (left["id"], left["reason"]) == (guest.id, "left")
    assert (await sync_to_async(guest.refresh)()).leave_reason == Reason.LEFT
    assert guest.id not in get_gateway().rooms()[guest.room].peers


async def _go_silent(joined: Joined) -> None:
    await sync_to_async(ParticipantSession.objects.filter(pk=joined.session.pk).update)(
        last_seen_at=timezone.now() - timedelta(minutes=5)
    )


@pytest.mark.parametrize("door", doors_of("stale_close"))
async def test_stale_close(door, sockets, meeting, host, guest, monkeypatch):
    monkeypatch.setattr(consumer, "WATCH_INTERVAL_SECONDS", 0.3)
    host_socket, guest_socket, bob_socket = await _two_in_the_room(sockets, meeting, host, guest)

    await _go_silent(guest)
    if door == TASK:
        assert await sync_to_async(tasks.close_stale_sessions.apply)() is not None

    await guest_socket.error("session_closed", timeout=1.5)
    assert await guest_socket.closed(timeout=1) == CLOSE_NOT_ALLOWED
    for socket in (host_socket, bob_socket):
        left = await socket.expect("participant_left", timeout=1.5)
        assert (left["id"], left["reason"]) == (guest.id, "disconnected")
    session = await sync_to_async(guest.refresh)()
    assert (session.state, session.leave_reason) == (State.LEFT, Reason.TIMEOUT)
    assert guest.id not in get_gateway().rooms()[guest.room].peers
    # announced once, whichever door closed it
    await asyncio.sleep(0.7)
    assert not [m for m in await host_socket.settle() if m["type"] == "participant_left"]


async def test_while_unmuting_is_locked_newcomers_come_in_muted_and_cannot_unmute(
    sockets, meeting, host, guest
):
    host_socket, guest_socket, _ = await _two_in_the_room(sockets, meeting, host, guest)
    await host_socket.send({"type": "host", "action": "mute_all", "lock_unmute": True})
    await guest_socket.expect("muted_all")

    late = await ajoin(meeting, name="Lena Late", email="lena@example.com")
    late_socket, snapshot = await sockets.enter(late)
    await late_socket.send({"type": "media_state", "audio_muted": False})

    assert snapshot["unmute_locked"] is True
    assert (await sync_to_async(late.refresh)()).audio_muted is True
    error = await late_socket.error("unmute_locked")
    assert error["in_reply_to"] == "media_state"
    await host_socket.send({"type": "media_state", "audio_muted": False})
    await host_socket.send({"type": "host", "action": "unlock_unmute"})
    assert (await late_socket.expect("unmute_locked"))["locked"] is False
    await late_socket.send({"type": "media_state", "audio_muted": False})
    while True:
        updated = (await host_socket.expect("participant_updated"))["participant"]
        if updated["id"] == late.id and not updated["audio_muted"]:
            break


async def test_a_socket_that_learns_late_of_the_end_closes_as_ended(sockets, meeting, host, guest):
    _, guest_socket, _ = await _two_in_the_room(sockets, meeting, host, guest)
    occurrence = await sync_to_async(Occurrence.objects.get)(pk=host.session.occurrence_id)
    # The end is written, but its event is lost on the way (Redis dropped it).
    await sync_to_async(lobby.end_occurrence)(occurrence=occurrence)

    await guest_socket.send({"type": "heartbeat"})

    await guest_socket.error("session_closed")
    assert await guest_socket.closed(timeout=1) == CLOSE_ENDED


@pytest.mark.parametrize("door", doors_of("time_limit_end"))
async def test_time_limit_end(door, sockets, meeting, host, guest, monkeypatch):
    meeting.recording_allowed = True
    await sync_to_async(meeting.save)()
    if door == ROOM:  # the connections' own timers look again at once
        monkeypatch.setattr(time_limit, "MAX_SLEEP_SECONDS", 0.2)
    host_socket, guest_socket, bob_socket = await _two_in_the_room(sockets, meeting, host, guest)
    recording = await _start_recording(host_socket, guest_socket, bob_socket)

    await sync_to_async(Occurrence.objects.filter(pk=host.session.occurrence_id).update)(
        started_at=timezone.now() - timedelta(hours=30)
    )
    if door == TASK:
        assert await sync_to_async(tasks.enforce_time_limits.apply)() is not None

    for socket in (host_socket, guest_socket, bob_socket):
        await socket.expect("recording_stopped", timeout=1.5, recording={"id": recording})
        ended = await socket.expect("meeting_ended", timeout=1)
        assert ended["reason"] == "time_limit"
        assert await socket.closed(timeout=1) == CLOSE_ENDED
    ended_by = await sync_to_async(list)(
        RoomAction.objects.filter(action="time_limit_end").values_list("door", flat=True)
    )
    assert ended_by == [door]
    assert await _recording_state(recording) != Recording.State.RECORDING


@pytest.mark.parametrize("door", doors_of("recording_stop"))
async def test_recording_stop(door, sockets, meeting, host, guest):
    meeting.recording_allowed = True
    await sync_to_async(meeting.save)()
    host_socket, guest_socket, bob_socket = await _two_in_the_room(sockets, meeting, host, guest)
    recording = await _start_recording(host_socket, guest_socket, bob_socket)
    assert get_gateway().rooms()[host.room].recording == recording

    if door == ROOM:
        await host_socket.send({"type": "recording", "action": "stop"})
    else:  # everyone's departure was lost (a process died): the sweep finds it empty
        await sync_to_async(
            ParticipantSession.objects.filter(occurrence_id=host.session.occurrence_id).update
        )(state=State.LEFT)
        assert await sync_to_async(lambda: stop_abandoned_recordings.apply().get())() == 1

    for socket in (host_socket, guest_socket, bob_socket):
        await socket.expect("recording_stopped", timeout=1, recording={"id": recording})
    assert get_gateway().rooms()[host.room].recording is None
    assert await _recording_state(recording) != Recording.State.RECORDING
    audit = await sync_to_async(RoomAction.objects.get)(action="recording_stop")
    assert audit.door == door
