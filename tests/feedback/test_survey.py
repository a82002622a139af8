"""The call-quality survey: one answer per sitting, the 24-hour rule for accounts, what is
stored (and what is not), and the token that authorises an answer."""

import json
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import UiPreferences
from feedback.browsers import browser_of
from feedback.models import CallRating
from feedback.tokens import make_token
from meetings import lobby
from meetings.models import ParticipantSession
from tests.factories import UserFactory
from tests.meetings.factories import MeetingFactory
from tests.meetings.test_room_page import ask_to_join, parse, room_url

CHROME_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.6778.85 Safari/537.36"
)
SURVEY = "/feedback/survey/"
STATS = {"packet_loss_pct": 1.25, "rtt_ms": 42.4, "used_turn": False}


def post(client, body, ua=CHROME_UA):
    return client.post(
        SURVEY,
        json.dumps(body),
        content_type="application/json",
        HTTP_USER_AGENT=ua,
        REMOTE_ADDR="203.0.113.9",
    )


@pytest.fixture
def meeting(db):
    return MeetingFactory(host=UserFactory(full_name="Hana Host"), title="Design review")


@pytest.fixture
def guest(meeting):
    client, participant = ask_to_join(meeting)
    lobby.admit(session=participant)
    return client, participant


def answer(participant, **fields):
    return {"token": make_token(session_public_id=str(participant.public_id)), **fields}


def test_the_room_page_gives_a_survey_token_and_url(guest, meeting):
    client, participant = guest
    room = parse(client.get(room_url(meeting))).room

    assert room["data-survey-url"] == SURVEY == reverse("feedback:survey")
    body = {"token": room["data-survey-token"], "stars": 4}
    assert post(client, body).status_code == 201
    assert CallRating.objects.get().participant == participant


def test_an_answer_is_stored_with_the_technical_context_and_nothing_more(guest):
    client, participant = guest
    response = post(
        client,
        answer(
            participant,
            stars=2,
            reasons=["connection", "audio", "audio"],
            comment="  Echo on Bo's side  ",
            stats=STATS,
        ),
    )

    assert response.status_code == 201
    rating = CallRating.objects.get()
    assert (rating.stars, rating.reasons, rating.comment) == (
        2,
        ["audio", "connection"],
        "Echo on Bo's side",
    )
    assert (rating.browser_family, rating.browser_major) == ("Chrome", 131)
    assert (rating.used_turn, rating.packet_loss_pct, rating.rtt_ms) == (False, 1.25, 42)
    assert rating.media_worker == "local"
    assert rating.occurrence_id == participant.occurrence_id
    # No IP address and no user-agent string anywhere in the row.
    stored = json.dumps(
        {f.attname: str(getattr(rating, f.attname)) for f in CallRating._meta.concrete_fields}
    )
    assert "203.0.113.9" not in stored
    assert "6778" not in stored and "X11" not in stored and "AppleWebKit" not in stored


def test_one_answer_per_participant_per_sitting(guest):
    client, participant = guest
    assert post(client, answer(participant, stars=5)).status_code == 201

    second = post(client, answer(participant, stars=1))

    assert second.status_code == 409
    assert second.json()["error"] == "already_answered"
    assert list(CallRating.objects.values_list("stars", flat=True)) == [5]


def test_skip_stores_nothing(guest):
    client, participant = guest

    response = post(client, answer(participant, skip=True))

    assert response.status_code == 200 and response.json() == {"skipped": True}
    assert not CallRating.objects.exists()


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"stars": 0}, "bad_stars"),
        ({"stars": 6}, "bad_stars"),
        ({"stars": "5"}, "bad_stars"),
        ({"stars": True}, "bad_stars"),
        ({"stars": 3, "reasons": ["weather"]}, "bad_reasons"),
        ({"stars": 3, "reasons": "audio"}, "bad_reasons"),
        ({"stars": 3, "comment": "x" * 1001}, "bad_comment"),
        ({"stars": 3, "comment": 7}, "bad_comment"),
        ({"stars": 3, "stats": {"packet_loss_pct": 101}}, "bad_stats"),
        ({"stars": 3, "stats": {"packet_loss_pct": -1}}, "bad_stats"),
        ({"stars": 3, "stats": {"rtt_ms": 60_001}}, "bad_stats"),
        ({"stars": 3, "stats": {"rtt_ms": "fast"}}, "bad_stats"),
        ({"stars": 3, "stats": {"used_turn": "yes"}}, "bad_stats"),
        ({"stars": 3, "stats": []}, "bad_stats"),
    ],
)
def test_bad_input_is_a_400_with_a_json_reason(guest, fields, error):
    client, participant = guest

    response = post(client, answer(participant, **fields))

    assert response.status_code == 400
    assert response.json()["error"] == error and response.json()["message"]
    assert not CallRating.objects.exists()


def test_a_forged_missing_or_non_json_token_is_refused(guest):
    client, participant = guest
    for body in (
        {"token": str(participant.public_id), "stars": 5},  # the id itself is not a token
        {"token": make_token(session_public_id=str(participant.public_id)) + "x", "stars": 5},
        {"stars": 5},
        [1, 2],
    ):
        response = post(client, body)
        assert response.status_code == 400, body
        assert response.json()["error"] in {"bad_token", "bad_request"}
    raw = client.post(SURVEY, "not json", content_type="application/json")
    assert raw.status_code == 400 and raw.json()["error"] == "bad_json"
    assert not CallRating.objects.exists()


def test_a_token_for_one_participant_answers_only_for_them(meeting, guest):
    client, _ = guest
    _, other = ask_to_join(meeting, name="Bo", email="bo@example.com")
    lobby.admit(session=other)

    post(client, answer(other, stars=3))

    assert CallRating.objects.get().participant == other  # never the poster's own session


def test_browser_family_and_major_only():
    assert browser_of(CHROME_UA) == ("Chrome", 131)
    edge = CHROME_UA + " Edg/130.0.2849.80"
    assert browser_of(edge) == ("Edge", 130)
    firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
    assert browser_of(firefox) == ("Firefox", 133)
    safari = (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/18.1 Safari/605.1.15"
    )
    assert browser_of(safari) == ("Safari", 18)
    assert browser_of("") == ("Other", None)
    assert browser_of("curl/8.5.0") == ("Other", None)


# --- the 24-hour rule for accounts ------------------------------------------------------


def signed_in_participant(client, meeting, user):
    """The account's browser joins through the link, as in the room; the host admits it."""
    joined = client.post(
        reverse("meetings:join", kwargs={"token": meeting.join_token}),
        {"display_name": user.full_name, "email": user.email, "passcode": meeting.passcode},
    )
    assert joined.status_code == 302
    session = ParticipantSession.objects.get(occurrence__meeting=meeting, user=user)
    return session if session.state == "admitted" else lobby.admit(session=session)


def test_an_account_is_asked_at_most_once_per_24_hours(db):
    user = UserFactory(full_name="Ann Account")
    first = MeetingFactory(host=UserFactory())
    second = MeetingFactory(host=UserFactory())
    client = Client()
    client.force_login(user)
    in_first = signed_in_participant(client, first, user)
    in_second = signed_in_participant(client, second, user)

    with time_machine.travel(timezone.now(), tick=False):
        assert post(client, answer(in_first, stars=4)).status_code == 201
        asked = UiPreferences.objects.get(user=user).survey_asked_at
        assert asked == timezone.now()
        # The next room page within 24 hours has no survey, and a direct answer is refused.
        assert parse(client.get(room_url(second))).room["data-survey-token"] == ""
        refused = post(client, answer(in_second, stars=1))
        assert refused.status_code == 409 and refused.json()["error"] == "asked_recently"

    with time_machine.travel(timezone.now() + timedelta(hours=24, seconds=1), tick=False):
        assert parse(client.get(room_url(second))).room["data-survey-token"] != ""
        assert post(client, answer(in_second, stars=1)).status_code == 201
    assert CallRating.objects.count() == 2


def test_skipping_counts_as_asked_for_an_account(db):
    user = UserFactory()
    meeting = MeetingFactory(host=UserFactory())
    client = Client()
    client.force_login(user)
    participant = signed_in_participant(client, meeting, user)

    post(client, answer(participant, skip=True))

    assert UiPreferences.objects.get(user=user).survey_asked_at is not None
    assert parse(client.get(room_url(meeting))).room["data-survey-token"] == ""
    assert not CallRating.objects.exists()


def test_a_guest_has_no_24_hour_rule_but_one_answer_per_sitting(meeting, guest):
    client, participant = guest
    post(client, answer(participant, stars=5))
    assert parse(client.get(room_url(meeting))).room["data-survey-token"] != ""
    assert ParticipantSession.objects.get(pk=participant.pk).user is None
