"""Scheduling and editing a meeting through the host's form."""

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from meetings.models import Invitation, Meeting, Occurrence
from tests.factories import UserFactory
from tests.meetings.factories import MeetingFactory, schedule_in

URL = reverse("meetings:schedule")


@pytest.fixture
def host(db):
    return UserFactory(time_zone="America/New_York")


@pytest.fixture
def host_client(client, host):
    client.force_login(host)
    return client


def next_monday() -> date:
    today = timezone.now().date()
    return today + timedelta(days=7 - today.weekday())


def form_data(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "title": "Weekly planning",
        "agenda": "Numbers, then plans.",
        "starts_on": next_monday().isoformat(),
        "start_time": "09:30",
        "time_zone": "America/New_York",
        "duration_minutes": "30",
        "recurrence": "none",
        "interval": "1",
        "until": "",
        "count": "",
        "invitees": "",
        "passcode_required": "on",
        "lobby_enabled": "on",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def test_the_form_starts_in_the_hosts_time_zone_with_safe_defaults(host_client):
    response = host_client.get(URL)

    html = response.content.decode()
    assert response.status_code == 200
    assert re.search(r'name="time_zone"[^>]*value="America/New_York"', html)
    assert 'list="time-zone-names"' in html and '<datalist id="time-zone-names">' in html
    assert re.search(r'<input type="checkbox" name="passcode_required"[^>]*checked', html)
    assert re.search(r'<input type="checkbox" name="lobby_enabled"[^>]*checked', html)
    assert not re.search(r'<input type="checkbox" name="recording_allowed"[^>]*checked', html)
    for day in ("Mon", "Tue", "Sun"):
        assert f"{day}<span" in html


def test_scheduling_a_weekly_series_creates_its_occurrences_and_invitations(host_client, host):
    response = host_client.post(
        URL,
        form_data(
            recurrence="weekly",
            weekdays=["0", "2"],
            count="4",
            invitees="ana@example.com, ben@example.com\nCARL@example.com\n\n",
            recording_allowed="on",
        ),
    )

    meeting = Meeting.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("meetings:detail", args=[meeting.public_id])
    assert (meeting.host, meeting.title, meeting.time_zone) == (
        host,
        "Weekly planning",
        "America/New_York",
    )
    assert (meeting.recurrence, meeting.recurrence_weekdays, meeting.recurrence_count) == (
        "weekly",
        [0, 2],
        4,
    )
    assert meeting.passcode and meeting.lobby_enabled and meeting.recording_allowed
    starts = [
        o.starts_at.astimezone(ZoneInfo("America/New_York")) for o in meeting.occurrences.all()
    ]
    assert len(starts) == 4
    assert {(s.weekday(), s.time()) for s in starts} <= {(0, time(9, 30)), (2, time(9, 30))}
    assert starts[0].date() == next_monday()
    assert sorted(meeting.invitations.values_list("email", flat=True)) == [
        "ana@example.com",
        "ben@example.com",
        "carl@example.com",
    ]
    assert (
        "Invitations are on their way to 3 people"
        in host_client.get(response["Location"]).content.decode()
    )


def test_a_one_off_meeting_is_stored_in_utc_from_the_zone_entered(host_client):
    host_client.post(
        URL,
        form_data(
            time_zone="Asia/Tokyo", start_time="09:00", passcode_required=None, lobby_enabled=None
        ),
    )

    meeting = Meeting.objects.get()
    occurrence = meeting.occurrences.get()
    assert occurrence.starts_at == datetime.combine(next_monday(), time(0, 0), tzinfo=UTC)
    assert (meeting.passcode, meeting.lobby_enabled, meeting.recording_allowed) == (
        "",
        False,
        False,
    )


BAD_INPUTS = [
    (
        "starts_on",
        {"starts_on": (date.today() - timedelta(days=2)).isoformat()},
        "The start time is in the past.",
    ),
    ("time_zone", {"time_zone": "Mars/Olympus_Mons"}, "is not a time zone we know"),
    ("duration_minutes", {"duration_minutes": "41"}, "allows meetings of up to 40 minutes"),
    ("duration_minutes", {"duration_minutes": "3"}, "between 5 minutes and 24 hours"),
    ("weekdays", {"recurrence": "weekly", "count": "3"}, "Choose at least one day of the week."),
    ("until", {"recurrence": "daily"}, "Give an end date or a number of occurrences."),
    ("count", {"recurrence": "daily", "count": "3", "until": "2099-01-01"}, "not both"),
    ("interval", {"recurrence": "daily", "count": "3", "interval": "120"}, "Repeat every 1 to 99"),
    ("invitees", {"invitees": "ana@example.com\nnot-an-email"}, "is not a valid email address"),
    (
        "invitees",
        {"invitees": "\n".join(f"p{n}@example.com" for n in range(201))},
        "Invite at most 200 people at a time.",
    ),
    (
        "invitees",
        {"invitees": "\n".join(f"p{n}@example.com" for n in range(100))},
        "up to 100 participants",
    ),
    ("title", {"title": ""}, "Give the meeting a title."),
    ("start_time", {"start_time": "25:99"}, "Enter a time such as 09:30."),
]


@pytest.mark.parametrize(
    ("field", "changes", "message"), BAD_INPUTS, ids=[f"{f}-{m[:20]}" for f, _, m in BAD_INPUTS]
)
def test_each_bad_input_is_an_inline_error_and_creates_nothing(
    host_client, field, changes, message
):
    response = host_client.post(URL, form_data(**changes))

    html = response.content.decode()
    assert response.status_code == 400
    errors = re.search(rf'<ul class="errors" id="id_{field}_errors">(.*?)</ul>', html, re.S)
    assert errors, f"no inline error on {field}"
    assert message in errors.group(1).replace("&#x27;", "'")
    assert not Meeting.objects.exists()
    assert not Occurrence.objects.exists()
    assert not Invitation.objects.exists()


def test_a_bad_input_keeps_what_was_typed(host_client):
    response = host_client.post(URL, form_data(duration_minutes="90", invitees="ana@example.com"))

    html = response.content.decode()
    assert 'value="Weekly planning"' in html
    assert "ana@example.com</textarea>" in html


# --- Editing --------------------------------------------------------------------------


def test_editing_starts_from_the_meeting_as_it_is(host_client, host):
    meeting = MeetingFactory(
        host=host, title="Retro", schedule=schedule_in(5, time_zone="Europe/Berlin")
    )

    html = host_client.get(reverse("meetings:edit", args=[meeting.public_id])).content.decode()

    assert 'value="Retro"' in html
    assert re.search(r'name="time_zone"[^>]*value="Europe/Berlin"', html)
    assert 'value="09:00"' in html
    assert 'name="invitees"' not in html


def test_editing_the_time_moves_future_occurrences(host_client, host):
    meeting = MeetingFactory(host=host, schedule=schedule_in(5, time_zone="Europe/Berlin"))
    day = meeting.starts_on.isoformat()

    response = host_client.post(
        reverse("meetings:edit", args=[meeting.public_id]),
        form_data(
            title="Retro, later", starts_on=day, start_time="15:00", time_zone="Europe/Berlin"
        ),
    )

    assert response.status_code == 302
    meeting.refresh_from_db()
    assert meeting.title == "Retro, later"
    assert meeting.sequence == 1
    occurrence = meeting.occurrences.get()
    assert occurrence.starts_at.astimezone(ZoneInfo("Europe/Berlin")).time() == time(15, 0)


def test_an_edit_over_the_plan_limit_is_an_inline_error(host_client, host):
    meeting = MeetingFactory(host=host, schedule=schedule_in(5, time_zone="UTC"))

    response = host_client.post(
        reverse("meetings:edit", args=[meeting.public_id]),
        form_data(starts_on=meeting.starts_on.isoformat(), duration_minutes="60", time_zone="UTC"),
    )

    assert response.status_code == 400
    assert 'id="id_duration_minutes_errors"' in response.content.decode()
    meeting.refresh_from_db()
    assert (meeting.duration_minutes, meeting.sequence) == (30, 0)


def test_renaming_a_series_that_has_begun_keeps_its_dates(host_client, host, time_machine):
    time_machine.move_to(timezone.now() - timedelta(days=3), tick=False)
    meeting = MeetingFactory(
        host=host, schedule=schedule_in(1, time_zone="UTC", recurrence="daily", count=5)
    )
    time_machine.move_to(timezone.now() + timedelta(days=3), tick=False)
    starts = list(meeting.occurrences.values_list("starts_at", flat=True))
    host_client.force_login(host)
    form = host_client.get(reverse("meetings:edit", args=[meeting.public_id])).context["form"]
    data = {
        name: value
        for name, value in form.initial.items()
        if value not in (None, False) and name != "weekdays"
    }

    response = host_client.post(
        reverse("meetings:edit", args=[meeting.public_id]),
        {**data, "title": "Daily check-in", "passcode_required": "on", "lobby_enabled": "on"},
    )

    assert response.status_code == 302
    meeting.refresh_from_db()
    assert meeting.title == "Daily check-in"
    assert list(meeting.occurrences.values_list("starts_at", flat=True)) == starts


def _edit_data(host_client, meeting) -> dict[str, object]:
    form = host_client.get(reverse("meetings:edit", args=[meeting.public_id])).context["form"]
    data = {
        name: value
        for name, value in form.initial.items()
        if value not in (None, False) and name != "weekdays"
    }
    return {**data, "passcode_required": "on", "lobby_enabled": "on"}


@pytest.mark.parametrize(
    ("change", "says_invitees_told"),
    [({"title": "Renamed"}, True), ({"recording_allowed": "on"}, False)],
)
def test_the_edit_message_mentions_invitees_only_when_they_are_told(
    host_client, host, change, says_invitees_told
):
    meeting = MeetingFactory(host=host, invitees=["ann@example.com"])

    response = host_client.post(
        reverse("meetings:edit", args=[meeting.public_id]),
        {**_edit_data(host_client, meeting), **change},
        follow=True,
    )

    text = " ".join(str(m) for m in response.context["messages"])
    assert "Changes saved." in text
    assert ("updated invitation" in text) is says_invitees_told
