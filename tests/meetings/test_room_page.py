"""The meeting room page: only for the caller's admitted participant, everything the
browser client needs as data attributes, no inline script."""

import json
import re
from html.parser import HTMLParser

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import UiPreferences
from meetings import lobby, tickets
from meetings.models import ParticipantSession
from tests.factories import UserFactory
from tests.meetings.factories import MeetingFactory

State = ParticipantSession.State


class RoomPage(HTMLParser):
    """The room element's data attributes, the scripts and any inline handlers or styles."""

    def __init__(self) -> None:
        super().__init__()
        self.room: dict[str, str] = {}
        self.scripts: list[dict[str, str | None]] = []
        self.inline_script = False
        self.inline_handlers: list[str] = []
        self.style_attributes: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if "data-room" in attributes:
            self.room = {k: v or "" for k, v in attributes.items() if k.startswith("data-")}
        if tag == "script":
            self.scripts.append(attributes)
            self._in_script = True
        self.inline_handlers += [name for name in attributes if name.startswith("on")]
        if "style" in attributes:
            self.style_attributes.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_script = True


def parse(response) -> RoomPage:
    page = RoomPage()
    page.feed(response.content.decode())
    return page


def room_url(meeting) -> str:
    return reverse("meetings:room", kwargs={"token": meeting.join_token})


def join_url(meeting) -> str:
    return reverse("meetings:join", kwargs={"token": meeting.join_token})


@pytest.fixture
def host(db):
    return UserFactory(full_name="Hana Host")


@pytest.fixture
def meeting(host):
    return MeetingFactory(host=host, title="Design review")


def ask_to_join(
    meeting, *, name="Ada Guest", email="ada@example.com"
) -> tuple[Client, ParticipantSession]:
    """A guest's browser that passed the join form; returns it with its participant."""
    client = Client()
    response = client.post(
        join_url(meeting),
        {"display_name": name, "email": email, "passcode": meeting.passcode},
    )
    assert response.status_code == 302
    participant = ParticipantSession.objects.get(occurrence__meeting=meeting, email=email)
    return client, participant


def test_an_admitted_guest_gets_the_room_with_a_fresh_ticket(meeting):
    client, participant = ask_to_join(meeting)
    lobby.admit(session=participant)

    response = client.get(room_url(meeting))

    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")
    room = parse(response).room
    assert room["data-participant-id"] == str(participant.public_id)
    assert room["data-display-name"] == "Ada Guest"
    assert room["data-meeting-title"] == "Design review"
    assert room["data-is-host"] == "false"
    assert tickets.read_ticket(room["data-ticket"]) == str(participant.public_id)
    assert room["data-ws-path"] == f"/ws/meetings/{meeting.join_token}/"
    assert room["data-status-url"] == reverse(
        "meetings:lobby_status", kwargs={"token": meeting.join_token}
    )
    assert room["data-join-url"] == join_url(meeting)
    assert json.loads(room["data-ice-servers"]) == []  # none configured here


def test_turn_credentials_in_the_page_are_the_participants_own(meeting, settings):
    settings.ICE_SERVER_URLS = ["stun:stun.example.net", "turn:turn.example.net"]
    settings.TURN_SHARED_SECRET = "s3cret"
    client, participant = ask_to_join(meeting)
    lobby.admit(session=participant)

    servers = json.loads(parse(client.get(room_url(meeting))).room["data-ice-servers"])

    assert servers[0] == {"urls": ["stun:stun.example.net"]}
    assert servers[1]["urls"] == ["turn:turn.example.net"]
    assert servers[1]["username"].endswith(f":{participant.public_id}")


def test_each_visit_issues_a_new_ticket(meeting):
    client, participant = ask_to_join(meeting)
    lobby.admit(session=participant)

    first = parse(client.get(room_url(meeting))).room["data-ticket"]
    second = parse(client.get(room_url(meeting))).room["data-ticket"]

    assert tickets.read_ticket(first) == tickets.read_ticket(second)


def test_the_page_has_no_inline_script_or_style(meeting):
    client, participant = ask_to_join(meeting)
    lobby.admit(session=participant)

    page = parse(client.get(room_url(meeting)))

    assert page.scripts, "the room loads its client"
    assert all(script.get("src") and script.get("type") == "module" for script in page.scripts)
    assert not page.inline_script
    assert page.inline_handlers == []
    assert page.style_attributes == []


def test_guests_get_the_default_room_settings(meeting):
    client, participant = ask_to_join(meeting)
    lobby.admit(session=participant)

    room = parse(client.get(room_url(meeting))).room

    assert (room["data-camera-off"], room["data-mic-off"], room["data-layout"]) == (
        "false",
        "false",
        "gallery",
    )


def test_a_signed_in_host_gets_their_saved_room_settings(meeting, host):
    UiPreferences.objects.create(
        user=host, join_with_camera_off=True, join_with_mic_off=True, layout="speaker"
    )
    client = Client()
    client.force_login(host)
    client.post(join_url(meeting), {})

    response = client.get(room_url(meeting))

    assert response.status_code == 200
    room = parse(response).room
    assert (room["data-camera-off"], room["data-mic-off"], room["data-layout"]) == (
        "true",
        "true",
        "speaker",
    )
    assert room["data-is-host"] == "true"
    assert room["data-display-name"] == "Hana Host"


def test_a_signed_in_user_who_never_saved_settings_gets_the_defaults(meeting):
    invitee = UserFactory(full_name="Ivy Invitee")
    client = Client()
    client.force_login(invitee)
    client.post(join_url(meeting), {"passcode": meeting.passcode})
    lobby.admit(session=ParticipantSession.objects.get(user=invitee))

    room = parse(client.get(room_url(meeting))).room

    assert (room["data-camera-off"], room["data-mic-off"], room["data-layout"]) == (
        "false",
        "false",
        "gallery",
    )


def test_without_a_participant_session_the_room_sends_you_to_the_join_page(meeting):
    response = Client().get(room_url(meeting))

    assert response.status_code == 302
    assert response["Location"] == join_url(meeting)


@pytest.mark.parametrize(
    "move",
    [
        pytest.param(lambda session: None, id="waiting"),
        pytest.param(lambda session: lobby.deny(session=session), id="denied"),
        pytest.param(lambda session: lobby.leave(session=session), id="left-the-lobby"),
        pytest.param(
            lambda session: lobby.remove(session=lobby.admit(session=session)), id="removed"
        ),
        pytest.param(lambda session: lobby.leave(session=lobby.admit(session=session)), id="left"),
    ],
)
def test_only_an_admitted_participant_gets_in(meeting, move):
    client, participant = ask_to_join(meeting)
    move(participant)

    response = client.get(room_url(meeting))

    assert response.status_code == 302
    assert response["Location"] == join_url(meeting)


def test_a_session_in_another_meeting_does_not_open_this_room(meeting, host):
    other = MeetingFactory(host=host, title="Other meeting")
    client, participant = ask_to_join(other)
    lobby.admit(session=participant)

    response = client.get(room_url(meeting))

    assert response.status_code == 302
    assert response["Location"] == join_url(meeting)


def test_a_participant_id_planted_under_another_meetings_key_is_refused(meeting, host):
    other = MeetingFactory(host=host, title="Other meeting")
    client, participant = ask_to_join(other)
    lobby.admit(session=participant)
    session = client.session
    session[f"meetings.participant.{meeting.join_token}"] = str(participant.public_id)
    session.save()

    response = client.get(room_url(meeting))

    assert response.status_code == 302
    assert response["Location"] == join_url(meeting)


def test_the_lobby_sends_an_admitted_participant_on_to_the_room(meeting):
    client, participant = ask_to_join(meeting)
    lobby.admit(session=participant)

    html = client.get(reverse("meetings:lobby", kwargs={"token": meeting.join_token})).content
    page = html.decode()

    assert f'data-room-url="{room_url(meeting)}"' in page
    assert re.search(rf'<a class="button" href="{re.escape(room_url(meeting))}">', page)
