"""Deleting one's own account from settings: the same erasure as a deletion request.

The account holder has just entered their password again, so the request is filed
verified, on the account-settings channel, with them as its actor, and carried out at
once through ``services.erase``: the same dry run staff read, the same service providers
told, the same history, and the completion email goes to the address before the send
log forgets it. The receipt email ``submit`` queues never leaves: it is an email to
them, which the erasure deletes; the completion email, sent after, confirms both.

The dry run's lines are written for staff; ``readable`` groups them and words them for
the person whose data they are.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

from django.db import transaction

from accounts.models import User
from privacy.models import PrivacyRequest
from privacy.subjects import ErasureLine, Subject

from . import provider_directions, services

Kind = PrivacyRequest.Kind
Channel = PrivacyRequest.Channel


@dataclass(frozen=True)
class Entry:
    area: str
    text: str
    count: int
    reason: str = ""


@dataclass(frozen=True)
class Group:
    heading: str
    entries: tuple[Entry, ...]


@dataclass(frozen=True)
class AccountDeletion:
    """What was done, for the page the person sees last."""

    reference: str
    groups: tuple[Group, ...]
    # The service providers directed to delete, by name; whether Stripe is among them
    # (asked through its API to delete their customer record).
    providers_told: tuple[str, ...]
    stripe_told: bool


def preview(*, user: User) -> tuple[Group, ...]:
    """What deleting the account would do: the staff dry run, for the person."""
    return readable(provider_directions.dry_run(subject=Subject.for_user(user)))


@transaction.atomic
def delete_own_account(*, user: User) -> AccountDeletion:
    """File a verified deletion request for the signed-in user and carry it out now.

    Call only after the user has re-authenticated. Raises ``services.RequestError`` when
    the account is already deleted (a double submit waits on the lock, then finds that).
    """
    account = User.objects.select_for_update().filter(pk=user.pk, deleted_at__isnull=True).first()
    if account is None or not account.is_active:
        raise services.RequestError("This account is already deleted.")
    directions = provider_directions.directions_for(Subject.for_user(account))
    told = [direction for direction in directions if not direction.by_hand]
    request = services.submit(
        kind=Kind.DELETE,
        channel=Channel.ACCOUNT_SETTINGS,
        name=account.full_name or account.email,
        email=account.email,
        # As the web form does for account holders: every deletion is answered as the
        # CCPA's, with its clock and record.
        california_resident=True,
        user=account,
        verified=True,
        reauthenticated=True,
        actor=account,
    )
    lines = services.erase(request=request, actor=account)
    # The lines carry the directions given; one left to staff is worded for the person too.
    by_hand = [direction.line() for direction in directions if direction.by_hand]
    return AccountDeletion(
        reference=request.reference,
        groups=readable([*lines, *by_hand]),
        providers_told=tuple(direction.party.name for direction in told),
        stripe_told=any(d.party.slug == provider_directions.STRIPE for d in told),
    )


AREAS = {
    "accounts": "Your account",
    "meetings": "Meetings",
    "recordings": "Recordings",
    "support": "Support",
    "billing": "Billing",
    "privacy": "Privacy and email records",
}
HEADINGS = {
    "deleted": "Deleted",
    "anonymised": "Kept without your name or address",
    "cancelled": "Cancelled",
    "kept": "Kept, and why",
}
PROVIDERS_HEADING = "What we ask our service providers"
BY_HAND = "our privacy team writes to them and asks them to delete your information"

# Staff wording to the person's: third person to second, database words to plain ones.
_PERSON = ((r"\bthe person's\b", "your"), (r"\bthe person\b", "you"))
# Not in reasons, where "them" means the records; "their shape" is the meetings'.
_PRONOUNS = ((r"\btheir\b(?! shape)", "your"), (r"\bthem\b", "you"))
# Not in providers' lines, where "they" means the provider.
_THEY = ((r"\bthey\b", "you"),)
_PLAIN = (
    (r"\bonce this erasure has committed\b", "once your account is deleted"),
    (r"\bthis erasure deletes or anonymises it\b", "deleting your account removes it"),
    (r"\berasure\b", "deletion"),
    (r"\brows\b", "records"),
    (r"\brow\b", "record"),
)
APP_WORDS = (*_PERSON, *_PRONOUNS, *_THEY, *_PLAIN)
PROVIDER_WORDS = (*_PERSON, *_PRONOUNS, *_PLAIN)
REASON_WORDS = (*_PERSON, *_PLAIN)


def _reword(text: str, words: Sequence[tuple[str, str]]) -> str:
    for pattern, word in words:
        text = re.sub(pattern, partial(_same_case, word), text)
    return text


def _same_case(word: str, match: re.Match[str]) -> str:
    """`word`, capitalised when what it replaces starts a sentence."""
    return word[0].upper() + word[1:] if match.group()[0].isupper() else word


def readable(lines: Sequence[ErasureLine]) -> tuple[Group, ...]:
    """The lines grouped by what happens to them, in the person's words."""
    grouped: dict[str, list[Entry]] = {heading: [] for heading in HEADINGS.values()}
    providers: list[Entry] = []
    for line in lines:
        if line.app == provider_directions.APP:
            name, asked = line.what.split(": ", 1)
            text = BY_HAND if line.action == "kept" else _reword(asked, PROVIDER_WORDS)
            providers.append(Entry(area=name, text=text, count=0))
            continue
        grouped[HEADINGS[line.action]].append(
            Entry(
                area=AREAS.get(line.app, line.app.capitalize()),
                text=_reword(line.what, APP_WORDS),
                count=line.count,
                reason=_reword(line.reason, REASON_WORDS) if line.reason else "",
            )
        )
    groups = [Group(heading, tuple(entries)) for heading, entries in grouped.items() if entries]
    if providers:
        groups.append(Group(PROVIDERS_HEADING, tuple(providers)))
    return tuple(groups)
