"""The public contact form and the staff's ticket queue.

The thank-you page finds the reference in the session that sent the message, never in
the URL, so a shared or guessed link shows nobody else's reference.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import User
from accounts.roles import PRIVACY_ADMIN, has_role
from meetings.ratelimit import Limit, client_address, hit
from privacy import audit
from privacy.requests.selectors import request_from_ticket

from . import selectors, services, states
from .access import queue_access_required, visible_topics
from .forms import ContactForm, PrivacyRequestForm, QueueFilterForm, ReplyForm
from .models import Ticket, Topic

CONTACTS_PER_CLIENT = Limit("contact-form", max_hits=5, window_seconds=10 * 60)
SENT_REFERENCE_KEY = "support.sent_reference"
SHOWN = 200
VIEW_PURPOSE = "answer a contact request"
QUEUE_PURPOSE = "find the contact requests waiting for an answer"


def _initial(request: HttpRequest) -> dict[str, str]:
    initial: dict[str, str] = {}
    topic = request.GET.get("topic", "")
    if topic in Topic.values:
        initial["topic"] = topic
    if request.user.is_authenticated:
        initial["name"] = request.user.get_full_name()  # type: ignore[union-attr]
        initial["email"] = request.user.email  # type: ignore[union-attr]
    return initial


def _wait_message(seconds: int) -> str:
    minutes = max(1, round(seconds / 60))
    return (
        "You have sent several messages in a short time. Please try again in about "
        f"{minutes} minute{'s' if minutes != 1 else ''}; your text is still here."
    )


@never_cache
@require_http_methods(["GET", "POST"])
def contact(request: HttpRequest) -> HttpResponse:
    form = ContactForm(
        request.POST if request.method == "POST" else None, initial=_initial(request)
    )
    if request.method == "GET":
        return render(request, "support/contact.html", {"form": form})
    if not form.is_valid():
        return render(request, "support/contact.html", {"form": form}, status=400)
    # Only messages that would be stored count: a typo should not use up a try.
    retry_after = hit(CONTACTS_PER_CLIENT, client_address(request))
    if retry_after is not None:
        response = render(
            request,
            "support/contact.html",
            {"form": form, "limited": _wait_message(retry_after)},
            status=429,
        )
        response["Retry-After"] = str(retry_after)
        return response
    ticket = services.open_ticket(
        name=form.cleaned_data["name"],
        email=form.cleaned_data["email"],
        topic=form.cleaned_data["topic"],
        message=form.cleaned_data["message"],
        user=request.user if request.user.is_authenticated else None,  # type: ignore[arg-type]
    )
    request.session[SENT_REFERENCE_KEY] = ticket.reference
    return redirect("support:contact_sent")


@never_cache
@require_GET
def contact_sent(request: HttpRequest) -> HttpResponse:
    reference = request.session.get(SENT_REFERENCE_KEY)
    if not reference:
        return redirect("support:contact")
    return render(request, "support/contact_sent.html", {"reference": reference})


def _staff(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


@never_cache
@queue_access_required
@require_GET
def staff_tickets(request: HttpRequest) -> HttpResponse:
    topics = visible_topics(_staff(request))
    form = QueueFilterForm(request.GET, topics=topics)
    filters = form.cleaned_data if form.is_valid() else {}
    tickets = selectors.ticket_queue(
        topics=topics,
        status=filters.get("status", ""),
        topic=filters.get("topic", ""),
        search=filters.get("q", ""),
    )
    shown = list(tickets[:SHOWN])
    # Names, addresses and topics of the people who wrote: one entry per page shown.
    audit.record(
        actor=_staff(request),
        action="ticket.queue_view",
        target_type="ticket_queue",
        target_id="queue",
        purpose=QUEUE_PURPOSE,
        details={
            "status": filters.get("status", ""),
            "topic": filters.get("topic", ""),
            "search": audit.search_key(filters.get("q", "")),
            "tickets": [ticket.reference for ticket in shown],
        },
    )
    return render(
        request,
        "support/staff_tickets.html",
        {
            "form": form,
            "tickets": shown,
            "shown": SHOWN,
            "topics": [Topic(t).label for t in topics],
            "filtered": any(filters.values()),
        },
        status=400 if form.errors else 200,
    )


@never_cache
@queue_access_required
@require_http_methods(["GET", "POST"])
def staff_ticket(request: HttpRequest, reference: str) -> HttpResponse:
    staff = _staff(request)
    ticket = selectors.ticket_for_staff(reference=reference, topics=visible_topics(staff))
    if ticket is None:
        raise Http404("No ticket with this reference in the topics you handle.")
    form, refusal, status = ReplyForm(), "", 200
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action in MOVE_DONE:
                _move(ticket, states.Move(action))
                messages.success(request, MOVE_DONE[action])
                return redirect("support:staff_ticket", reference=ticket.reference)
            form = ReplyForm(request.POST)
            if form.is_valid():
                messages.success(request, _answer(ticket, staff, form))
                return redirect("support:staff_ticket", reference=ticket.reference)
            status = 400
        except states.InvalidMove as exc:
            refusal, status = exc.message, 409
    _record_view(staff, ticket)
    moves = states.allowed_moves(ticket.status)
    return render(
        request,
        "support/staff_ticket.html",
        {
            "ticket": ticket,
            "history": selectors.ticket_history(ticket=ticket),
            "form": form,
            "refusal": refusal,
            "can_reply": states.Move.ANSWER in moves,
            "can_close": states.Move.CLOSE in moves,
            "can_reopen": states.Move.REOPEN in moves,
            **_privacy_request_context(staff, ticket),
        },
        status=status,
    )


def _record_view(staff: User, ticket: Ticket) -> None:
    # Every page that shows the message is a view of someone's personal data.
    audit.record(
        actor=staff,
        action="ticket.view",
        target_type="ticket",
        target_id=ticket.reference,
        purpose=VIEW_PURPOSE,
    )


def _privacy_request_context(staff: User, ticket: Ticket, form: Any = None) -> dict[str, Any]:
    """Privacy admins can turn a privacy-topic ticket into a privacy request."""
    if ticket.topic != Topic.PRIVACY or not has_role(staff, PRIVACY_ADMIN):
        return {"can_open_request": False}
    return {
        "can_open_request": True,
        "privacy_request": request_from_ticket(ticket.reference),
        "request_form": form or PrivacyRequestForm(),
    }


@never_cache
@queue_access_required
@require_POST
def staff_ticket_to_request(request: HttpRequest, reference: str) -> HttpResponse:
    staff = _staff(request)
    ticket = selectors.ticket_for_staff(reference=reference, topics=visible_topics(staff))
    if ticket is None or ticket.topic != Topic.PRIVACY:
        raise Http404("No privacy ticket with this reference in the topics you handle.")
    if not has_role(staff, PRIVACY_ADMIN):
        raise PermissionDenied("Only privacy admins open privacy requests.")
    form = PrivacyRequestForm(request.POST)
    if form.is_valid():
        try:
            opened = services.turn_into_privacy_request(
                ticket=ticket,
                staff=staff,
                kind=form.cleaned_data["kind"],
                california_resident=form.cleaned_data["california_resident"],
            )
        except services.AlreadyARequest as exc:
            messages.error(request, str(exc))
            return redirect("support:staff_ticket", reference=ticket.reference)
        messages.success(
            request,
            f"Privacy request {opened.reference} opened; its clock runs from the ticket's "
            "arrival, and the person was sent a link to confirm it.",
        )
        return redirect("privacy:staff_request", reference=opened.reference)
    ticket.refresh_from_db()
    _record_view(staff, ticket)  # the form comes back with the ticket's message
    moves = states.allowed_moves(ticket.status)
    return render(
        request,
        "support/staff_ticket.html",
        {
            "ticket": ticket,
            "history": selectors.ticket_history(ticket=ticket),
            "form": ReplyForm(),
            "refusal": "",
            "can_reply": states.Move.ANSWER in moves,
            "can_close": states.Move.CLOSE in moves,
            "can_reopen": states.Move.REOPEN in moves,
            **_privacy_request_context(staff, ticket, form),
        },
        status=400,
    )


MOVE_DONE = {
    states.Move.CLOSE.value: "Ticket closed.",
    states.Move.REOPEN.value: "Ticket reopened.",
}


def _move(ticket: Ticket, move: states.Move) -> None:
    if move == states.Move.CLOSE:
        services.close(ticket=ticket)
    else:
        services.reopen(ticket=ticket)


def _answer(ticket: Ticket, staff: User, form: ReplyForm) -> str:
    """Send the reply or keep the note; returns what to tell the staff member."""
    body = form.cleaned_data["body"]
    if form.cleaned_data["action"] == ReplyForm.NOTE:
        services.add_note(ticket=ticket, staff=staff, body=body)
        return "Internal note saved. Nothing was emailed."
    services.reply(ticket=ticket, staff=staff, body=body)
    return f"Reply sent to {ticket.email}."
