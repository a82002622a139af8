"""Who may enter a contest, when, and the contest's clock (its own time zone).

Pure functions over a contest and what the entrant stated, so the form, the service and
the tests all ask the same questions.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from accounts.age_screen import age_on

from .models import YOUNGEST_ALLOWED, Contest
from .regions import COUNTRIES, US_STATES


class LocalTimeError(ValueError):
    """A wall-clock time that the zone skips (spring forward) or shows twice (fall back)."""


def aware_in_zone(local: datetime, zone: str) -> datetime:
    """`local` (naive wall-clock time in `zone`) as an aware datetime, or LocalTimeError."""
    tz = ZoneInfo(zone)
    first = local.replace(tzinfo=tz, fold=0)
    second = local.replace(tzinfo=tz, fold=1)
    if first.utcoffset() != second.utcoffset():
        round_trip = first.astimezone(ZoneInfo("UTC")).astimezone(tz).replace(tzinfo=None)
        if round_trip != local:
            raise LocalTimeError(
                f"{local:%Y-%m-%d %H:%M} does not exist in {zone} (the clocks skip it)."
            )
        raise LocalTimeError(
            f"{local:%Y-%m-%d %H:%M} happens twice in {zone} (the clocks go back); "
            "pick a time outside that hour."
        )
    return first


def local_time(contest: Contest, moment: datetime) -> datetime:
    return moment.astimezone(ZoneInfo(contest.time_zone))


def wall_clock(contest: Contest, moment: datetime) -> str:
    """`moment` as the contest's zone shows it. Formatted here: a template's date filter
    would turn it into the viewer's zone first."""
    return f"{local_time(contest, moment):%Y-%m-%d %H:%M}"


def is_open(contest: Contest, now: datetime) -> bool:
    return contest.starts_at <= now < contest.ends_at and contest.drawn_at is None


def add_months(moment: datetime, months: int) -> datetime:
    """The same day and time `months` later; the 31st becomes the month's last day."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def purge_due_at(contest: Contest) -> datetime:
    """When the contest's entries go: the retention after the draw, or after the end if
    no draw ever happened (nobody keeps entries of a forgotten contest for ever)."""
    start = contest.drawn_at or contest.ends_at
    return add_months(start, contest.retention_months)


PENDING_ENTRY_LIFETIME = timedelta(days=7)  # as long as the confirmation link works


@dataclass(frozen=True)
class Statement:
    """What an entrant says about themself on the form."""

    country: str
    us_state: str = ""
    birth_date: date | None = None
    age_confirmed: bool = False
    rules_accepted: bool = False


def problems(contest: Contest, statement: Statement, *, today: date) -> dict[str, str]:
    """Field name to the reason the entrant may not enter; empty when they may.

    `today` is the date in the contest's zone: an age is reached on that calendar.
    """
    found: dict[str, str] = {}
    if not statement.rules_accepted:
        found["rules_accepted"] = "Please confirm you have read and accept the official rules."
    if contest.ask_birth_date:
        if statement.birth_date is None:
            found["birth_date"] = "Please give your date of birth."
        elif statement.birth_date > today:
            found["birth_date"] = "Please check the date of birth."
        elif age_on(statement.birth_date, today) < max(contest.minimum_age, YOUNGEST_ALLOWED):
            found["birth_date"] = (
                f"Sorry, entrants must be at least {contest.minimum_age} years old."
            )
    elif not statement.age_confirmed:
        found["age_confirmed"] = (
            f"Entrants must be at least {contest.minimum_age} years old; please confirm you are."
        )
    if statement.country not in COUNTRIES or statement.country not in contest.allowed_countries:
        found["country"] = "Sorry, this contest is not open to residents of that country."
    elif statement.country == "US":
        if statement.us_state not in US_STATES:
            found["us_state"] = "Please pick your state."
        elif contest.allowed_us_states and statement.us_state not in contest.allowed_us_states:
            found["us_state"] = "Sorry, this contest is not open to residents of that state."
    return found


def where_label(country: str, us_state: str) -> str:
    """What the winners list shows of where someone lives: the state, else the country."""
    if country == "US" and us_state:
        return US_STATES.get(us_state, us_state)
    return COUNTRIES.get(country, country)
