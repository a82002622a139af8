"""Contests for tests: open now unless told otherwise, entries made through the service."""

from datetime import date, timedelta
from typing import Any

from django.utils import timezone

from contests import services
from contests.eligibility import Statement
from contests.models import Contest, ContestEntry

RULES = "# Official rules\n\nOne entry per person. Winners drawn at random."


def make_contest(**overrides: Any) -> Contest:
    now = timezone.now()
    fields: dict[str, Any] = {
        "slug": "summer-draw",
        "title": "Summer draw",
        "rules_markdown": RULES,
        "prize": "A year of the Business plan",
        "time_zone": "America/New_York",
        "starts_at": now - timedelta(days=1),
        "ends_at": now + timedelta(days=7),
        "free_entry_method": "Enter on this page; no purchase or account is needed.",
        "allowed_countries": ["US", "CA"],
        "allowed_us_states": [],
    }
    fields.update(overrides)
    return services.create_contest(**fields)


def eligible(**overrides: Any) -> Statement:
    fields: dict[str, Any] = {
        "country": "US",
        "us_state": "CA",
        "age_confirmed": True,
        "rules_accepted": True,
    }
    fields.update(overrides)
    return Statement(**fields)


def enter(
    contest: Contest,
    *,
    user: Any = None,
    name: str = "Ada Lovelace",
    email: str = "ada@example.com",
    statement: Statement | None = None,
    marketing_opt_in: bool = False,
) -> ContestEntry:
    return services.enter(
        contest=contest,
        user=user,
        name=name,
        email=email,
        statement=statement or eligible(),
        marketing_opt_in=marketing_opt_in,
    ).entry


def confirmed_entries(contest: Contest, count: int) -> list[ContestEntry]:
    """`count` confirmed non-account entries, as if each had clicked their link."""
    entries = []
    for index in range(count):
        entry = enter(contest, name=f"Entrant{index} Person", email=f"e{index}@example.com")
        entries.append(services.confirm_entry(entry=entry))
    return entries


def birth_date_years_ago(years: int, *, today: date, days: int = 0) -> date:
    return today.replace(year=today.year - years) + timedelta(days=days)


def matrix_contest() -> tuple[Contest, str]:
    """The authorization matrix's contest: open, with one confirmed and one pending entry
    (whose confirmation token it returns)."""
    contest = make_contest(slug="matrix-contest")
    services.confirm_entry(entry=enter(contest, name="Eve Entrant", email="entrant@example.com"))
    pending = enter(contest, name="Pat Pending", email="pending@example.com")
    return contest, services.make_confirm_token(pending)
