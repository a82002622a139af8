"""Who may open the meeting room's websocket: admitted participants holding their ticket."""

from datetime import timedelta

import pytest
import time_machine
from asgiref.sync import sync_to_async
from django.core import signing
from django.utils import timezone

from meetings import lobby
from meetings.models import ParticipantSession
from meetings.room.protocol import CLOSE_NOT_ALLOWED
from meetings.tickets import issue_ticket
from tests.factories import UserFactory
from tests.meetings.factories import MeetingFactory

from . import ajoin, aticket

pytestmark = pytest.mark.django_db(transaction=True)
State = ParticipantSession.State


@pytest.fixture
def host(transactional_db):
    return UserFactory(full_name="Hana Host")


@pytest.fixture
def meeting(host):
    return MeetingFactory(host=host, title="Design review", invitees=["bob@example.com"])


async def refused_with(socket, code: str) -> dict:
    error = await socket.next()
    assert (error["type"], error["code"]) == ("error", code), error
    assert error["message"]
    assert await socket.closed() == CLOSE_NOT_ALLOWED
    return error


# --- Let in -------------------------------------------------------------------------------


async def test_the_host_enters_with_their_signed_in_session(sockets, meeting, settings):
    settings.ICE_SERVER_URLS = ["stun:stun.example.org:3478", "turn:turn.example.org:3478"]
    settings.TURN_SHARED_SECRET = "coturn-secret"
    host = await ajoin(meeting, user=meeting.host)

    socket, snapshot = await sockets.enter(host)

    assert snapshot["you"] == host.id
    assert snapshot["is_host"] is True
    assert snapshot["meeting"]["title"] == "Design review"
    assert snapshot["locked"] is False and snapshot["recording"] is None
    assert [(p["id"], p["name"], p["is_host"]) for p in snapshot["participants"]] == [
        (host.id, "Hana Host", True)
    ]
    assert snapshot["lobby"] == []
    stun, turn = snapshot["ice_servers"]
    assert stun == {"urls": ["stun:stun.example.org:3478"]}
    assert turn["urls"] == ["turn:turn.example.org:3478"]
    assert turn["username"].endswith(f":{host.id}") and turn["credential"]
    assert (await socket.expect("participant_joined"))["participant"]["id"] == host.id


async def test_an_invitee_enters_through_their_personal_link(sockets, meeting):
    invitation = await sync_to_async(meeting.invitations.get)()
    bob = await ajoin(meeting, name="Bob", email="bob@example.com", invitation=invitation)

    _, snapshot = await sockets.enter(bob)

    assert bob.session.invitation_id == invitation.pk
    assert (snapshot["you"], snapshot["is_host"], snapshot["lobby"]) == (bob.id, False, [])
    assert [p["name"] for p in snapshot["participants"]] == ["Bob"]


async def test_a_guest_enters_with_the_ticket_from_the_join_form_and_the_room_hears_of_it(
    sockets, meeting
):
    host = await ajoin(meeting, user=meeting.host)
    host_socket, _ = await sockets.enter(host)
    await host_socket.expect("participant_joined")
    guest = await ajoin(meeting, name="Ada Guest")

    _, snapshot = await sockets.enter(guest, browser=None)  # no cookie: the ticket suffices

    assert snapshot["you"] == guest.id
    joined = await host_socket.expect("participant_joined")
    assert joined["participant"] == {
        "id": guest.id,
        "name": "Ada Guest",
        "is_host": False,
        "audio_muted": False,
        "video_off": False,
        "hand_raised": False,
        "screen_sharing": False,
    }


# --- Kept out -----------------------------------------------------------------------------


async def test_no_ticket_is_refused(sockets, meeting):
    socket = await sockets.open(token=meeting.join_token)

    error = await refused_with(socket, "no_ticket")

    assert "join ticket" in error["message"]


async def test_an_expired_ticket_is_refused_with_a_reason_the_client_can_act_on(sockets, meeting):
    guest = await ajoin(meeting)
    with time_machine.travel(timezone.now() - timedelta(minutes=11), tick=False):
        old_ticket = issue_ticket(session_public_id=guest.id)

    socket = await sockets.open(guest, ticket=old_ticket)

    error = await refused_with(socket, "ticket_expired")
    assert "expired" in error["message"]


@pytest.mark.parametrize(
    "forge",
    [
        lambda ticket: ticket[:-3] + ("AAA" if not ticket.endswith("AAA") else "BBB"),
        lambda ticket: signing.dumps({"s": "whatever"}, salt="another.salt"),
        lambda ticket: "not-a-ticket",
    ],
    ids=["tampered", "other-salt", "garbage"],
)
async def test_a_forged_ticket_is_refused(sockets, meeting, forge):
    guest = await ajoin(meeting)
    ticket = await aticket(guest)

    socket = await sockets.open(guest, ticket=forge(ticket))

    await refused_with(socket, "bad_ticket")


async def test_a_ticket_of_someone_still_waiting_in_the_lobby_is_refused(sockets, meeting):
    waiting = await ajoin(meeting, admit=False)
    assert waiting.session.state == State.WAITING

    socket = await sockets.open(waiting, ticket=issue_ticket(session_public_id=waiting.id))

    await refused_with(socket, "not_admitted")


async def test_a_denied_participant_is_refused(sockets, meeting):
    waiting = await ajoin(meeting, admit=False)
    await sync_to_async(lobby.deny)(session=waiting.session)

    socket = await sockets.open(waiting, ticket=issue_ticket(session_public_id=waiting.id))

    await refused_with(socket, "not_admitted")


async def test_a_ticket_used_against_another_meetings_link_is_refused(sockets, meeting, host):
    other = await sync_to_async(MeetingFactory)(host=host, title="Other")
    guest = await ajoin(meeting)

    socket = await sockets.open(guest, token=other.join_token)

    await refused_with(socket, "wrong_meeting")


async def test_the_hosts_ticket_needs_the_hosts_signed_in_session(sockets, meeting):
    host = await ajoin(meeting, user=meeting.host)
    ticket = await aticket(host)
    stranger = await sync_to_async(UserFactory)()
    await sync_to_async(host.browser.force_login)(stranger)

    anonymous = await sockets.open(host, ticket=ticket, browser=None)
    someone_else = await sockets.open(host, ticket=ticket)

    await refused_with(anonymous, "wrong_user")
    await refused_with(someone_else, "wrong_user")


async def test_a_participant_who_left_is_refused(sockets, meeting):
    guest = await ajoin(meeting)
    ticket = await aticket(guest)
    await sync_to_async(lobby.leave)(session=guest.session)

    socket = await sockets.open(guest, ticket=ticket)

    await refused_with(socket, "session_closed")


async def test_an_ended_meeting_is_refused(sockets, meeting):
    guest = await ajoin(meeting)
    ticket = await aticket(guest)
    await sync_to_async(lambda: lobby.end_occurrence(occurrence=guest.session.occurrence))()

    socket = await sockets.open(guest, ticket=ticket)

    await refused_with(socket, "meeting_over")


async def test_another_origin_is_turned_away_before_the_handshake(sockets, meeting):
    guest = await ajoin(meeting)

    socket = await sockets.open(guest, origin=b"https://evil.example")

    assert socket.accepted is False
