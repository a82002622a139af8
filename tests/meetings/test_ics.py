import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from dateutil import rrule
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar, Event

from meetings import ics, links, services
from meetings.models import Occurrence
from tests.factories import UserFactory
from tests.meetings.factories import MeetingFactory, schedule_in

BERLIN = ZoneInfo("Europe/Berlin")
SITE_URL = "https://confer.example.test"


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = SITE_URL


@pytest.fixture
def host(db):
    return UserFactory(email="ada@example.com", full_name="Ada Lovelace")


def parse(body: bytes) -> Calendar:
    return Calendar.from_ical(body)


def master_of(calendar: Calendar) -> Event:
    [master] = [e for e in calendar.walk("VEVENT") if "RECURRENCE-ID" not in e]
    return master


def overrides_of(calendar: Calendar) -> list[Event]:
    return [e for e in calendar.walk("VEVENT") if "RECURRENCE-ID" in e]


def attendees_of(event: Event) -> list:
    value = event.get("ATTENDEE", [])
    return value if isinstance(value, list) else [value]


def expand(event: Event) -> list[datetime]:
    """The UTC instants a calendar client gets from DTSTART, RRULE and EXDATE."""
    start = event["DTSTART"].dt
    rules = rrule.rruleset()
    rules.rrule(rrule.rrulestr(event["RRULE"].to_ical().decode(), dtstart=start))
    for excluded in event["EXDATE"].dts if "EXDATE" in event else []:
        rules.exdate(excluded.dt)
    return [instant.astimezone(UTC) for instant in rules]


def scheduled_starts(meeting) -> list[datetime]:
    return list(
        meeting.occurrences.filter(status=Occurrence.Status.SCHEDULED).values_list(
            "original_start", flat=True
        )
    )


def test_request_for_a_meeting_carries_every_field(host):
    meeting = MeetingFactory(
        host=host,
        title="Quarterly planning",
        agenda="Budget, hiring; and the roadmap",
        schedule=schedule_in(10),
        invitees=["bo@example.com", "cy@example.org"],
    )

    calendar = parse(ics.build_request(meeting))

    assert calendar["METHOD"] == "REQUEST"
    assert calendar["VERSION"] == "2.0"
    assert calendar["PRODID"] == "-//Confer//Meetings//EN"
    event = master_of(calendar)
    assert event["UID"] == f"{meeting.public_id}@confer.example.test"
    assert event["SEQUENCE"] == 0
    assert event["SUMMARY"] == "Quarterly planning"
    assert event["STATUS"] == "CONFIRMED"
    assert event["DTSTAMP"].dt.utcoffset() == timedelta(0)
    assert event["DTSTART"].params["TZID"] == "Europe/Berlin"
    assert event["DTSTART"].dt.replace(tzinfo=None) == datetime.combine(
        meeting.starts_on, time(9, 0)
    )
    assert event["DTEND"].params["TZID"] == "Europe/Berlin"
    assert event["DTEND"].dt - event["DTSTART"].dt == timedelta(minutes=30)
    assert "RRULE" not in event
    assert "EXDATE" not in event
    join_link = links.join_url(meeting)
    assert event["URL"] == join_link
    assert event["LOCATION"] == join_link
    description = str(event["DESCRIPTION"])
    assert description.startswith("Budget, hiring; and the roadmap\n\n")
    assert f"Join the meeting: {join_link}" in description
    assert f"Passcode: {meeting.passcode}" in description
    assert event["ORGANIZER"] == "mailto:ada@example.com"
    assert event["ORGANIZER"].params["CN"] == "Ada Lovelace"
    attendees = attendees_of(event)
    assert attendees == ["mailto:bo@example.com", "mailto:cy@example.org"]
    for attendee in attendees:
        assert attendee.params["ROLE"] == "REQ-PARTICIPANT"
        assert attendee.params["PARTSTAT"] == "NEEDS-ACTION"
        assert attendee.params["RSVP"] == "TRUE"
    assert overrides_of(calendar) == []


def test_start_instant_is_the_first_occurrence(host):
    meeting = MeetingFactory(host=host, schedule=schedule_in(10))

    event = master_of(parse(ics.build_request(meeting)))

    assert event["DTSTART"].dt == meeting.occurrences.get().starts_at
    assert event["DTEND"].dt == meeting.occurrences.get().ends_at


def test_personal_copy_lists_only_that_attendee_and_uses_their_link(host):
    meeting = MeetingFactory(host=host, invitees=["bo@example.com", "cy@example.org"])
    invitation = meeting.invitations.get(email="bo@example.com")
    personal = links.personal_join_url(invitation)

    event = master_of(
        parse(ics.build_request(meeting, attendee_email=invitation.email, join_link=personal))
    )

    assert attendees_of(event) == ["mailto:bo@example.com"]
    assert event["URL"] == personal
    assert event["LOCATION"] == personal
    assert f"Join the meeting: {personal}" in str(event["DESCRIPTION"])
    assert personal != links.join_url(meeting)


def test_meeting_without_passcode_or_agenda_says_only_how_to_join(host):
    meeting = MeetingFactory(host=host, passcode_required=False)

    event = master_of(parse(ics.build_request(meeting)))

    assert str(event["DESCRIPTION"]) == f"Join the meeting: {links.join_url(meeting)}"


def test_organizer_without_a_name_has_no_common_name(db):
    meeting = MeetingFactory(host=UserFactory(full_name=""))

    event = master_of(parse(ics.build_request(meeting)))

    assert "CN" not in event["ORGANIZER"].params


def test_vtimezone_is_present_and_matches_the_zone(host):
    meeting = MeetingFactory(
        host=host,
        schedule=schedule_in(3, recurrence="weekly", weekdays=(0, 3), count=40),
    )

    calendar = parse(ics.build_request(meeting))

    [vtimezone] = calendar.walk("VTIMEZONE")
    assert vtimezone["TZID"] == "Europe/Berlin"
    own_rules = vtimezone.to_tz(lookup_tzid=False)
    for start in scheduled_starts(meeting):
        wall = start.astimezone(BERLIN).replace(tzinfo=None)
        assert wall.replace(tzinfo=own_rules).utcoffset() == start.astimezone(BERLIN).utcoffset()
    assert calendar.get_missing_tzids() == set()


def test_meeting_in_utc_is_written_in_utc_without_vtimezone(host):
    meeting = MeetingFactory(host=host, schedule=schedule_in(5, time_zone="UTC"))

    body = ics.build_request(meeting)

    event = master_of(parse(body))
    assert parse(body).walk("VTIMEZONE") == []
    assert "TZID" not in event["DTSTART"].params
    assert re.search(rb"^DTSTART:\d{8}T090000Z\r$", body, re.MULTILINE)
    assert event["DTSTART"].dt == meeting.occurrences.get().starts_at


@pytest.mark.parametrize(
    ("fields", "expected_rule"),
    [
        (
            {"recurrence": "weekly", "weekdays": (2, 0), "count": 6},
            {"FREQ": ["WEEKLY"], "COUNT": [6], "BYDAY": ["MO", "WE"], "WKST": ["MO"]},
        ),
        (
            {"recurrence": "weekly", "interval": 2, "weekdays": (4,), "until_days": 60},
            {"FREQ": ["WEEKLY"], "INTERVAL": [2], "BYDAY": ["FR"], "WKST": ["MO"]},
        ),
        (
            {"recurrence": "daily", "count": 10},
            {"FREQ": ["DAILY"], "COUNT": [10]},
        ),
        (
            {"recurrence": "daily", "interval": 3, "until_days": 20},
            {"FREQ": ["DAILY"], "INTERVAL": [3]},
        ),
        (
            {"recurrence": "monthly", "until_days": 200},
            {"FREQ": ["MONTHLY"]},
        ),
        (
            {"recurrence": "monthly", "interval": 2, "count": 4},
            {"FREQ": ["MONTHLY"], "INTERVAL": [2], "COUNT": [4]},
        ),
    ],
)
def test_series_rule_expands_to_the_same_sittings(host, fields, expected_rule):
    fields = dict(fields)
    if until_days := fields.pop("until_days", None):
        fields["until"] = timezone.now().date() + timedelta(days=until_days)
    meeting = MeetingFactory(host=host, schedule=schedule_in(3, **fields))

    event = master_of(parse(ics.build_request(meeting)))

    rule = dict(event["RRULE"])
    until = rule.pop("UNTIL", None)
    assert rule == expected_rule
    if meeting.recurrence_until:
        end_of_day = datetime.combine(meeting.recurrence_until, time(23, 59, 59), BERLIN)
        assert until == [end_of_day.astimezone(UTC)]
        assert b"UNTIL=" + end_of_day.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ").encode() in (
            event["RRULE"].to_ical()
        )
    else:
        assert until is None
    assert expand(event) == scheduled_starts(meeting)


def test_weekly_series_starting_off_pattern_starts_on_its_first_sitting(host):
    # Created on a day the pattern skips: DTSTART must be a real sitting (RFC 5545 3.8.5.3).
    starts_on = timezone.now().date() + timedelta(days=7)
    other_day = (starts_on.weekday() + 2) % 7
    meeting = MeetingFactory(
        host=host, schedule=schedule_in(7, recurrence="weekly", weekdays=(other_day,), count=3)
    )

    event = master_of(parse(ics.build_request(meeting)))

    assert event["DTSTART"].dt.weekday() == other_day
    assert expand(event) == scheduled_starts(meeting)
    assert len(expand(event)) == 3


@pytest.mark.parametrize(
    ("now", "first_day", "utc_hours"),
    [
        # Berlin springs forward on 29 March 2026: 09:00 is 08:00 UTC, then 07:00 UTC.
        (datetime(2026, 3, 1, 12, tzinfo=UTC), date(2026, 3, 20), [8, 8, 7, 7]),
        # ...and falls back on 25 October 2026: 07:00 UTC, then 08:00 UTC.
        (datetime(2026, 10, 1, 12, tzinfo=UTC), date(2026, 10, 16), [7, 7, 8, 8]),
    ],
)
def test_weekly_meeting_keeps_local_time_across_daylight_saving(host, now, first_day, utc_hours):
    with time_machine.travel(now, tick=False):
        meeting = MeetingFactory(
            host=host,
            schedule=schedule_in(
                (first_day - now.date()).days, recurrence="weekly", weekdays=(4,), count=4
            ),
        )

        event = master_of(parse(ics.build_request(meeting)))

    assert event["DTSTART"].params["TZID"] == "Europe/Berlin"
    assert event["DTSTART"].dt.replace(tzinfo=None) == datetime.combine(first_day, time(9, 0))
    instants = expand(event)
    assert [instant.hour for instant in instants] == utc_hours
    assert {instant.astimezone(BERLIN).time() for instant in instants} == {time(9, 0)}
    assert instants == scheduled_starts(meeting)


def test_sitting_in_the_spring_forward_gap_is_named_by_its_wall_clock_time(host):
    # 02:30 does not exist in Berlin on 29 March 2026; RFC 5545 reads it as 01:30 UTC.
    with time_machine.travel(datetime(2026, 3, 20, 12, tzinfo=UTC), tick=False):
        meeting = MeetingFactory(
            host=host,
            schedule=schedule_in(7, start_time=time(2, 30), recurrence="daily", count=4),
        )
        gap = meeting.occurrences.get(original_start=datetime(2026, 3, 29, 1, 30, tzinfo=UTC))
        services.cancel_occurrence(occurrence=gap)
        meeting.refresh_from_db()

        body = ics.build_request(meeting)
        cancel = ics.build_cancel(meeting, occurrence=gap)

    assert b"EXDATE;TZID=Europe/Berlin:20260329T023000\r\n" in body
    assert b"RECURRENCE-ID;TZID=Europe/Berlin:20260329T023000\r\n" in cancel
    event = master_of(parse(body))
    assert expand(event) == scheduled_starts(meeting)
    assert len(expand(event)) == 3


def test_invitee_in_another_zone_gets_the_right_instant(host):
    # New York moves its clocks on 8 March, Berlin on 29 March: for three weeks the gap
    # between them is five hours, not six.
    with time_machine.travel(datetime(2026, 3, 1, 12, tzinfo=UTC), tick=False):
        meeting = MeetingFactory(
            host=host, schedule=schedule_in(5, recurrence="weekly", weekdays=(4,), count=5)
        )

        event = master_of(parse(ics.build_request(meeting)))

    new_york = [instant.astimezone(ZoneInfo("America/New_York")) for instant in expand(event)]
    assert [(moment.day, moment.hour) for moment in new_york] == [
        (6, 3), (13, 4), (20, 4), (27, 4), (3, 3),
    ]  # fmt: skip


def test_cancelled_sitting_becomes_an_exdate_and_gets_its_own_cancel(host):
    meeting = MeetingFactory(
        host=host, schedule=schedule_in(3, recurrence="daily", count=5), invitees=["bo@example.com"]
    )
    first = master_of(parse(ics.build_request(meeting)))
    occurrence = list(meeting.occurrences.all())[2]

    services.cancel_occurrence(occurrence=occurrence)
    meeting.refresh_from_db()
    request = master_of(parse(ics.build_request(meeting)))
    cancel = parse(ics.build_cancel(meeting, occurrence=occurrence))

    [excluded] = request["EXDATE"].dts
    assert excluded.params["TZID"] == "Europe/Berlin"
    assert excluded.dt == occurrence.original_start
    assert excluded.dt.astimezone(BERLIN).time() == time(9, 0)
    assert occurrence.original_start not in expand(request)
    assert len(expand(request)) == 4
    assert request["SEQUENCE"] > first["SEQUENCE"]
    assert cancel["METHOD"] == "CANCEL"
    [event] = cancel.walk("VEVENT")
    assert event["UID"] == first["UID"]
    assert event["SEQUENCE"] == request["SEQUENCE"]
    assert event["STATUS"] == "CANCELLED"
    assert event["RECURRENCE-ID"].params["TZID"] == "Europe/Berlin"
    assert event["RECURRENCE-ID"].dt == occurrence.original_start
    assert "RRULE" not in event
    assert attendees_of(event) == ["mailto:bo@example.com"]
    assert [tz["TZID"] for tz in cancel.walk("VTIMEZONE")] == ["Europe/Berlin"]


def test_rescheduled_sitting_is_an_override_with_recurrence_id(host):
    meeting = MeetingFactory(host=host, schedule=schedule_in(3, recurrence="daily", count=5))
    occurrence = list(meeting.occurrences.all())[1]
    new_start = occurrence.starts_at + timedelta(hours=3, minutes=30)

    services.reschedule_occurrence(occurrence=occurrence, starts_at=new_start, duration_minutes=35)
    meeting.refresh_from_db()
    calendar = parse(ics.build_request(meeting))

    master = master_of(calendar)
    [override] = overrides_of(calendar)
    assert override["UID"] == master["UID"]
    assert override["SEQUENCE"] == master["SEQUENCE"] == 1
    assert override["RECURRENCE-ID"].params["TZID"] == "Europe/Berlin"
    assert override["RECURRENCE-ID"].dt == occurrence.original_start
    assert override["DTSTART"].params["TZID"] == "Europe/Berlin"
    assert override["DTSTART"].dt == new_start
    assert override["DTSTART"].dt.astimezone(BERLIN).time() == time(12, 30)
    assert override["DTEND"].dt == new_start + timedelta(minutes=35)
    assert override["URL"] == master["URL"]
    assert override["SUMMARY"] == master["SUMMARY"]
    assert "RRULE" not in override
    # The series itself still holds the slot, so the override replaces it.
    assert occurrence.original_start in expand(master)


def test_moved_one_off_meeting_is_simply_at_its_new_time(host):
    meeting = MeetingFactory(host=host)
    occurrence = meeting.occurrences.get()
    new_start = occurrence.starts_at + timedelta(days=1)

    services.reschedule_occurrence(occurrence=occurrence, starts_at=new_start, duration_minutes=30)
    meeting.refresh_from_db()
    calendar = parse(ics.build_request(meeting))

    assert overrides_of(calendar) == []
    master = master_of(calendar)
    assert master["DTSTART"].dt == new_start
    assert master["SEQUENCE"] == 1


def test_request_update_and_cancel_share_uid_with_growing_sequence(host):
    meeting = MeetingFactory(host=host, invitees=["bo@example.com"])
    first = master_of(parse(ics.build_request(meeting)))

    updated_meeting = services.update_meeting(
        meeting=meeting, schedule=schedule_in(8, start_time=time(14, 15), duration_minutes=40)
    )
    updated = master_of(parse(ics.build_request(updated_meeting)))
    cancelled_meeting = services.cancel_meeting(meeting=updated_meeting)
    cancel_calendar = parse(ics.build_cancel(cancelled_meeting))

    assert first["UID"] == updated["UID"] == master_of(cancel_calendar)["UID"]
    assert first["SEQUENCE"] < updated["SEQUENCE"] < master_of(cancel_calendar)["SEQUENCE"]
    assert updated["DTSTART"].dt.astimezone(BERLIN).time() == time(14, 15)
    assert updated["DTSTART"].dt.date() == timezone.now().date() + timedelta(days=8)
    assert updated["DTEND"].dt - updated["DTSTART"].dt == timedelta(minutes=40)
    assert cancel_calendar["METHOD"] == "CANCEL"
    cancelled = master_of(cancel_calendar)
    assert cancelled["STATUS"] == "CANCELLED"
    assert cancelled["DTSTART"].dt == updated["DTSTART"].dt
    assert attendees_of(cancelled) == ["mailto:bo@example.com"]


def test_cancel_of_a_series_names_the_series(host):
    meeting = MeetingFactory(host=host, schedule=schedule_in(3, recurrence="daily", count=5))

    meeting = services.cancel_meeting(meeting=meeting)
    event = master_of(parse(ics.build_cancel(meeting)))

    assert dict(event["RRULE"]) == {"FREQ": ["DAILY"], "COUNT": [5]}
    assert "RECURRENCE-ID" not in event


def test_long_lines_are_folded_and_end_in_crlf(host):
    meeting = MeetingFactory(host=host, title="Ü" * 150, agenda="A long agenda. " * 40)

    body = ics.build_request(meeting, join_link=SITE_URL + "/j/" + "x" * 200)

    lines = body.split(b"\r\n")
    assert lines[-1] == b""
    assert all(len(line) <= 75 for line in lines)
    assert b"\n" not in body.replace(b"\r\n", b"")
    assert master_of(parse(body))["SUMMARY"] == "Ü" * 150


# --- The host's download ---------------------------------------------------------------


def ics_url(meeting) -> str:
    return reverse("meetings:ics", args=[meeting.public_id])


def test_download_url_is_under_the_meeting(host):
    meeting = MeetingFactory(host=host)

    assert ics_url(meeting) == f"/meetings/{meeting.public_id}/invite.ics"


def test_host_downloads_the_calendar(client, host):
    meeting = MeetingFactory(host=host, title="Café & Co: weekly sync", invitees=["bo@example.com"])
    client.force_login(host)

    response = client.get(ics_url(meeting))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="cafe-co-weekly-sync.ics"'
    calendar = parse(response.content)
    assert calendar["METHOD"] == "REQUEST"
    event = master_of(calendar)
    assert event["UID"] == f"{meeting.public_id}@confer.example.test"
    assert event["URL"] == links.join_url(meeting)
    assert attendees_of(event) == ["mailto:bo@example.com"]


def test_host_downloads_a_cancellation_for_a_cancelled_meeting(client, host):
    meeting = services.cancel_meeting(meeting=MeetingFactory(host=host))
    client.force_login(host)

    response = client.get(ics_url(meeting))

    assert response.status_code == 200
    assert parse(response.content)["METHOD"] == "CANCEL"


def test_another_host_gets_not_found(client, host):
    meeting = MeetingFactory(host=host)
    client.force_login(UserFactory())

    response = client.get(ics_url(meeting))

    assert response.status_code == 404


def test_unknown_meeting_is_not_found(client, host):
    client.force_login(host)

    response = client.get("/meetings/00000000-0000-4000-8000-000000000000/invite.ics")

    assert response.status_code == 404


def test_anonymous_visitor_is_sent_to_sign_in(client, host):
    meeting = MeetingFactory(host=host)

    response = client.get(ics_url(meeting))

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('account_login')}?next={ics_url(meeting)}"
