"""The host's controls in the room: the lobby, mute, remove, lock and end; refused for anyone
else."""

import pytest
from asgiref.sync import sync_to_async
from django.urls import reverse

from meetings import lobby
from meetings.errors import MeetingLocked
from meetings.models import Occurrence, ParticipantSession
from meetings.room.media_gateway import get_gateway
from meetings.room.protocol import CLOSE_ENDED, CLOSE_NOT_ALLOWED, CLOSE_REMOVED
from tests.meetings.factories import MeetingFactory

from . import ajoin, aticket

pytestmark = pytest.mark.django_db(transaction=True)
State = ParticipantSession.State
Reason = ParticipantSession.LeaveReason


async def state_of(joined) -> ParticipantSession:
    return await sync_to_async(joined.refresh)()


async def occurrence_of(joined) -> Occurrence:
    return await sync_to_async(Occurrence.objects.get)(pk=joined.session.occurrence_id)


def host_action(action: str, target: str | None = None) -> dict:
    message = {"type": "host", "action": action}
    if target is not None:
        message["target"] = target
    return message


# --- Refused for attendees ----------------------------------------------------------------


async def test_an_attendee_can_not_use_the_hosts_controls(sockets, meeting, host, guest):
    waiting = await ajoin(meeting, name="Wes Waiting", email="wes@example.com", admit=False)
    host_socket, _ = await sockets.enter(host)
    guest_socket, _ = await sockets.enter(guest)
    attempts = [
        host_action("admit", waiting.id),
        host_action("deny", waiting.id),
        host_action("admit_all"),
        host_action("mute", host.id),
        host_action("remove", host.id),
        host_action("lock"),
        host_action("unlock"),
        host_action("end"),
    ]

    for attempt in attempts:
        await guest_socket.send(attempt)
        error = await guest_socket.expect("error")
        assert (error["code"], error["in_reply_to"]) == ("not_host", "host"), attempt

    await guest_socket.alive()
    assert (await state_of(waiting)).state == State.WAITING
    host_session = await state_of(host)
    assert (host_session.state, host_session.audio_muted) == (State.ADMITTED, False)
    occurrence = await occurrence_of(host)
    assert (occurrence.locked, occurrence.status) == (False, Occurrence.Status.LIVE)
    assert [m["type"] for m in await host_socket.settle()] == ["participant_joined"] * 2


# --- The lobby ----------------------------------------------------------------------------


async def test_the_host_hears_of_the_lobby_and_admits_from_it(sockets, meeting, host):
    host_socket, snapshot = await sockets.enter(host)
    assert snapshot["lobby"] == []

    waiting = await ajoin(meeting, name="Wes Waiting", email="wes@example.com", admit=False)

    queue = await host_socket.expect("lobby")
    assert [(w["id"], w["name"], w["email"]) for w in queue["waiting"]] == [
        (waiting.id, "Wes Waiting", "wes@example.com")
    ]
    assert "seq" not in queue
    await host_socket.send(host_action("admit", waiting.id))
    assert (await host_socket.expect("lobby"))["waiting"] == []
    assert (await state_of(waiting)).state == State.ADMITTED
    # The lobby page's poll now hands out a ticket, and the room opens for them.
    _, theirs = await sockets.enter(waiting)
    assert theirs["you"] == waiting.id
    joined = await host_socket.expect("participant_joined")
    assert joined["participant"]["name"] == "Wes Waiting"


async def test_the_host_denies_entry(sockets, meeting, host):
    host_socket, _ = await sockets.enter(host)
    waiting = await ajoin(meeting, name="Wes Waiting", email="wes@example.com", admit=False)
    await host_socket.expect("lobby")

    await host_socket.send(host_action("deny", waiting.id))

    assert (await host_socket.expect("lobby"))["waiting"] == []
    assert (await state_of(waiting)).state == State.DENIED
    status = await sync_to_async(waiting.status)()
    assert status["state"] == "denied" and "ticket" not in status


async def test_the_host_admits_everyone_waiting(sockets, meeting, host):
    host_socket, _ = await sockets.enter(host)
    first = await ajoin(meeting, name="First", email="first@example.com", admit=False)
    second = await ajoin(meeting, name="Second", email="second@example.com", admit=False)
    await host_socket.expect("lobby")
    assert len((await host_socket.expect("lobby"))["waiting"]) == 2

    await host_socket.send(host_action("admit_all"))

    assert (await host_socket.expect("lobby"))["waiting"] == []
    assert [(await state_of(j)).state for j in (first, second)] == [State.ADMITTED] * 2


async def test_the_host_hears_when_someone_gives_up_waiting(sockets, meeting, host):
    host_socket, _ = await sockets.enter(host)
    waiting = await ajoin(meeting, name="Wes Waiting", email="wes@example.com", admit=False)
    await host_socket.expect("lobby")

    url = reverse("meetings:leave", args=[meeting.join_token])
    await sync_to_async(waiting.browser.post)(url)

    assert (await host_socket.expect("lobby"))["waiting"] == []
    assert (await state_of(waiting)).leave_reason == Reason.GAVE_UP


async def test_a_targeted_action_needs_someone_in_the_right_place(sockets, meeting, host, guest):
    host_socket, _ = await sockets.enter(host)
    other_meeting = await sync_to_async(MeetingFactory)(host=meeting.host)
    elsewhere = await ajoin(other_meeting, name="Elsewhere", email="else@example.com")

    for attempt in (
        host_action("admit", guest.id),  # already in
        host_action("mute", "not-a-participant"),
        host_action("remove", elsewhere.id),  # another meeting's participant
    ):
        await host_socket.send(attempt)
        error = await host_socket.expect("error")
        assert (error["code"], error["in_reply_to"]) == ("not_found", "host"), attempt
    await host_socket.send(host_action("remove", host.id))
    assert (await host_socket.expect("error"))["code"] == "invalid_action"

    await host_socket.alive()
    assert (await state_of(elsewhere)).state == State.ADMITTED


# --- Mute and remove ----------------------------------------------------------------------


async def test_the_host_mutes_a_participant(sockets, meeting, host, guest):
    bob = await ajoin(meeting, name="Bob", email="bob@example.com")
    host_socket, _ = await sockets.enter(host)
    guest_socket, _ = await sockets.enter(guest)
    bob_socket, _ = await sockets.enter(bob)

    await host_socket.send(host_action("mute", guest.id))

    await guest_socket.expect("muted_by_host")
    for socket in (host_socket, guest_socket, bob_socket):
        updated = await socket.expect("participant_updated")
        assert (updated["participant"]["id"], updated["participant"]["audio_muted"]) == (
            guest.id,
            True,
        )
    assert "muted_by_host" not in [m["type"] for m in bob_socket.received]
    assert (await state_of(guest)).audio_muted is True


async def test_the_host_removes_a_participant(sockets, meeting, host, guest):
    bob = await ajoin(meeting, name="Bob", email="bob@example.com")
    ticket = await aticket(guest)
    host_socket, _ = await sockets.enter(host)
    guest_socket, _ = await sockets.enter(guest, ticket=ticket)
    bob_socket, _ = await sockets.enter(bob)
    assert guest.id in get_gateway().rooms()[guest.room].peers

    await host_socket.send(host_action("remove", guest.id))

    await guest_socket.expect("removed")
    assert await guest_socket.closed() == CLOSE_REMOVED
    for socket in (host_socket, bob_socket):
        left = await socket.expect("participant_left")
        assert (left["id"], left["reason"]) == (guest.id, "removed")
    session = await state_of(guest)
    assert (session.state, session.leave_reason) == (State.LEFT, Reason.REMOVED)
    assert guest.id not in get_gateway().rooms()[guest.room].peers
    # and the ticket no longer opens the room
    again = await sockets.open(guest, ticket=ticket)
    error = await again.error("session_closed")
    assert "removed" in error["message"]
    assert await again.closed() == CLOSE_NOT_ALLOWED


# --- Lock and end -------------------------------------------------------------------------


async def test_locking_the_room_keeps_newcomers_out_until_unlocked(sockets, meeting, host, guest):
    host_socket, _ = await sockets.enter(host)
    guest_socket, _ = await sockets.enter(guest)

    await host_socket.send(host_action("lock"))

    for socket in (host_socket, guest_socket):
        assert (await socket.expect("room_locked"))["locked"] is True
    occurrence = await occurrence_of(host)
    assert occurrence.locked is True
    with pytest.raises(MeetingLocked):
        await sync_to_async(lobby.request_entry)(
            occurrence=occurrence, display_name="Late", email="late@example.com"
        )
    assert (await host_socket.alive())["locked"] is True

    await host_socket.send(host_action("unlock"))

    assert (await guest_socket.expect("room_locked"))["locked"] is False
    late = await ajoin(meeting, name="Late", email="late@example.com")
    assert (await state_of(late)).state == State.ADMITTED


async def test_ending_the_meeting_closes_everyone_and_the_occurrence(sockets, meeting, host, guest):
    waiting = await ajoin(meeting, name="Wes Waiting", email="wes@example.com", admit=False)
    host_socket, _ = await sockets.enter(host)
    guest_socket, _ = await sockets.enter(guest)
    assert guest.room in get_gateway().rooms()

    await host_socket.send(host_action("end"))

    for socket in (host_socket, guest_socket):
        ended = await socket.expect("meeting_ended")
        assert isinstance(ended["seq"], int)
        assert await socket.closed() == CLOSE_ENDED
    occurrence = await occurrence_of(host)
    assert (occurrence.status, occurrence.ended_at is not None) == (Occurrence.Status.ENDED, True)
    for joined, reason in ((host, Reason.ENDED), (guest, Reason.ENDED), (waiting, Reason.GAVE_UP)):
        session = await state_of(joined)
        assert (session.state, session.leave_reason) == (State.LEFT, reason)
    assert guest.room not in get_gateway().rooms()


async def test_ending_from_the_meeting_page_closes_the_room_too(sockets, meeting, host, guest):
    from django.test import AsyncClient

    guest_socket, _ = await sockets.enter(guest)
    browser = AsyncClient()
    await sync_to_async(browser.force_login)(meeting.host)
    occurrence = await occurrence_of(guest)

    response = await browser.post(
        reverse("meetings:occurrence_end", args=[meeting.public_id, occurrence.public_id])
    )

    assert response.status_code == 302
    await guest_socket.expect("meeting_ended")
    assert await guest_socket.closed() == CLOSE_ENDED
