"""Reads for the privacy request pages: the staff queue, one request, the ledger."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.db.models import Q, QuerySet

from privacy import deadlines
from privacy.deadlines import Clock
from privacy.models import Disclosure, PrivacyRequest, PrivacyRequestEvent, ThirdParty

from . import clocks, states
from .access_export import awaiting_release

State = PrivacyRequest.State
# A queue filter, not a stage: built access exports that wait for a privacy admin.
AWAITING_RELEASE = "awaiting_release"


@dataclass(frozen=True)
class ClockStatus:
    """Where a request stands against its answer clock, counted in that clock's days."""

    clock: Clock | None
    is_open: bool
    days_left: int | None
    overdue: bool

    @property
    def overdue_by(self) -> int:
        return -self.days_left if self.days_left is not None and self.days_left < 0 else 0

    @property
    def day_kind(self) -> str:
        return str(self.clock.kind) if self.clock else "calendar"


def clock_status(request: PrivacyRequest, *, today: date) -> ClockStatus:
    try:
        clock: Clock | None = clocks.clock_named(request.clock)
    except LookupError:
        clock = None
    is_open = request.state in states.OPEN
    if not is_open:
        return ClockStatus(clock, False, None, False)
    kind = clock.kind if clock else deadlines.DayKind.CALENDAR
    left = deadlines.days_left(request.due_on, today, kind)
    return ClockStatus(clock, True, left, request.due_on < today)


@dataclass(frozen=True)
class QueueRow:
    request: PrivacyRequest
    status: ClockStatus


def request_queue(
    *, state: str = "", kind: str = "", overdue: bool = False, today: date, limit: int = 500
) -> list[QueueRow]:
    """Open requests first, soonest due at the top; then closed ones, latest closed first."""
    rows: QuerySet[PrivacyRequest] = PrivacyRequest.objects.all()
    if state == "open":
        rows = rows.filter(state__in=states.OPEN)
    elif state == AWAITING_RELEASE:
        rows = rows.filter(awaiting_release())
    elif state:
        rows = rows.filter(state=state)
    if kind:
        rows = rows.filter(kind=kind)
    if overdue:
        rows = rows.filter(state__in=states.OPEN, due_on__lt=today)
    open_rows = list(rows.filter(state__in=states.OPEN).order_by("due_on", "received_at")[:limit])
    closed_rows = list(
        rows.exclude(state__in=states.OPEN).order_by("-closed_at", "-received_at")[
            : limit - len(open_rows)
        ]
    )
    return [QueueRow(row, clock_status(row, today=today)) for row in [*open_rows, *closed_rows]]


def request_by_reference(reference: str) -> PrivacyRequest | None:
    return PrivacyRequest.objects.select_related("user").filter(reference=reference).first()


def request_history(request: PrivacyRequest) -> list[PrivacyRequestEvent]:
    return list(request.events.select_related("actor"))


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def ledger(
    *,
    third_party: ThirdParty | None = None,
    purpose: str = "",
    personal: str = "",
    since: date | None = None,
    until: date | None = None,
) -> QuerySet[Disclosure]:
    """Ledger rows, newest first; dates are whole UTC days, `until` included."""
    rows = Disclosure.objects.select_related("third_party", "user", "recorded_by")
    if third_party is not None:
        rows = rows.filter(third_party=third_party)
    if purpose:
        rows = rows.filter(purpose=purpose)
    if personal in ("yes", "no"):
        rows = rows.filter(personal=personal == "yes")
    if since:
        rows = rows.filter(at__gte=_day_start(since))
    if until:
        rows = rows.filter(at__lt=_day_start(until + timedelta(days=1)))
    return rows.order_by("-at", "-pk")


def third_parties() -> QuerySet[ThirdParty]:
    return ThirdParty.objects.order_by("-active", "name")


def open_count() -> int:
    return PrivacyRequest.objects.filter(state__in=states.OPEN).count()


def awaiting_release_count() -> int:
    return PrivacyRequest.objects.filter(awaiting_release()).count()


def overdue_count(*, today: date) -> int:
    return PrivacyRequest.objects.filter(Q(state__in=states.OPEN), due_on__lt=today).count()


def today() -> date:
    """Deadlines are California dates, whoever looks at them and wherever the server is."""
    return deadlines.legal_today()


def request_from_ticket(reference: str) -> PrivacyRequest | None:
    """The privacy request a contact ticket was turned into, if it was."""
    return PrivacyRequest.objects.filter(details__from_ticket=reference).first()
