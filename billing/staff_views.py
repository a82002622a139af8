"""Finance's view of Stripe events that could not be processed, with a retry."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts.roles import FINANCE
from accounts.staff import role_required

from . import webhooks
from .models import WebhookEvent

LIST_LIMIT = 200


@role_required(FINANCE)
@require_GET
def failed_events(request: HttpRequest) -> HttpResponse:
    failed = WebhookEvent.objects.filter(status=WebhookEvent.Status.FAILED).order_by("-received_at")
    context = {
        "events": failed[:LIST_LIMIT],
        "total": failed.count(),
        "limit": LIST_LIMIT,
        "max_attempts": webhooks.MAX_ATTEMPTS,
    }
    return render(request, "billing/staff_failed_events.html", context)


@role_required(FINANCE)
@require_POST
def retry_event(request: HttpRequest, pk: int) -> HttpResponse:
    event = WebhookEvent.objects.filter(pk=pk).first()
    if event is None:
        messages.error(request, "There is no such event.")
    elif webhooks.retry_failed(event_pk=pk):
        messages.success(
            request,
            f"Event {event.stripe_event_id} is queued for another "
            f"{webhooks.MAX_ATTEMPTS} attempts; it leaves this list once processed.",
        )
    else:
        messages.error(request, f"Event {event.stripe_event_id} is not failed; nothing to retry.")
    return redirect("billing:staff_failed_events")
