"""The join link: its form, the neutral page, passcode and flood limits, the participant cap."""

import math
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode, urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from billing.models import Plan
from meetings import links, lobby, services
from meetings.models import ParticipantSession
from tests.factories import UserFactory
from tests.meetings.factories import MeetingFactory, schedule_in

State = ParticipantSession.State
# The middle of a ten-minute window of the rate-limit counters (see meetings.ratelimit).
MID_WINDOW = datetime(2031, 3, 3, 12, 5, tzinfo=UTC)


def join_url(meeting, **query: str) -> str:
    url = reverse("meetings:join", args=[meeting.join_token])
    return f"{url}?{urlencode(query)}" if query else url


def ask_to_join(
    client, meeting, *, passcode=None, name="Ada Guest", email="ada@example.com", url=None, **extra
):
    data = {"display_name": name, "email": email}
    if passcode is not None:
        data["passcode"] = passcode
    return client.post(url or join_url(meeting), data, **extra)


def input_names(html: str) -> set[str]:
    return set(re.findall(r'<(?:input|textarea|select)[^>]*\bname="([^"]+)"', html))


@pytest.fixture
def host(db):
    return UserFactory(full_name="Hana Host", time_zone="Europe/Berlin")


@pytest.fixture
def meeting(host):
    return MeetingFactory(host=host, title="Design review", invitees=["bob@example.com"])


@pytest.fixture
def host_client(host):
    client = Client()
    client.force_login(host)
    return client


# --- The form -----------------------------------------------------------------------


def test_a_guest_is_asked_for_name_email_and_passcode_and_told_what_is_recorded(client, meeting):
    response = client.get(join_url(meeting))

    html = response.content.decode()
    assert response.status_code == 200
    assert input_names(html) == {"csrfmiddlewaretoken", "display_name", "email", "passcode"}
    assert "Design review" in html
    assert "we record your email address, when you join and leave, and how long you stay" in html
    assert "privacy policy" in html


def test_a_signed_in_user_is_asked_only_for_the_passcode(meeting):
    client = Client()
    client.force_login(UserFactory(full_name="Sam Signed"))

    html = client.get(join_url(meeting)).content.decode()

    assert input_names(html) == {"csrfmiddlewaretoken", "passcode"}
    assert "Joining as <strong>Sam Signed</strong>" in html


def test_a_signed_in_user_joins_under_their_own_name_and_email(meeting):
    person = UserFactory(full_name="Sam Signed")
    client = Client()
    client.force_login(person)

    response = ask_to_join(client, meeting, passcode=meeting.passcode, name="x", email="x@x.com")

    assert response.status_code == 302
    session = ParticipantSession.objects.get()
    assert (session.user, session.display_name, session.email) == (
        person,
        "Sam Signed",
        person.email,
    )


def test_a_meeting_without_a_passcode_does_not_ask_for_one(client, host):
    meeting = MeetingFactory(host=host, passcode_required=False)

    html = client.get(join_url(meeting)).content.decode()

    assert "passcode" not in input_names(html)


def test_the_host_is_not_asked_anything_and_goes_straight_in(meeting, host_client):
    html = host_client.get(join_url(meeting)).content.decode()
    assert input_names(html) == {"csrfmiddlewaretoken"}

    response = host_client.post(join_url(meeting))

    assert response.status_code == 302
    assert response["Location"] == reverse("meetings:lobby", args=[meeting.join_token])
    session = ParticipantSession.objects.get()
    assert (session.is_host, session.state) == (True, State.ADMITTED)
    status = host_client.get(reverse("meetings:lobby_status", args=[meeting.join_token])).json()
    assert status["state"] == "admitted"
    assert status["people"] == ["Hana Host"]
    assert status["message"] == "You're in as the host. Let guests in from the meeting's page."


def test_a_personal_link_locks_the_email_and_is_recorded_on_the_session(client, meeting):
    invitation = meeting.invitations.get()
    personal = urlsplit(links.personal_join_url(invitation))
    url = f"{personal.path}?{personal.query}"
    assert personal.path == join_url(meeting)

    html = client.get(url).content.decode()
    assert re.search(r'<input[^>]*name="email"[^>]*value="bob@example.com"[^>]*disabled', html)

    response = ask_to_join(
        client,
        meeting,
        passcode=meeting.passcode,
        name="Bob",
        email="mallory@example.com",
        url=url,
    )

    assert response.status_code == 302
    session = ParticipantSession.objects.get()
    assert (session.email, session.invitation) == ("bob@example.com", invitation)


def test_a_forged_personal_link_is_ignored(client, meeting):
    url = join_url(meeting, i="1:forged-signature")

    html = client.get(url).content.decode()
    assert "disabled" not in html

    ask_to_join(client, meeting, passcode=meeting.passcode, url=url)
    session = ParticipantSession.objects.get()
    assert (session.email, session.invitation) == ("ada@example.com", None)


# --- Links that lead nowhere ----------------------------------------------------------


def test_unknown_ended_cancelled_and_never_held_links_look_exactly_the_same(
    client, host, time_machine
):
    time_machine.move_to(datetime.now(UTC) - timedelta(days=3), tick=False)
    never_held = MeetingFactory(host=host, schedule=schedule_in(1, time_zone="UTC"))
    time_machine.move_to(datetime.now(UTC) + timedelta(days=3), tick=False)
    ended = MeetingFactory(host=host)
    lobby.end_occurrence(occurrence=ended.occurrences.get())
    cancelled = services.cancel_meeting(meeting=MeetingFactory(host=host))
    tokens = ["no-such-token-at-all", ended.join_token, cancelled.join_token, never_held.join_token]

    pages = [client.get(reverse("meetings:join", args=[token])) for token in tokens]
    posts = [
        client.post(reverse("meetings:join", args=[t]), {"display_name": "A", "email": "a@b.co"})
        for t in tokens
    ]

    assert {response.status_code for response in pages + posts} == {404}
    assert len({response.content for response in pages + posts}) == 1
    assert "can't be used" in pages[0].content.decode()
    assert not ParticipantSession.objects.exists()


def test_join_tokens_carry_at_least_128_random_bits(host):
    meetings = [MeetingFactory(host=host) for _ in range(5)]

    for meeting in meetings:
        # token_urlsafe: 6 bits per character.
        assert len(meeting.join_token) * 6 >= 128
        assert re.fullmatch(r"[A-Za-z0-9_-]+", meeting.join_token)
    assert services.JOIN_TOKEN_BYTES * 8 >= 128
    assert len(meetings[0].join_token) == math.ceil(services.JOIN_TOKEN_BYTES * 4 / 3)
    assert len({meeting.join_token for meeting in meetings}) == 5


# --- Passcode and flood limits --------------------------------------------------------


def test_a_wrong_passcode_is_an_inline_error(client, meeting):
    response = ask_to_join(client, meeting, passcode="00000000-wrong")

    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="id_passcode_errors"' in html
    assert "That passcode is not right" in html
    assert 'value="Ada Guest"' in html  # what they typed is kept
    assert not ParticipantSession.objects.exists()


def test_after_five_wrong_passcodes_even_the_right_one_must_wait(client, meeting, time_machine):
    time_machine.move_to(MID_WINDOW, tick=False)
    meeting = MeetingFactory(host=meeting.host, schedule=schedule_in(7))

    for _ in range(5):
        assert ask_to_join(client, meeting, passcode="wrong").status_code == 400
    response = ask_to_join(client, meeting, passcode=meeting.passcode)

    assert response.status_code == 429
    assert "try again later" in response.content.decode()
    assert int(response["Retry-After"]) > 0
    assert not ParticipantSession.objects.exists()


def test_ten_minutes_later_the_right_passcode_works_again(client, meeting, time_machine):
    time_machine.move_to(MID_WINDOW, tick=False)
    meeting = MeetingFactory(host=meeting.host, schedule=schedule_in(7))
    for _ in range(5):
        ask_to_join(client, meeting, passcode="wrong")
    assert ask_to_join(client, meeting, passcode=meeting.passcode).status_code == 429

    time_machine.shift(timedelta(minutes=10))
    response = ask_to_join(client, meeting, passcode=meeting.passcode)

    assert response.status_code == 302
    assert ParticipantSession.objects.count() == 1


def test_a_different_client_address_is_not_blocked(client, meeting, time_machine):
    time_machine.move_to(MID_WINDOW, tick=False)
    meeting = MeetingFactory(host=meeting.host, schedule=schedule_in(7))
    for _ in range(6):
        ask_to_join(client, meeting, passcode="wrong", REMOTE_ADDR="203.0.113.7")

    response = ask_to_join(Client(), meeting, passcode=meeting.passcode, REMOTE_ADDR="198.51.100.2")

    assert response.status_code == 302


def test_a_flood_of_join_attempts_is_slowed(client, meeting, time_machine):
    time_machine.move_to(MID_WINDOW, tick=False)
    meeting = MeetingFactory(host=meeting.host, schedule=schedule_in(7))

    statuses = [client.post(join_url(meeting), {}).status_code for _ in range(20)]
    response = client.post(join_url(meeting), {})

    assert set(statuses) == {400}  # counted, then judged: an empty form
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "Too many attempts" in response.content.decode()


def test_a_passcode_once_passed_is_not_asked_again_in_the_same_browser(client, meeting):
    ask_to_join(client, meeting, passcode=meeting.passcode)
    client.post(reverse("meetings:leave", args=[meeting.join_token]))

    html = client.get(join_url(meeting)).content.decode()
    response = ask_to_join(client, meeting)

    assert "passcode" not in input_names(html)
    assert response.status_code == 302
    assert ParticipantSession.objects.count() == 2


def test_a_new_passcode_must_be_entered_again(client, meeting):
    ask_to_join(client, meeting, passcode=meeting.passcode)
    client.post(reverse("meetings:leave", args=[meeting.join_token]))
    services.update_meeting(meeting=meeting, passcode_required=False)
    services.update_meeting(meeting=meeting, passcode_required=True)

    html = client.get(join_url(meeting)).content.decode()

    assert "passcode" in input_names(html)


# --- Capacity -------------------------------------------------------------------------


def test_a_full_meeting_refuses_the_next_joiner_with_a_clear_message(
    host, host_client, monkeypatch
):
    meeting = MeetingFactory(host=host, lobby_enabled=False, passcode_required=False)
    Plan.objects.filter(slug="free").update(max_participants=2)
    host_client.post(join_url(meeting))
    assert (
        ask_to_join(Client(), meeting, name="First", email="first@example.com").status_code == 302
    )

    response = ask_to_join(Client(), meeting, name="Second", email="second@example.com")

    assert response.status_code == 409
    assert "This meeting is full" in response.content.decode()
    assert ParticipantSession.objects.filter(state=State.ADMITTED).count() == 2
    assert not ParticipantSession.objects.filter(email="second@example.com").exists()


# --- The lobby --------------------------------------------------------------------------


def status_of(client, meeting):
    return client.get(reverse("meetings:lobby_status", args=[meeting.join_token]))


def test_a_guest_waits_until_the_host_admits_them_from_the_detail_page(
    client, meeting, host_client
):
    response = ask_to_join(client, meeting, passcode=meeting.passcode)
    assert response["Location"] == reverse("meetings:lobby", args=[meeting.join_token])
    page = client.get(response["Location"]).content.decode()
    assert "Waiting for the host" in page
    waiting = status_of(client, meeting).json()
    assert waiting["state"] == "waiting"
    assert "ticket" not in waiting
    session = ParticipantSession.objects.get()

    detail = host_client.get(reverse("meetings:detail", args=[meeting.public_id])).content.decode()
    assert "Ada Guest" in detail
    admit = reverse("meetings:lobby_admit", args=[meeting.public_id, session.public_id])
    assert admit in detail
    host_client.post(admit)

    admitted = status_of(client, meeting).json()
    assert admitted["state"] == "admitted"
    assert admitted["message"] == "You're in. Keep this page open while you take part."
    assert admitted["title"] == "Design review"
    assert admitted["people"] == ["Ada Guest"]
    from meetings.tickets import read_ticket

    assert read_ticket(admitted["ticket"]) == str(session.public_id)


def test_a_denied_guest_is_told_so(client, meeting, host_client):
    ask_to_join(client, meeting, passcode=meeting.passcode)
    session = ParticipantSession.objects.get()

    host_client.post(reverse("meetings:lobby_deny", args=[meeting.public_id, session.public_id]))

    status = status_of(client, meeting).json()
    assert status["state"] == "denied"
    assert "didn't let you in" in status["message"]
    assert "ticket" not in status


def test_leaving_closes_the_session_and_a_rejoin_is_a_second_session(client, host, host_client):
    meeting = MeetingFactory(host=host, lobby_enabled=False, passcode_required=False)
    ask_to_join(client, meeting)

    response = client.post(reverse("meetings:leave", args=[meeting.join_token]))

    assert response.status_code == 302
    first = ParticipantSession.objects.get()
    assert (first.state, first.leave_reason) == (State.LEFT, ParticipantSession.LeaveReason.LEFT)
    status = status_of(client, meeting).json()
    assert (status["state"], status["can_rejoin"]) == ("left", True)
    assert 'value="Ada Guest"' in client.get(join_url(meeting)).content.decode()

    ask_to_join(client, meeting)

    sessions = ParticipantSession.objects.order_by("requested_at", "pk")
    assert [s.state for s in sessions] == [State.LEFT, State.ADMITTED]
    assert status_of(client, meeting).json()["state"] == "admitted"


def test_someone_on_two_devices_is_listed_once(client, host):
    meeting = MeetingFactory(host=host, lobby_enabled=False, passcode_required=False)
    ask_to_join(client, meeting, name="Ada on laptop")
    ask_to_join(Client(), meeting, name="Ada on phone", email="ADA@example.com")
    ask_to_join(Client(), meeting, name="Bo", email="bo@example.com")

    status = status_of(client, meeting).json()

    assert status["people"] == ["Ada on laptop", "Bo"]


def test_an_open_session_takes_the_join_link_back_to_the_lobby(client, meeting):
    ask_to_join(client, meeting, passcode=meeting.passcode)

    response = client.get(join_url(meeting))

    assert response.status_code == 302
    assert response["Location"] == reverse("meetings:lobby", args=[meeting.join_token])


def test_the_status_poll_is_a_heartbeat(client, meeting, time_machine):
    time_machine.move_to(datetime.now(UTC), tick=False)
    ask_to_join(client, meeting, passcode=meeting.passcode)
    time_machine.shift(timedelta(seconds=30))

    status_of(client, meeting)
    time_machine.shift(timedelta(seconds=30))
    closed = lobby.close_stale_sessions()

    assert closed == []
    assert ParticipantSession.objects.get().state == State.WAITING


def test_the_host_ending_the_meeting_tells_everyone(client, host, host_client):
    meeting = MeetingFactory(host=host, lobby_enabled=False, passcode_required=False)
    ask_to_join(client, meeting)
    occurrence = meeting.occurrences.get()

    host_client.post(
        reverse("meetings:occurrence_end", args=[meeting.public_id, occurrence.public_id])
    )

    status = status_of(client, meeting).json()
    assert status["state"] == "left"
    assert status["message"] == "The host ended the meeting for everyone."
    assert status["can_rejoin"] is False


def test_without_a_session_the_lobby_sends_you_to_the_form(client, meeting):
    assert status_of(client, meeting).status_code == 404
    response = client.get(reverse("meetings:lobby", args=[meeting.join_token]))
    assert response["Location"] == join_url(meeting)


def test_the_join_notice_links_the_privacy_policy(client, db):
    meeting = MeetingFactory()

    html = client.get(reverse("meetings:join", args=[meeting.join_token])).content.decode()

    assert reverse("privacy:policy") in html
