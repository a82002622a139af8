"""One deadline engine for every privacy law's clock.

A clock counts either calendar days or business days; business days skip weekends and
US federal holidays (5 U.S.C. 6103, with the observed-day rule: a Saturday holiday is
kept on the Friday before, a Sunday one on the Monday after). Day one of any clock is
the day after receipt.

Every date a clock starts from or is read on is a California date
(`settings.PRIVACY_LEGAL_TIME_ZONE`), never the server's or the viewer's: a request sent
at 17:30 on a Wednesday in California was received on that Wednesday, though it is
already Thursday in UTC.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from functools import cache
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone


class DayKind(StrEnum):
    CALENDAR = "calendar"
    BUSINESS = "business"


@dataclass(frozen=True)
class Clock:
    name: str
    days: int
    kind: DayKind
    basis: str  # where the rule comes from, shown to staff next to the due date

    def due(self, received: date) -> date:
        return add_days(received, self.days, self.kind)

    def describe(self) -> str:
        return f"{self.days} {self.kind} days ({self.basis})"


SHINE_THE_LIGHT = Clock("Shine the Light notice", 30, DayKind.CALENDAR, "Cal. Civ. Code 1798.83(b)")
SHINE_THE_LIGHT_ELSEWHERE = Clock(
    "Shine the Light notice, received elsewhere",
    150,
    DayKind.CALENDAR,
    "Cal. Civ. Code 1798.83(b)",
)
CCPA_CONFIRM_RECEIPT = Clock(
    "Confirm receipt", 10, DayKind.BUSINESS, "Cal. Code Regs. tit. 11 § 7021(a)"
)
CCPA_RESPOND = Clock("Respond", 45, DayKind.CALENDAR, "Cal. Civ. Code 1798.130(a)(2)")
CCPA_EXTENSION = Clock(
    "Respond, extended once", 90, DayKind.CALENDAR, "Cal. Civ. Code 1798.130(a)(2)"
)
CCPA_OPT_OUT = Clock(
    "Act on opt-out or limit", 15, DayKind.BUSINESS, "Cal. Code Regs. tit. 11 §§ 7026(f), 7027(g)"
)


def legal_zone() -> ZoneInfo:
    return ZoneInfo(settings.PRIVACY_LEGAL_TIME_ZONE)


def legal_date(moment: datetime) -> date:
    """The California date of an aware moment: the day a legal clock counts from."""
    if timezone.is_naive(moment):
        # A naive time would be read in the server's zone, the very mistake this avoids.
        raise ValueError("A legal date needs an aware datetime.")
    return moment.astimezone(legal_zone()).date()


def legal_today() -> date:
    return legal_date(timezone.now())


def legal_moment(day: date, at: time = time.min) -> datetime:
    """The aware moment at `at` on a California date, e.g. the start of a legal day."""
    return datetime.combine(day, at, tzinfo=legal_zone())


def legal_year(year: int) -> tuple[datetime, datetime]:
    """The start of a California calendar year and of the next one."""
    return legal_moment(date(year, 1, 1)), legal_moment(date(year + 1, 1, 1))


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The n-th `weekday` (0 = Monday) of a month; n = -1 is the last one."""
    days = [
        day
        for day in calendar.Calendar().itermonthdates(year, month)
        if day.month == month and day.weekday() == weekday
    ]
    return days[n if n < 0 else n - 1]


def _observed(day: date) -> date:
    if day.weekday() == 5:
        return day - timedelta(days=1)
    if day.weekday() == 6:
        return day + timedelta(days=1)
    return day


@cache
def federal_holidays(year: int) -> dict[date, str]:
    """The observed US federal holidays that fall in `year`."""
    holidays: dict[date, str] = {}
    # A Saturday New Year's Day is observed on December 31 of the year before.
    for source_year in (year, year + 1):
        observed = _observed(date(source_year, 1, 1))
        if observed.year == year:
            holidays[observed] = "New Year's Day"
    fixed = [
        (6, 19, "Juneteenth National Independence Day"),
        (7, 4, "Independence Day"),
        (11, 11, "Veterans Day"),
        (12, 25, "Christmas Day"),
    ]
    for month, day, name in fixed:
        if name.startswith("Juneteenth") and year < 2021:
            continue
        holidays[_observed(date(year, month, day))] = name
    holidays[_nth_weekday(year, 1, 0, 3)] = "Birthday of Martin Luther King, Jr."
    holidays[_nth_weekday(year, 2, 0, 3)] = "Washington's Birthday"
    holidays[_nth_weekday(year, 5, 0, -1)] = "Memorial Day"
    holidays[_nth_weekday(year, 9, 0, 1)] = "Labor Day"
    holidays[_nth_weekday(year, 10, 0, 2)] = "Columbus Day"
    holidays[_nth_weekday(year, 11, 3, 4)] = "Thanksgiving Day"
    return holidays


def is_business_day(day: date) -> bool:
    return day.weekday() < 5 and day not in federal_holidays(day.year)


def add_days(start: date, days: int, kind: DayKind) -> date:
    """The date `days` days of `kind` after `start` (which itself does not count)."""
    if kind == DayKind.CALENDAR:
        return start + timedelta(days=days)
    day, counted = start, 0
    while counted < days:
        day += timedelta(days=1)
        if is_business_day(day):
            counted += 1
    return day


def days_left(due: date, today: date, kind: DayKind) -> int:
    """Days of `kind` from `today` until `due`; negative once overdue."""
    if kind == DayKind.CALENDAR:
        return (due - today).days
    step = 1 if due >= today else -1
    count, day = 0, today
    while day != due:
        day += timedelta(days=step)
        if is_business_day(day):
            count += step
    return count
