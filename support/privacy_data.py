"""A person's contact tickets for a privacy request: export and erasure.

The export has what they wrote and the answers they were sent; staff's internal notes
and the names of the staff who answered stay out. Erasure deletes their tickets, with
the answers and notes on them.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q, QuerySet

from privacy.subjects import AppData, ErasureLine, Subject, lines_with_rows, row

from .models import Ticket, TicketReply

APP = "support"
FORMER_STAFF = "A former member of staff"


def _tickets(subject: Subject) -> QuerySet[Ticket]:
    query = subject.email_q("email")
    if subject.user is not None:
        query |= Q(user=subject.user)
    return Ticket.objects.filter(query)


def _replies_written(subject: Subject, tickets: QuerySet[Ticket]) -> QuerySet[TicketReply]:
    """Answers and notes the person wrote as staff, on other people's tickets."""
    query = subject.email_q("author_label")
    if subject.user is not None:
        query |= Q(author=subject.user)
    return TicketReply.objects.filter(query).exclude(ticket__in=tickets)


def export_for(subject: Subject) -> AppData:
    tickets = list(_tickets(subject).order_by("created_at", "pk"))
    written = [
        row(
            reference=t.reference,
            topic=t.get_topic_display(),
            name=t.name,
            email=t.email,
            message=t.message,
            status=t.get_status_display(),
            created_at=t.created_at,
            updated_at=t.updated_at,
        )
        for t in tickets
    ]
    answers = [
        row(ticket_reference=r.ticket.reference, body=r.body, sent_at=r.created_at)
        for r in TicketReply.objects.filter(ticket__in=_tickets(subject), internal=False)
        .select_related("ticket")
        .order_by("created_at", "pk")
    ]
    return {"tickets": written, "answers": answers}


def erase_for(subject: Subject, *, dry_run: bool) -> list[ErasureLine]:
    tickets = _tickets(subject)
    replies = _replies_written(subject, tickets)
    lines = [
        ErasureLine(APP, "Contact tickets they wrote", tickets.count(), "deleted"),
        ErasureLine(
            APP,
            "Answers and notes on those tickets",
            TicketReply.objects.filter(ticket__in=tickets).count(),
            "deleted",
        ),
        ErasureLine(
            APP,
            f"Answers they wrote as staff on other tickets: the author becomes “{FORMER_STAFF}”",
            replies.count(),
            "anonymised",
        ),
    ]
    if dry_run:
        return lines_with_rows(lines)
    with transaction.atomic():
        replies.update(author_label=FORMER_STAFF)
        tickets.delete()
    return lines_with_rows(lines)
