"""Hosts scheduling, editing and cancelling through the API, and what bad input gets them."""

from datetime import UTC, date, datetime

import pytest
import time_machine
from django.core import mail
from django.utils import timezone
from rest_framework.test import APIClient

from meetings.models import Invitation, Meeting, Occurrence
from tests.factories import UserFactory
from tests.meetings.factories import MeetingFactory, schedule_in

# Before the series below; both of Paris's daylight-saving changes in 2030 fall inside it.
NOW = datetime(2030, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def host(db):
    return UserFactory(time_zone="Europe/Paris")


@pytest.fixture
def api(host) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=host)
    return client


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def valid(**fields) -> dict:
    return {
        "title": "Planning",
        "agenda": "Next quarter",
        "time_zone": "Europe/Paris",
        "start_date": "2030-03-25",
        "start_time": "09:00",
        "duration_minutes": 30,
    } | fields


def test_the_whole_life_of_a_meeting(api, host, frozen, django_capture_on_commit_callbacks):
    # Given a host who schedules a weekly meeting with one invitee
    with django_capture_on_commit_callbacks(execute=True):
        created = api.post(
            "/api/meetings/",
            valid(
                recurrence="weekly",
                weekdays=[0, 2],
                count=4,
                invitees=["Ann@Example.com", "ann@example.com"],
            ),
            format="json",
        )
    assert created.status_code == 201, created.content
    meeting = created.json()
    meeting_id = meeting["public_id"]
    assert created["Location"] == f"http://testserver/api/meetings/{meeting_id}/"
    assert meeting["starts_at"] == "2030-03-25T08:00:00Z"
    assert meeting["occurrence_count"] == 4
    assert meeting["invitee_count"] == 1
    assert meeting["passcode_required"] is True
    assert len(meeting["passcode"]) == 8
    assert meeting["join_url"].startswith("http://127.0.0.1:8000/j/")
    assert meeting["lobby_enabled"] is True and meeting["recording_allowed"] is False
    assert [m.to for m in mail.outbox] == [["ann@example.com"]]

    # ... it is listed and can be read back
    listed = api.get("/api/meetings/").json()
    assert listed["count"] == 1 and listed["results"][0] == meeting
    assert api.get(f"/api/meetings/{meeting_id}/").json() == meeting

    # ... edited: a new title, no passcode, and an hour later
    patched = api.patch(
        f"/api/meetings/{meeting_id}/",
        {"title": "Planning (moved)", "passcode_required": False, "start_time": "10:00"},
        format="json",
    )
    assert patched.status_code == 200, patched.content
    assert patched.json()["title"] == "Planning (moved)"
    assert patched.json()["passcode"] == "" and patched.json()["passcode_required"] is False
    assert patched.json()["starts_at"] == "2030-03-25T09:00:00Z"

    # ... its occurrences, in UTC and in Paris time
    occurrences = api.get(f"/api/meetings/{meeting_id}/occurrences/").json()
    assert occurrences["count"] == 4
    first, second = occurrences["results"][:2]
    assert first["starts_at"] == "2030-03-25T09:00:00Z"
    assert first["local_starts_at"] == "2030-03-25T10:00:00+01:00"
    assert first["ends_at"] == "2030-03-25T09:30:00Z"
    assert second["local_starts_at"] == "2030-03-27T10:00:00+01:00"
    assert first["status"] == "scheduled" and first["is_override"] is False

    # ... one occurrence is moved, another cancelled
    moved = api.patch(
        f"/api/meetings/{meeting_id}/occurrences/{first['public_id']}/",
        {"starts_at": "2030-03-25T14:00:00+01:00", "duration_minutes": 40},
        format="json",
    )
    assert moved.status_code == 200, moved.content
    assert moved.json()["starts_at"] == "2030-03-25T13:00:00Z"
    assert moved.json()["ends_at"] == "2030-03-25T13:40:00Z"
    assert moved.json()["is_override"] is True
    cancelled = api.post(f"/api/meetings/{meeting_id}/occurrences/{second['public_id']}/cancel/")
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert api.get(f"/api/meetings/{meeting_id}/").json()["occurrence_count"] == 3

    # ... invitations are added, resent and removed
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        added = api.post(
            f"/api/meetings/{meeting_id}/invitations/",
            {"emails": ["bob@example.com", "ann@example.com"]},
            format="json",
        )
    assert added.status_code == 201
    assert [i["email"] for i in added.json()] == ["bob@example.com"]
    assert [m.to for m in mail.outbox] == [["bob@example.com"]]
    invitations = api.get(f"/api/meetings/{meeting_id}/invitations/").json()
    assert [i["email"] for i in invitations["results"]] == ["ann@example.com", "bob@example.com"]
    ann = invitations["results"][0]
    assert ann["personal_join_url"].startswith(meeting["join_url"] + "?i=")

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        resent = api.post(f"/api/meetings/{meeting_id}/invitations/{ann['id']}/resend/")
    assert resent.status_code == 202
    assert resent.json()["email"] == "ann@example.com"
    assert [m.to for m in mail.outbox] == [["ann@example.com"]]

    with django_capture_on_commit_callbacks(execute=True):
        removed = api.delete(f"/api/meetings/{meeting_id}/invitations/{ann['id']}/")
    assert removed.status_code == 204
    assert api.get(f"/api/meetings/{meeting_id}/").json()["invitee_count"] == 1

    # ... and finally the meeting is cancelled
    deleted = api.delete(f"/api/meetings/{meeting_id}/")
    assert deleted.status_code == 204
    after = api.get(f"/api/meetings/{meeting_id}/").json()
    assert after["status"] == "cancelled"
    assert after["occurrence_count"] == 0
    again = api.delete(f"/api/meetings/{meeting_id}/")
    assert again.status_code == 422
    assert again.json() == {"status": ["This meeting is cancelled and can't be changed."]}


def test_a_weekly_meeting_keeps_its_local_time_across_both_daylight_saving_changes(api, frozen):
    created = api.post(
        "/api/meetings/",
        valid(recurrence="weekly", weekdays=[0], until="2030-11-04"),
        format="json",
    )
    assert created.status_code == 201, created.content

    rows = api.get(
        f"/api/meetings/{created.json()['public_id']}/occurrences/?page_size=200"
    ).json()["results"]
    by_day = {row["local_starts_at"][:10]: row for row in rows}

    # Summer time starts on 31 March and ends on 27 October 2030 in Paris.
    assert by_day["2030-03-25"]["starts_at"] == "2030-03-25T08:00:00Z"
    assert by_day["2030-04-01"]["starts_at"] == "2030-04-01T07:00:00Z"
    assert by_day["2030-10-21"]["starts_at"] == "2030-10-21T07:00:00Z"
    assert by_day["2030-10-28"]["starts_at"] == "2030-10-28T08:00:00Z"
    assert {row["local_starts_at"][11:] for row in rows} == {"09:00:00+01:00", "09:00:00+02:00"}


def test_a_local_start_without_offset_is_read_in_the_meetings_zone(api, frozen):
    fields = valid(time_zone="America/New_York", start="2030-03-25T09:00")
    del fields["start_date"], fields["start_time"]

    created = api.post("/api/meetings/", fields, format="json")

    assert created.status_code == 201, created.content
    assert created.json()["starts_at"] == "2030-03-25T13:00:00Z"
    assert created.json()["start_date"] == "2030-03-25"
    assert created.json()["start_time"] == "09:00:00"


def test_the_time_zone_defaults_to_the_hosts_own(api, frozen):
    fields = valid()
    del fields["time_zone"]

    created = api.post("/api/meetings/", fields, format="json")

    assert created.json()["time_zone"] == "Europe/Paris"
    assert created.json()["starts_at"] == "2030-03-25T08:00:00Z"


def test_settings_at_creation(api, frozen):
    created = api.post(
        "/api/meetings/",
        valid(passcode_required=False, lobby_enabled=False, recording_allowed=True),
        format="json",
    ).json()

    assert created["passcode"] == "" and created["passcode_required"] is False
    assert created["lobby_enabled"] is False
    assert created["recording_allowed"] is True


def test_the_list_is_paginated_and_filtered_by_status(api, host, frozen):
    meetings = [MeetingFactory(host=host, schedule=schedule_in(day + 1)) for day in range(3)]
    Meeting.objects.filter(pk=meetings[0].pk).update(status=Meeting.Status.CANCELLED)

    first_page = api.get("/api/meetings/?page_size=2").json()
    second_page = api.get(first_page["next"]).json()
    scheduled = api.get("/api/meetings/?status=scheduled").json()

    assert first_page["count"] == 3 and len(first_page["results"]) == 2
    assert len(second_page["results"]) == 1 and second_page["next"] is None
    assert scheduled["count"] == 2
    assert api.get("/api/meetings/?page=9").status_code == 404


# --- Bad input ---------------------------------------------------------------------

# Rules about meetings that a well-formed request can break are a 422; the rest, a body
# not as the schema describes it, a 400.
RULES = (
    "in the past",
    "Free plan allows",
    "up to 40 minutes",
    "up to 100 participants",
    "Choose at least one day",
    "Give an end date or a number of occurrences",
    "before the first meeting",
    "two years",
    "can't be changed",
)


def expected_status(message: str) -> int:
    return 422 if any(rule in message for rule in RULES) else 400


BAD_CREATES = [
    ({"time_zone": "Mars/Olympus_Mons"}, "time_zone", "is not a time zone we know"),
    ({"time_zone": 42}, "time_zone", "is not a time zone we know"),
    ({"start_date": "2030-02-30"}, "start_date", "Date has wrong format"),
    ({"start_date": "next monday"}, "start_date", "Date has wrong format"),
    ({"start_time": "25:00"}, "start_time", "Time has wrong format"),
    ({"start_date": "2030-02-20"}, "start_date", "The start time is in the past."),
    ({"start_date": None}, "start_date", "may not be null"),
    ({"duration_minutes": 4}, "duration_minutes", "between 5 minutes and 1440 minutes"),
    ({"duration_minutes": 1441}, "duration_minutes", "between 5 minutes and 1440 minutes"),
    ({"duration_minutes": 60}, "duration_minutes", "Free plan allows meetings of up to 40"),
    ({"duration_minutes": "half an hour"}, "duration_minutes", "A valid integer is required."),
    ({"duration_minutes": [30]}, "duration_minutes", "A valid integer is required."),
    ({"title": ""}, "title", "may not be blank"),
    ({"title": "   "}, "title", "may not be blank"),
    ({"title": "x" * 201}, "title", "no more than 200 characters"),
    ({"title": {"en": "Hi"}}, "title", "Not a valid string."),
    ({"agenda": "x" * 5001}, "agenda", "no more than 5000 characters"),
    ({"recurrence": "yearly"}, "recurrence", "is not a valid choice"),
    ({"recurrence": "weekly", "count": 3}, "weekdays", "Choose at least one day of the week."),
    ({"recurrence": "weekly", "weekdays": [7], "count": 3}, "weekdays", "7 is not a day"),
    ({"recurrence": "weekly", "weekdays": [-1], "count": 3}, "weekdays", "-1 is not a day"),
    ({"recurrence": "weekly", "weekdays": ["mon"], "count": 3}, "weekdays", "'mon' is not a day"),
    ({"recurrence": "weekly", "weekdays": 1, "count": 3}, "weekdays", "Expected a list"),
    ({"recurrence": "daily"}, "until", "Give an end date or a number of occurrences."),
    ({"recurrence": "daily", "interval": 0, "count": 2}, "interval", "greater than or equal to 1"),
    ({"recurrence": "daily", "count": 0}, "count", "greater than or equal to 1"),
    ({"recurrence": "daily", "count": 367}, "count", "less than or equal to 366"),
    ({"recurrence": "daily", "until": "2030-03-01"}, "until", "before the first meeting"),
    ({"recurrence": "daily", "until": "2030-31-12"}, "until", "Date has wrong format"),
    ({"recurrence": "weekly", "weekdays": [0], "until": "2033-01-01"}, "until", "two years"),
    (
        {"recurrence": "daily", "count": 3, "until": "2030-04-01"},
        "count",
        "Give an end date or a number of occurrences, not both",
    ),
    ({"invitees": ["ann@example.com", "not-an-email"]}, "invitees", "“not-an-email” is not"),
    ({"invitees": ["ann@@example.com"]}, "invitees", "“ann@@example.com” is not a valid"),
    ({"invitees": [""]}, "invitees", "“” is not a valid email address."),
    ({"invitees": [7]}, "invitees", "must be a string, not 7"),
    ({"invitees": [{"email": "a@example.com"}]}, "invitees", "must be a string"),
    ({"invitees": "ann@example.com"}, "invitees", "Expected a list of items"),
    (
        {"invitees": [f"p{n}@example.com" for n in range(201)]},
        "invitees",
        "Invite at most 200 people at a time.",
    ),
    (
        {"invitees": [f"p{n}@example.com" for n in range(100)]},
        "invitees",
        "Free plan allows up to 100 participants",
    ),
    ({"passcode_required": "maybe"}, "passcode_required", "Must be a valid boolean."),
    ({"lobby_enabled": None}, "lobby_enabled", "may not be null"),
    ({"start": "2030-03-25T09:00:00+01:00"}, "start", "without a UTC offset"),
    ({"start": "2030-03-25T09:00"}, "start", "not both"),
]


@pytest.mark.parametrize(
    ("change", "field", "message"),
    BAD_CREATES,
    ids=[f"{field}:{str(change)[:40]}" for change, field, _ in BAD_CREATES],
)
def test_bad_input_is_refused_on_the_field_and_creates_nothing(
    api, frozen, change, field, message, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/meetings/", valid(**change), format="json")

    assert response.status_code == expected_status(message), response.content
    assert response["Content-Type"] == "application/json"
    errors = response.json()
    assert field in errors, errors
    assert any(message in text for text in errors[field]), errors
    assert not Meeting.objects.exists()
    assert not Invitation.objects.exists()
    assert mail.outbox == []


@pytest.mark.parametrize(
    ("fields", "missing"),
    [
        ({"start_date": "2030-03-25"}, {"start_time"}),
        ({"start_time": "09:00"}, {"start_date"}),
        ({}, {"start_date", "start_time"}),
    ],
)
def test_a_start_is_required(api, frozen, fields, missing):
    body = {"title": "T", "duration_minutes": 30} | fields

    response = api.post("/api/meetings/", body, format="json")

    assert response.status_code == 400
    assert set(response.json()) == missing


def test_a_start_in_the_past_given_as_start_is_reported_on_start(api, frozen):
    body = {"title": "T", "duration_minutes": 30, "start": "2030-02-01T09:00"}

    response = api.post("/api/meetings/", body, format="json")

    assert response.json() == {"start": ["The start time is in the past."]}


def test_required_fields_are_named(api, frozen):
    response = api.post("/api/meetings/", {}, format="json")

    assert response.status_code == 400
    assert response.json()["title"] == ["This field is required."]
    assert response.json()["duration_minutes"] == ["This field is required."]


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        ('{"title": ', "application/json", "JSON parse error"),
        ("[1, 2]", "application/json", "Invalid data. Expected a dictionary, but got list."),
        ("title=x", "application/x-www-form-urlencoded", "Unsupported media type"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_refused_with_a_message(
    api, frozen, body, content_type, expected
):
    response = api.generic("POST", "/api/meetings/", body, content_type=content_type)

    assert response.status_code in (400, 415)
    assert response["Content-Type"] == "application/json"
    assert expected in str(response.json())
    assert not Meeting.objects.exists()


# --- Bad edits -------------------------------------------------------------------------


@pytest.fixture
def meeting(host, frozen):
    return MeetingFactory(
        host=host,
        title="Standup",
        schedule=schedule_in(10, time_zone="Europe/Paris", recurrence="daily", count=3),
    )


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"time_zone": "Europe/Atlantis"}, "time_zone", "is not a time zone we know"),
        ({"duration_minutes": 2}, "duration_minutes", "between 5 minutes and 1440"),
        ({"duration_minutes": 45}, "duration_minutes", "up to 40 minutes"),
        ({"start_date": "2030-01-01"}, "start_date", "in the past"),
        ({"start": "2030-01-01T09:00"}, "start", "in the past"),
        ({"recurrence": "weekly"}, "weekdays", "Choose at least one day"),
        ({"until": "2030-12-01"}, "count", "Give an end date or a number of occurrences, not"),
        ({"weekdays": [8]}, "weekdays", "8 is not a day"),
        ({"title": ""}, "title", "may not be blank"),
        ({}, "non_field_errors", "Nothing to change"),
    ],
)
def test_bad_edits_are_refused_on_the_field_and_change_nothing(
    api, meeting, change, field, message
):
    before = (meeting.title, meeting.sequence, sorted(meeting.occurrences.values_list("starts_at")))

    response = api.patch(f"/api/meetings/{meeting.public_id}/", change, format="json")

    assert response.status_code == expected_status(message), response.content
    assert any(message in text for text in response.json()[field]), response.json()
    meeting.refresh_from_db()
    after = (meeting.title, meeting.sequence, sorted(meeting.occurrences.values_list("starts_at")))
    assert after == before


def test_a_cancelled_meeting_cannot_be_edited(api, meeting):
    api.delete(f"/api/meetings/{meeting.public_id}/")

    response = api.patch(f"/api/meetings/{meeting.public_id}/", {"title": "x"}, format="json")

    assert response.status_code == 422
    assert response.json() == {"status": ["This meeting is cancelled and can't be changed."]}


def test_changing_the_timing_replaces_the_occurrences(api, meeting):
    response = api.patch(
        f"/api/meetings/{meeting.public_id}/",
        {"recurrence": "weekly", "weekdays": [4, 0, 4], "count": 2},
        format="json",
    )

    assert response.status_code == 200, response.content
    assert response.json()["weekdays"] == [0, 4]
    starts = api.get(f"/api/meetings/{meeting.public_id}/occurrences/").json()["results"]
    assert len(starts) == 2
    days = {date.fromisoformat(row["local_starts_at"][:10]).weekday() for row in starts}
    assert days <= {0, 4}


def occurrence_path(meeting, index=0) -> str:
    occurrence = meeting.occurrences.order_by("starts_at")[index]
    return f"/api/meetings/{meeting.public_id}/occurrences/{occurrence.public_id}/"


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"starts_at": "2030-03-20T10:00:00"}, "starts_at", "with its UTC offset"),
        ({"starts_at": "2030-03-20"}, "starts_at", "with its UTC offset"),
        ({"starts_at": "soon"}, "starts_at", "Datetime has wrong format"),
        ({"starts_at": "2030-02-01T10:00:00Z"}, "starts_at", "in the past"),
        ({"duration_minutes": 3}, "duration_minutes", "between 5 minutes and 1440"),
        ({"duration_minutes": 41}, "duration_minutes", "up to 40 minutes"),
        ({"duration_minutes": True}, "duration_minutes", "A valid integer is required."),
        ({}, "starts_at", "Give a new starts_at"),
    ],
)
def test_bad_reschedules_are_refused_on_the_field(api, meeting, body, field, message):
    path = occurrence_path(meeting)
    before = api.get(path).json()

    response = api.patch(path, body, format="json")

    assert response.status_code == expected_status(message), response.content
    assert any(message in text for text in response.json()[field]), response.json()
    assert api.get(path).json() == before


def test_an_occurrence_that_was_cancelled_cannot_be_moved_or_cancelled_again(api, meeting):
    path = occurrence_path(meeting)
    api.post(path + "cancel/")

    moved = api.patch(path, {"starts_at": "2030-04-20T10:00:00Z"}, format="json")
    cancelled = api.post(path + "cancel/")

    assert moved.status_code == 422 and "starts_at" in moved.json()
    assert cancelled.status_code == 422 and "status" in cancelled.json()


def test_cancelling_the_last_occurrence_cancels_the_meeting(api, host, frozen):
    meeting = MeetingFactory(host=host, schedule=schedule_in(5))

    response = api.post(occurrence_path(meeting) + "cancel/")

    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert api.get(f"/api/meetings/{meeting.public_id}/").json()["status"] == "cancelled"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"emails": []}, "This list may not be empty."),
        ({}, "This field is required."),
        ({"emails": ["fine@example.com", "nope"]}, "“nope” is not a valid email address."),
        ({"emails": "a@example.com"}, "Expected a list of items"),
        ({"emails": [f"p{n}@example.com" for n in range(201)]}, "at most 200 people"),
        ({"emails": [f"p{n}@example.com" for n in range(100)]}, "up to 100 participants"),
    ],
)
def test_bad_invitations_are_refused_on_emails_and_invite_nobody(api, meeting, body, message):
    response = api.post(f"/api/meetings/{meeting.public_id}/invitations/", body, format="json")

    assert response.status_code == expected_status(message), response.content
    assert any(message in text for text in response.json()["emails"]), response.json()
    assert not meeting.invitations.exists()


def test_inviting_people_already_invited_creates_nothing_and_says_200(api, host, frozen):
    meeting = MeetingFactory(host=host, schedule=schedule_in(5), invitees=["a@example.com"])

    response = api.post(
        f"/api/meetings/{meeting.public_id}/invitations/",
        {"emails": ["A@example.com"]},
        format="json",
    )

    assert response.status_code == 200
    assert response.json() == []
    assert meeting.invitations.count() == 1


def test_a_removed_invitation_is_gone(api, host, frozen):
    meeting = MeetingFactory(host=host, schedule=schedule_in(5), invitees=["a@example.com"])
    invitation = meeting.invitations.get()
    path = f"/api/meetings/{meeting.public_id}/invitations/{invitation.pk}/"

    assert api.delete(path).status_code == 204
    assert api.delete(path).status_code == 404
    assert api.post(path + "resend/").status_code == 404


def test_a_cancelled_meetings_invitation_cannot_be_resent(api, host, frozen):
    meeting = MeetingFactory(host=host, schedule=schedule_in(5), invitees=["a@example.com"])
    invitation = meeting.invitations.get()
    api.delete(f"/api/meetings/{meeting.public_id}/")

    response = api.post(f"/api/meetings/{meeting.public_id}/invitations/{invitation.pk}/resend/")

    assert response.status_code == 422
    assert response.json() == {"status": ["This meeting is cancelled and can't be changed."]}


def test_times_are_written_in_utc_whatever_zone_is_active(api, meeting):
    with timezone.override("Asia/Tokyo"):
        row = api.get(occurrence_path(meeting)).json()

    assert row["starts_at"].endswith("Z")
    assert row["local_starts_at"].endswith("+01:00") or row["local_starts_at"].endswith("+02:00")


def test_an_occurrence_in_the_past_is_listed_with_its_status(api, meeting):
    Occurrence.objects.filter(meeting=meeting).update(status=Occurrence.Status.ENDED)

    rows = api.get(f"/api/meetings/{meeting.public_id}/occurrences/").json()["results"]

    assert {row["status"] for row in rows} == {"ended"}
