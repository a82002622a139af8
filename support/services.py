"""Writes for the contact tickets: opening one, the staff's replies and notes, status moves.

Every email goes through privacy's mailer as transactional mail: it answers something the
person asked for.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.urls import reverse

from accounts.models import User
from meetings.ratelimit import Limit, hit
from privacy.email_categories import Category
from privacy.mailer import send_email
from privacy.models import PrivacyRequest

from . import selectors, states
from .models import Ticket, TicketReply, Topic

# The acknowledgement goes to whatever address the form was given, so a stranger could
# aim it at someone else from many connections; past this many a day, an address gets
# its tickets stored but no more acknowledgements.
ACKS_PER_ADDRESS = Limit("contact-ack", max_hits=5, window_seconds=24 * 60 * 60)
# How long a task run remembers it already notified staff of a ticket.
NOTIFIED_MARK_SECONDS = 7 * 24 * 60 * 60


def staff_ticket_url(ticket: Ticket) -> str:
    return settings.SITE_URL + reverse("support:staff_ticket", args=[ticket.reference])


@transaction.atomic
def open_ticket(
    *, name: str, email: str, topic: str, message: str, user: User | None = None
) -> Ticket:
    """Store a contact-form message, acknowledge it, and have staff told once it commits."""
    ticket = Ticket.objects.create(
        name=name,
        email=email,
        topic=Topic(topic),
        message=message,
        user=user if user is not None and user.is_authenticated else None,
    )
    _acknowledge(ticket)
    from .tasks import notify_staff_of_ticket

    transaction.on_commit(lambda: notify_staff_of_ticket.delay(ticket.pk))
    return ticket


def _acknowledge(ticket: Ticket) -> None:
    # Neither the name nor the message is repeated: whoever typed them may not own the
    # address, and the acknowledgement must not carry a stranger's text to it.
    address_key = hashlib.sha256(ticket.email.lower().encode()).hexdigest()
    if hit(ACKS_PER_ADDRESS, address_key) is not None:
        return
    contact_url = settings.SITE_URL + reverse("support:contact")
    send_email(
        to=ticket.email,
        subject=f"We received your message ({ticket.reference})",
        text=(
            f"Thank you for contacting {settings.SITE_NAME}.\n\n"
            f"We received your message about “{ticket.get_topic_display()}” and will answer "
            "at this address.\n\n"
            f"Your reference: {ticket.reference}\n"
            "Quote it if you write to us again about the same question:\n"
            f"{contact_url}\n\n"
            "If you did not write to us, you can ignore this email.\n"
        ),
        category=Category.TRANSACTIONAL,
    )


def notify_staff(*, ticket_id: int) -> int:
    """Email the staff who handle the ticket's topic. Returns how many were emailed.

    Idempotent for a week: a redelivered task finds the mark and sends nothing twice.
    """
    ticket = Ticket.objects.filter(pk=ticket_id).first()
    if ticket is None:
        return 0
    mark = f"support:notified:{ticket.pk}:{ticket.reference}"
    if not cache.add(mark, 1, timeout=NOTIFIED_MARK_SECONDS):
        return 0
    recipients = selectors.staff_emails_for_topic(topic=ticket.topic)
    # No message body, name or address here: the staff page has them, behind the role
    # check and the audit log, and staff mailboxes keep less personal data.
    text = (
        f"A contact request about “{ticket.get_topic_display()}” arrived at "
        f"{ticket.created_at:%Y-%m-%d %H:%M} UTC.\n\n"
        f"Reference: {ticket.reference}\n"
        f"Open it in the queue: {staff_ticket_url(ticket)}\n"
    )
    try:
        with transaction.atomic():
            for email in recipients:
                send_email(
                    to=email,
                    subject=f"New {ticket.get_topic_display()} contact request {ticket.reference}",
                    text=text,
                    category=Category.TRANSACTIONAL,
                )
    except Exception:
        cache.delete(mark)  # let the retry send them
        raise
    return len(recipients)


def _author_label(staff: User) -> str:
    return staff.get_full_name() or staff.email


@transaction.atomic
def reply(*, ticket: Ticket, staff: User, body: str) -> TicketReply:
    """Email an answer to the person who wrote; the ticket becomes answered.

    Raises states.InvalidMove when the ticket is closed, whatever the page showed.
    """
    states.apply(ticket, states.Move.ANSWER)
    answer = TicketReply.objects.create(
        ticket=ticket, author=staff, author_label=_author_label(staff), body=body, internal=False
    )
    contact_url = settings.SITE_URL + reverse("support:contact")
    send_email(
        to=ticket.email,
        subject=f"Re: your message to {settings.SITE_NAME} [{ticket.reference}]",
        text=(
            f"{body.strip()}\n\n"
            f"-- \n{settings.SITE_NAME} support\n"
            f"Reference: {ticket.reference}\n"
            "This address does not receive mail. To write again, use the contact form and "
            f"quote the reference: {contact_url}\n"
        ),
        category=Category.TRANSACTIONAL,
    )
    return answer


def add_note(*, ticket: Ticket, staff: User, body: str) -> TicketReply:
    """A note for colleagues: kept with the ticket, never sent, status unchanged."""
    return TicketReply.objects.create(
        ticket=ticket, author=staff, author_label=_author_label(staff), body=body, internal=True
    )


def close(*, ticket: Ticket) -> Ticket:
    return states.apply(ticket, states.Move.CLOSE)


def reopen(*, ticket: Ticket) -> Ticket:
    return states.apply(ticket, states.Move.REOPEN)


class AlreadyARequest(Exception):
    def __init__(self, reference: str) -> None:
        super().__init__(f"This ticket is already privacy request {reference}.")
        self.reference = reference


@transaction.atomic
def turn_into_privacy_request(
    *, ticket: Ticket, staff: User, kind: str, california_resident: bool
) -> PrivacyRequest:
    """Open a privacy request from a privacy-topic ticket, its clock running from receipt.

    The contact form never proved the sender owns the address, so the request starts
    unverified and the person gets the confirmation link.
    """
    from privacy.requests import selectors as request_selectors
    from privacy.requests import services as request_services

    Ticket.objects.select_for_update().filter(pk=ticket.pk).first()
    existing = request_selectors.request_from_ticket(ticket.reference)
    if existing is not None:
        raise AlreadyARequest(existing.reference)
    request = request_services.submit(
        kind=kind,
        channel=PrivacyRequest.Channel.WEB_FORM,
        name=ticket.name,
        email=ticket.email,
        california_resident=california_resident,
        user=ticket.user,
        verified=False,
        received_at=ticket.created_at,
        details={"from_ticket": ticket.reference},
        actor=staff,
    )
    add_note(
        ticket=ticket,
        staff=staff,
        body=f"Turned into privacy request {request.reference} ({request.get_kind_display()}).",
    )
    if states.Move.CLOSE in states.allowed_moves(ticket.status):
        close(ticket=ticket)
    return request
