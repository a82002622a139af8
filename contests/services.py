"""Contest writes: creating a contest, entering it, confirming an entry by email.

The draw and the retention purge live in draws.py; both are claimed with a conditional
UPDATE, so a double click or a second worker cannot run them twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from common.signed_links import BadSignedValue, ExpiredSignedValue, sign, unsign
from privacy import mailer
from privacy import services as privacy_services
from privacy.email_categories import MARKETING_CATEGORIES, Category

from .eligibility import PENDING_ENTRY_LIFETIME, Statement, is_open, local_time, problems
from .models import Contest, ContestEntry

_CONFIRM_SALT = "contests.entry.confirm"
CONFIRMATIONS_PER_ENTRY = 3


class EntriesClosed(Exception):
    def __init__(self, contest: Contest) -> None:
        super().__init__(
            "The draw has taken place: this contest takes no more entries."
            if contest.drawn_at
            else "This contest is not open for entries."
        )


class AlreadyEntered(Exception):
    message = "You have already entered this contest: one entry per person."


class NotEligible(Exception):
    def __init__(self, reasons: dict[str, str]) -> None:
        super().__init__("; ".join(reasons.values()))
        self.reasons = reasons


class TooManyConfirmations(Exception):
    message = (
        "We have already sent this address three confirmation links for this contest. "
        "Please use the link in one of them."
    )


class BadConfirmation(Exception):
    pass


# Creating and editing -----------------------------------------------------------------


class ContestStarted(Exception):
    message = "This contest has opened: its rules and settings can no longer change."


def create_contest(
    *,
    slug: str,
    title: str,
    rules_markdown: str,
    prize: str,
    time_zone: str,
    starts_at: datetime,
    ends_at: datetime,
    free_entry_method: str,
    allowed_countries: list[str],
    allowed_us_states: list[str],
    minimum_age: int = 18,
    ask_birth_date: bool = False,
    winners_count: int = 1,
    retention_months: int = 12,
    created_by: Any = None,
) -> Contest:
    return Contest.objects.create(
        slug=slug,
        title=title,
        rules_markdown=rules_markdown,
        prize=prize,
        time_zone=time_zone,
        starts_at=starts_at,
        ends_at=ends_at,
        free_entry_method=free_entry_method,
        allowed_countries=sorted(set(allowed_countries)),
        allowed_us_states=sorted(set(allowed_us_states)),
        minimum_age=minimum_age,
        ask_birth_date=ask_birth_date,
        winners_count=winners_count,
        retention_months=retention_months,
        created_by=created_by,
    )


def update_contest(
    *,
    contest: Contest,
    slug: str,
    title: str,
    rules_markdown: str,
    prize: str,
    time_zone: str,
    starts_at: datetime,
    ends_at: datetime,
    free_entry_method: str,
    allowed_countries: list[str],
    allowed_us_states: list[str],
    minimum_age: int,
    ask_birth_date: bool,
    winners_count: int,
    retention_months: int,
) -> None:
    """Change a contest until it opens; from then on its rules bind, so no change."""
    updated = Contest.objects.filter(pk=contest.pk, starts_at__gt=timezone.now()).update(
        slug=slug,
        title=title,
        rules_markdown=rules_markdown,
        prize=prize,
        time_zone=time_zone,
        starts_at=starts_at,
        ends_at=ends_at,
        free_entry_method=free_entry_method,
        allowed_countries=sorted(set(allowed_countries)),
        allowed_us_states=sorted(set(allowed_us_states)),
        minimum_age=minimum_age,
        ask_birth_date=ask_birth_date,
        winners_count=winners_count,
        retention_months=retention_months,
    )
    if not updated:
        raise ContestStarted()
    contest.refresh_from_db()


# Entering ----------------------------------------------------------------------------


@dataclass(frozen=True)
class EntryResult:
    entry: ContestEntry
    # True when the entry counts only once the emailed link is confirmed.
    needs_confirmation: bool
    # The address had a confirmed entry: the email says so, the page does not.
    already_entered: bool = False


def enter(
    *,
    contest: Contest,
    user: Any,
    name: str,
    email: str,
    statement: Statement,
    marketing_opt_in: bool,
) -> EntryResult:
    """One entry per person: per account, and per address in any letter case.

    A signed-in entrant's entry counts at once (the account is who they are); anyone
    else's counts when they confirm the link we email. A pending entry for the same
    address is updated and its link sent again, so a stranger cannot block an address.
    Someone signed out who types an address that has entered gets the same answer as a
    new entrant, and the address an email saying it has entered: the page must not tell
    a visitor whether someone else took part.
    """
    now = timezone.now()
    if not is_open(contest, now):
        raise EntriesClosed(contest)
    reasons = problems(contest, statement, today=local_time(contest, now).date())
    if reasons:
        raise NotEligible(reasons)
    account = user if user is not None and user.is_authenticated else None
    email = (account.email if account else email).strip().lower()
    fields = {
        "name": " ".join(name.split()),
        "birth_date": statement.birth_date if contest.ask_birth_date else None,
        "age_confirmed": not contest.ask_birth_date and statement.age_confirmed,
        "country": statement.country,
        "us_state": statement.us_state if statement.country == "US" else "",
        "rules_accepted": statement.rules_accepted,
        "marketing_opt_in": marketing_opt_in,
    }
    same_person = Q(email__iexact=email) | (Q(user=account) if account else Q())
    try:
        with transaction.atomic():
            existing = (
                ContestEntry.objects.select_for_update()
                .filter(same_person, contest=contest)
                .first()
            )
            if existing is not None and existing.verified_at is not None:
                if account is not None:
                    raise AlreadyEntered()
                _send_confirmation(entry=existing, contest=contest)
                return EntryResult(existing, needs_confirmation=True, already_entered=True)
            if existing is None:
                entry = ContestEntry.objects.create(contest=contest, email=email, **fields)
            else:
                ContestEntry.objects.filter(pk=existing.pk).update(**fields)
                entry = existing
            if account is None:
                _send_confirmation(entry=entry, contest=contest)
                entry.refresh_from_db()
                return EntryResult(entry=entry, needs_confirmation=True)
            ContestEntry.objects.filter(pk=entry.pk).update(user=account, verified_at=now)
            if marketing_opt_in:
                _subscribe(email)
    except IntegrityError as exc:  # the same person, at the same moment, in another request
        raise AlreadyEntered() from exc
    entry.refresh_from_db()
    return EntryResult(entry=entry, needs_confirmation=False)


def _subscribe(email: str) -> None:
    """The entry form's marketing box means what the sign-up form's does: every marketing
    category, each choice written to the consent log as coming from the contest entry."""
    privacy_services.set_preferences(
        email=email,
        choices={category: True for category in MARKETING_CATEGORIES},
        source=privacy_services.Source.CONTEST_ENTRY,
    )


def _send_confirmation(*, entry: ContestEntry, contest: Contest) -> None:
    claimed = ContestEntry.objects.filter(
        pk=entry.pk, confirmations_sent__lt=CONFIRMATIONS_PER_ENTRY
    ).update(confirmations_sent=F("confirmations_sent") + 1, confirmation_sent_at=timezone.now())
    if not claimed:
        raise TooManyConfirmations()
    context = {
        "contest": contest,
        "page": settings.SITE_URL + reverse("contests:detail", args=[contest.slug]),
        "url": settings.SITE_URL + reverse("contests:confirm", args=[make_confirm_token(entry)]),
        "days": PENDING_ENTRY_LIFETIME.days,
        "site_name": settings.SITE_NAME,
        "postal_address": settings.COMPANY_POSTAL_ADDRESS,
    }
    # An entry already confirmed gets no new link, only word that it counts.
    template = "already_entered" if entry.verified_at else "confirm_entry"
    mailer.send_email(
        to=entry.email,
        subject=f"{'Your entry' if entry.verified_at else 'Confirm your entry'}: {contest.title}",
        text=render_to_string(f"contests/email/{template}.txt", context),
        html=render_to_string(f"contests/email/{template}.html", context),
        category=Category.TRANSACTIONAL,
    )


# Confirming --------------------------------------------------------------------------


def make_confirm_token(entry: ContestEntry) -> str:
    return sign({"entry": str(entry.public_id)}, salt=_CONFIRM_SALT)


def entry_for_token(token: str) -> ContestEntry:
    """The entry a confirmation link names, or BadConfirmation with a reason to show."""
    try:
        data = unsign(token, salt=_CONFIRM_SALT, max_age=PENDING_ENTRY_LIFETIME)
    except ExpiredSignedValue as exc:
        raise BadConfirmation("This confirmation link has expired. Please enter again.") from exc
    except BadSignedValue as exc:
        raise BadConfirmation("This confirmation link is not valid.") from exc
    public_id = data.get("entry") if isinstance(data, dict) else None
    entry = (
        ContestEntry.objects.select_related("contest").filter(public_id=public_id).first()
        if isinstance(public_id, str) and len(public_id) == 36
        else None
    )
    if entry is None:
        raise BadConfirmation("This entry no longer exists. Please enter again.")
    return entry


def confirm_entry(*, entry: ContestEntry) -> ContestEntry:
    """The link was opened and the button pressed: the entry counts from now on.

    Entries received before the close may be confirmed until the draw, never after it.
    Confirming twice changes nothing.
    """
    with transaction.atomic():
        confirmed = ContestEntry.objects.filter(
            pk=entry.pk, verified_at__isnull=True, contest__drawn_at__isnull=True
        ).update(verified_at=timezone.now())
        entry.refresh_from_db()
        if not confirmed and entry.verified_at is None:
            raise EntriesClosed(entry.contest)
        if confirmed and entry.marketing_opt_in:
            _subscribe(entry.email)
    return entry


def stale_pending_entries(*, now: datetime) -> QuerySet[ContestEntry]:
    """Entries whose confirmation link has expired unused."""
    cutoff = now - PENDING_ENTRY_LIFETIME - timedelta(minutes=5)
    return ContestEntry.objects.filter(
        Q(confirmation_sent_at__lt=cutoff)
        | Q(confirmation_sent_at__isnull=True, created_at__lt=cutoff),
        verified_at__isnull=True,
    )
