"""Whose data a privacy request is about, and the shapes every app's privacy module speaks.

Each app has a ``privacy_data`` module with ``export_for(subject)`` and
``erase_for(subject, *, dry_run)``; ``privacy.requests.data_map`` runs them all. A person
is an account, or only an email address (an attendee who never signed up).
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal, Protocol

from allauth.account.models import EmailAddress
from django.db.models import Model, Q

from accounts.models import User

Row = dict[str, Any]
# One app's export: section name ("meetings_hosted", "attendance", ...) to its rows.
AppData = dict[str, list[Row]]
# "cancelled": a running service (a paid subscription) stopped, after the erasure commits.
Action = Literal["deleted", "anonymised", "cancelled", "kept"]

# Stand-ins for what erasure removes. Nothing of the original survives in them.
REMOVED_NAME = "Removed participant"
REMOVED_DOMAIN = "removed.invalid"
# What an erased privacy request keeps in place of the requester's name.
ERASED_NAME = "(erased)"


def placeholder_email() -> str:
    """A fresh address that names nobody; unique, so counts per address stay right."""
    return f"removed-{secrets.token_hex(8)}@{REMOVED_DOMAIN}"


def _normalise(email: str) -> str:
    return email.strip().lower()


def matchable_name(name: str) -> bool:
    """Whether a name is distinctive enough to look for in free text.

    Only a full name of at least two words, or one word of at least four letters, is
    matched: a one- or three-letter name ("Al", "Pat") would hit unrelated text and
    erasure would blank other people's messages.
    """
    name = " ".join(name.split())
    return len(name.split(" ")) >= 2 or len(name) >= 4


@dataclass(frozen=True)
class Subject:
    """A person: their account if they have one, and the address(es) they are known by."""

    user: User | None
    email: str
    # The account's other verified addresses (allauth), which also name this person.
    other_emails: tuple[str, ...] = field(default=())
    # Their full names, as the account and their privacy requests give them; only names
    # distinctive enough to search free text for (see ``matchable_name``).
    names: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if not self.email or "@" not in self.email:
            raise ValueError("A subject needs an email address.")
        object.__setattr__(self, "email", _normalise(self.email))
        names = {" ".join(name.split()) for name in self.names}
        object.__setattr__(self, "names", tuple(sorted(n for n in names if matchable_name(n))))

    @classmethod
    def for_user(cls, user: User) -> Subject:
        others = _other_addresses(user, user.email)
        return cls(
            user=user,
            email=user.email,
            other_emails=others,
            names=_names(user, (user.email, *others)),
        )

    @classmethod
    def for_email(cls, email: str) -> Subject:
        """The person behind `email`, with their account when one has that address."""
        email = _normalise(email)
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            return cls(user=None, email=email, names=_names(None, (email,)))
        others = _other_addresses(user, email)
        return cls(
            user=user, email=email, other_emails=others, names=_names(user, (email, *others))
        )

    @property
    def emails(self) -> tuple[str, ...]:
        return (self.email, *self.other_emails)

    @property
    def terms(self) -> tuple[str, ...]:
        """Everything that names them in free text: addresses and full names, lower case."""
        return (*self.emails, *(name.lower() for name in self.names))

    def mentions(self, text: str) -> bool:
        text = text.lower()
        return any(term in text for term in self.terms)

    def email_q(self, field_name: str) -> Q:
        """Rows whose `field_name` is one of this person's addresses, in any letter case."""
        query = Q()
        for address in self.emails:
            query |= Q(**{f"{field_name}__iexact": address})
        return query

    def mentioned_q(self, *field_names: str) -> Q:
        """Rows with one of this person's addresses or names anywhere inside one of the fields."""
        query = Q()
        for name in field_names:
            for term in self.terms:
                query |= Q(**{f"{name}__icontains": term})
        return query


def _other_addresses(user: User, primary: str) -> tuple[str, ...]:
    addresses = EmailAddress.objects.filter(user=user, verified=True).values_list(
        "email", flat=True
    )
    primary = _normalise(primary)
    others = {_normalise(address) for address in addresses} - {primary}
    if _normalise(user.email) != primary:
        others.add(_normalise(user.email))
    return tuple(sorted(others))


def _names(user: User | None, emails: Sequence[str]) -> tuple[str, ...]:
    """The account's full name and the names given on their privacy requests."""
    from privacy.models import PrivacyRequest

    query = Q()
    for address in emails:
        query |= Q(email__iexact=address)
    if user is not None:
        query |= Q(user=user)
    names = set(PrivacyRequest.objects.filter(query).values_list("name", flat=True))
    if user is not None:
        names.add(user.full_name)
    return tuple(names - {ERASED_NAME, REMOVED_NAME})


@dataclass(frozen=True)
class ErasureLine:
    """One line of the erasure summary: what happens (or happened) to which rows, and why."""

    app: str
    what: str
    count: int
    action: Action
    reason: str = ""
    # For kept rows: the columns kept, as "app_label.Model.column"; nothing else of the
    # rows may still name the person.
    columns: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.action not in ("deleted", "anonymised", "cancelled", "kept"):
            raise ValueError(f"Unknown erasure action {self.action!r}.")
        if self.action == "kept" and not self.reason.strip():
            raise ValueError("Say why rows are kept.")
        if self.count < 0:
            raise ValueError("A count cannot be negative.")
        if self.columns and self.action != "kept":
            raise ValueError("Only kept rows name the columns they keep.")


def columns_of(model: type[Model], *, leaving_out: Sequence[str] = ()) -> tuple[str, ...]:
    """A kept line's columns: every column of `model` but those erasure clears."""
    return tuple(
        f"{model._meta.label}.{field.name}"
        for field in model._meta.concrete_fields
        if field.name not in leaving_out
    )


class PrivacyModule(Protocol):
    """What every app's ``privacy_data`` module provides."""

    APP: str

    def export_for(self, subject: Subject) -> AppData: ...

    def erase_for(self, subject: Subject, *, dry_run: bool) -> list[ErasureLine]: ...


def lines_with_rows(lines: Sequence[ErasureLine]) -> list[ErasureLine]:
    """The summary shows what touches something; empty lines are noise."""
    return [line for line in lines if line.count]


def jsonable(value: Any) -> Any:
    """A value as JSON can carry it: ISO 8601 times and dates, UUIDs as text."""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    return value


def row(**values: Any) -> Row:
    return {key: jsonable(value) for key, value in values.items()}
