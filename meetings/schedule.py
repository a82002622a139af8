"""A meeting's timing as the host entered it, and its expansion into UTC instants.

Occurrences are expanded on local wall-clock time and only then converted to UTC, so a
weekly 09:00 meeting stays at 09:00 local on both sides of a daylight-saving change.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from dateutil import rrule
from django.core.exceptions import ValidationError
from django.utils import timezone

from .models import Meeting, Recurrence

MIN_DURATION_MINUTES = 5
MAX_DURATION_MINUTES = 24 * 60
MAX_OCCURRENCES = 366
MAX_SERIES_SPAN = timedelta(days=2 * 366)
MAX_INTERVAL = 99
# A start a few minutes in the past is someone scheduling "now" slowly, not a mistake.
PAST_START_GRACE = timedelta(minutes=10)

_FREQ: dict[str, Literal[0, 1, 2, 3, 4, 5, 6]] = {
    Recurrence.DAILY: rrule.DAILY,
    Recurrence.WEEKLY: rrule.WEEKLY,
    Recurrence.MONTHLY: rrule.MONTHLY,
}
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class Schedule:
    time_zone: str
    starts_on: date
    start_time: time
    duration_minutes: int
    recurrence: str = Recurrence.NONE
    interval: int = 1
    weekdays: tuple[int, ...] = field(default_factory=tuple)
    until: date | None = None
    count: int | None = None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def first_local_start(self) -> datetime:
        return datetime.combine(self.starts_on, self.start_time)


def schedule_of(meeting: Meeting) -> Schedule:
    """The timing a meeting was scheduled with."""
    return Schedule(
        time_zone=meeting.time_zone,
        starts_on=meeting.starts_on,
        start_time=meeting.start_time,
        duration_minutes=meeting.duration_minutes,
        recurrence=meeting.recurrence,
        interval=meeting.recurrence_interval,
        weekdays=tuple(meeting.recurrence_weekdays),
        until=meeting.recurrence_until,
        count=meeting.recurrence_count,
    )


def to_utc(local: datetime, zone: ZoneInfo) -> datetime:
    """A naive wall-clock time in `zone` as a UTC instant (fold=0 on ambiguous times)."""
    return local.replace(tzinfo=zone).astimezone(UTC)


def local_starts(schedule: Schedule) -> list[datetime]:
    first = schedule.first_local_start()
    if schedule.recurrence == Recurrence.NONE:
        return [first]
    rule = rrule.rrule(
        _FREQ[Recurrence(schedule.recurrence)],
        dtstart=first,
        interval=schedule.interval,
        byweekday=sorted(schedule.weekdays) if schedule.recurrence == Recurrence.WEEKLY else None,
        until=datetime.combine(schedule.until, time.max) if schedule.until else None,
        count=schedule.count,
        cache=False,
    )
    # One past the cap, so that validation can tell a series that is too long.
    starts = []
    for start in rule:
        starts.append(start)
        if len(starts) > MAX_OCCURRENCES:
            break
    return starts


def occurrence_starts(schedule: Schedule) -> list[datetime]:
    """Every occurrence's start as an aware UTC datetime, in order."""
    zone = schedule.zone
    return [to_utc(start, zone) for start in local_starts(schedule)]


def validate(schedule: Schedule, *, now: datetime | None = None, allow_past: bool = False) -> None:
    """Raise a ValidationError keyed by field for anything a host could get wrong."""
    now = now or timezone.now()
    errors: dict[str, list[str]] = {}

    def error(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    if not MIN_DURATION_MINUTES <= schedule.duration_minutes <= MAX_DURATION_MINUTES:
        error(
            "duration_minutes",
            f"A meeting lasts between {MIN_DURATION_MINUTES} minutes and 24 hours.",
        )
    if schedule.recurrence not in Recurrence.values:
        error("recurrence", "Choose how the meeting repeats.")
    elif schedule.recurrence != Recurrence.NONE:
        if not 1 <= schedule.interval <= MAX_INTERVAL:
            error("interval", f"Repeat every 1 to {MAX_INTERVAL} periods.")
        if schedule.recurrence == Recurrence.WEEKLY:
            if not schedule.weekdays:
                error("weekdays", "Choose at least one day of the week.")
            elif any(day not in range(7) for day in schedule.weekdays):
                error("weekdays", "Days of the week are numbered 0 (Monday) to 6 (Sunday).")
        if schedule.until is None and schedule.count is None:
            error("until", "Give an end date or a number of occurrences.")
        if schedule.until is not None and schedule.count is not None:
            error("count", "Give an end date or a number of occurrences, not both.")
        if schedule.count is not None and not 1 <= schedule.count <= MAX_OCCURRENCES:
            error("count", f"A series has between 1 and {MAX_OCCURRENCES} occurrences.")
        if schedule.until is not None:
            if schedule.until < schedule.starts_on:
                error("until", "The end date is before the first meeting.")
            elif schedule.until - schedule.starts_on > MAX_SERIES_SPAN:
                error("until", "A series can run for at most two years.")
    if errors:
        raise ValidationError(errors)
    starts = occurrence_starts(schedule)
    if not starts:
        raise ValidationError({"weekdays": ["This pattern has no meeting before its end date."]})
    if len(starts) > MAX_OCCURRENCES:
        raise ValidationError(
            {"until": [f"A series has at most {MAX_OCCURRENCES} occurrences: end it sooner."]}
        )
    first = schedule.first_local_start()
    if to_utc(first, schedule.zone).astimezone(schedule.zone).replace(tzinfo=None) != first:
        raise ValidationError(
            {
                "start_time": [
                    f"{first:%H:%M} does not exist on that day in {schedule.time_zone}: "
                    "the clocks go forward. Choose another time."
                ]
            }
        )
    if not allow_past and starts[0] < now - PAST_START_GRACE:
        raise ValidationError({"starts_on": ["The start time is in the past."]})
