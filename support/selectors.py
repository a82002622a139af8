"""Reads for the contact tickets: the staff queue, one ticket, who to notify."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When

from accounts.models import User

from .access import roles_for_topic
from .models import Ticket, TicketReply

Status = Ticket.Status

# Open first, then answered, then closed; within each, the longest waiting first.
_STATUS_RANK = Case(
    When(status=Status.OPEN, then=Value(0)),
    When(status=Status.ANSWERED, then=Value(1)),
    default=Value(2),
    output_field=IntegerField(),
)


def ticket_queue(
    *, topics: Iterable[str], status: str = "", topic: str = "", search: str = ""
) -> QuerySet[Ticket]:
    """Tickets in `topics` (what the viewer may see), narrowed by the filters given."""
    tickets = Ticket.objects.filter(topic__in=list(topics))
    if status:
        tickets = tickets.filter(status=status)
    if topic:
        tickets = tickets.filter(topic=topic)
    search = search.strip()
    if search:
        tickets = tickets.filter(Q(reference__icontains=search) | Q(email__icontains=search))
    return tickets.annotate(status_rank=_STATUS_RANK).order_by("status_rank", "created_at", "pk")


def ticket_for_staff(*, reference: str, topics: Iterable[str]) -> Ticket | None:
    """The ticket, or None when it does not exist or is outside the viewer's topics."""
    return Ticket.objects.filter(reference=reference, topic__in=list(topics)).first()


def ticket_history(*, ticket: Ticket) -> list[TicketReply]:
    return list(ticket.replies.all())


def staff_emails_for_topic(*, topic: str) -> list[str]:
    """Active members of the groups that handle `topic`.

    Group members only: a superuser sees the queue but is mailed only when they joined
    one of the groups.
    """
    return list(
        User.objects.filter(is_active=True, groups__name__in=roles_for_topic(topic))
        .order_by("email")
        .values_list("email", flat=True)
        .distinct()
    )
