from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from meetings.schedule import MAX_OCCURRENCES, Schedule, occurrence_starts, validate

NEW_YORK = "America/New_York"
BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def weekly(starts_on: date, *, count: int = 2, weekdays=(0,), zone: str = NEW_YORK) -> Schedule:
    return Schedule(
        time_zone=zone,
        starts_on=starts_on,
        start_time=time(9, 0),
        duration_minutes=30,
        recurrence="weekly",
        weekdays=weekdays,
        count=count,
    )


def test_a_weekly_meeting_keeps_9am_across_the_spring_change():
    starts = occurrence_starts(weekly(date(2027, 3, 8)))

    assert starts == [
        datetime(2027, 3, 8, 14, 0, tzinfo=UTC),  # 09:00 EST, UTC-5
        datetime(2027, 3, 15, 13, 0, tzinfo=UTC),  # 09:00 EDT, UTC-4
    ]
    assert {s.astimezone(ZoneInfo(NEW_YORK)).time() for s in starts} == {time(9, 0)}


def test_a_weekly_meeting_keeps_9am_across_the_autumn_change():
    starts = occurrence_starts(weekly(date(2027, 11, 1)))

    assert starts == [
        datetime(2027, 11, 1, 13, 0, tzinfo=UTC),  # 09:00 EDT
        datetime(2027, 11, 8, 14, 0, tzinfo=UTC),  # 09:00 EST
    ]


def test_an_invitee_in_another_zone_sees_the_shift_in_their_own_time():
    starts = occurrence_starts(weekly(date(2027, 3, 8)))

    # Berlin moves its clocks two weeks after New York: the meeting moves an hour there.
    assert [s.astimezone(BERLIN).strftime("%H:%M %Z") for s in starts] == ["15:00 CET", "14:00 CET"]


def test_a_start_inside_the_spring_gap_lands_after_it():
    schedule = Schedule(
        time_zone=NEW_YORK,
        starts_on=date(2027, 3, 14),
        start_time=time(2, 30),
        duration_minutes=30,
    )

    [start] = occurrence_starts(schedule)

    assert start == datetime(2027, 3, 14, 7, 30, tzinfo=UTC)


def test_weekly_on_chosen_days_until_a_date():
    schedule = Schedule(
        time_zone="Europe/Paris",
        starts_on=date(2027, 1, 4),
        start_time=time(10, 0),
        duration_minutes=60,
        recurrence="weekly",
        weekdays=(0, 2, 4),
        until=date(2027, 1, 15),
    )

    days = [
        s.astimezone(ZoneInfo("Europe/Paris")).date().isoformat()
        for s in occurrence_starts(schedule)
    ]

    assert days == [
        "2027-01-04",
        "2027-01-06",
        "2027-01-08",
        "2027-01-11",
        "2027-01-13",
        "2027-01-15",
    ]


def test_daily_every_other_day_with_a_count():
    schedule = Schedule(
        time_zone="UTC",
        starts_on=date(2027, 1, 1),
        start_time=time(8, 0),
        duration_minutes=15,
        recurrence="daily",
        interval=2,
        count=3,
    )

    assert [s.day for s in occurrence_starts(schedule)] == [1, 3, 5]


def test_monthly_keeps_the_date_and_skips_months_without_it():
    schedule = Schedule(
        time_zone="UTC",
        starts_on=date(2027, 1, 31),
        start_time=time(8, 0),
        duration_minutes=15,
        recurrence="monthly",
        count=3,
    )

    assert [s.date().isoformat() for s in occurrence_starts(schedule)] == [
        "2027-01-31",
        "2027-03-31",
        "2027-05-31",
    ]


def test_a_one_off_meeting_has_one_occurrence():
    schedule = Schedule(
        time_zone="Asia/Kolkata",
        starts_on=date(2027, 2, 1),
        start_time=time(9, 30),
        duration_minutes=45,
    )

    assert occurrence_starts(schedule) == [datetime(2027, 2, 1, 4, 0, tzinfo=UTC)]


def test_a_valid_schedule_passes():
    validate(weekly(date(2027, 3, 8)), now=NOW)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"duration_minutes": 4}, "duration_minutes"),
        ({"duration_minutes": 24 * 60 + 1}, "duration_minutes"),
        ({"weekdays": ()}, "weekdays"),
        ({"weekdays": (7,)}, "weekdays"),
        ({"count": None}, "until"),
        ({"until": date(2027, 4, 1)}, "count"),
        ({"count": MAX_OCCURRENCES + 1}, "count"),
        ({"count": 0}, "count"),
        ({"interval": 0}, "interval"),
        ({"interval": 100}, "interval"),
        ({"recurrence": "yearly"}, "recurrence"),
        ({"starts_on": date(2026, 11, 1)}, "starts_on"),
        ({"count": None, "until": date(2027, 3, 1)}, "until"),
        ({"count": None, "until": date(2029, 12, 31)}, "until"),
        ({"count": None, "until": date(2028, 12, 1), "recurrence": "daily"}, "until"),
    ],
)
def test_each_bad_schedule_is_refused_on_its_field(changes, field):
    schedule = Schedule(**(vars(weekly(date(2027, 3, 8))) | changes))

    with pytest.raises(ValidationError) as error:
        validate(schedule, now=NOW)

    assert field in error.value.message_dict


def test_a_start_a_few_minutes_ago_is_accepted():
    schedule = Schedule(
        time_zone="UTC", starts_on=NOW.date(), start_time=time(11, 55), duration_minutes=30
    )

    validate(schedule, now=NOW)


def test_a_first_start_that_does_not_exist_is_refused():
    schedule = Schedule(
        time_zone=NEW_YORK,
        starts_on=date(2027, 3, 14),
        start_time=time(2, 30),
        duration_minutes=30,
    )

    with pytest.raises(ValidationError) as error:
        validate(schedule, now=NOW)

    assert "clocks go forward" in error.value.message_dict["start_time"][0]
