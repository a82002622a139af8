"""Stripe webhooks: intake (verify, store once, enqueue) and processing (claim, re-fetch,
mirror, retry).

Intake answers within the request: the signature is checked on the raw body, the event
is stored by its id, with its references only (ids, never emails or card details; a
duplicate delivery finds the row and is acknowledged without a second effect), and
processing is enqueued after the commit. Processing never trusts
the event's copy of the object: it re-fetches the object from Stripe, so late,
repeated or reordered events all converge on Stripe's current state.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import User

from . import gateway, mirror, promotions
from .models import WebhookEvent

logger = logging.getLogger(__name__)

Status = WebhookEvent.Status

# Attempts before an event is left FAILED for finance to look at and retry.
MAX_ATTEMPTS = 5
# A PROCESSING claim older than this belongs to a worker that died: it may be taken over.
CLAIM_LEASE = timedelta(minutes=5)


class Outcome(enum.StrEnum):
    PROCESSED = "processed"
    SKIPPED = "skipped"  # already done, being done, or failed for good
    RETRY = "retry"
    FAILED = "failed"


# --- Intake --------------------------------------------------------------------------


def receive(*, payload: bytes, signature: str) -> tuple[WebhookEvent, bool]:
    """Verify and store one delivery; returns the row and whether it is new.

    Raises gateway.InvalidWebhook (nothing stored) for a bad signature or body.
    """
    event = gateway.verify_webhook(payload=payload, signature=signature)
    event_id, event_type, created, obj = _parts(event)
    handled = event_type in HANDLERS
    try:
        # Insert first: a new event (the usual case) costs one INSERT; the unique id
        # turns a duplicate, even a concurrent one, into an IntegrityError.
        with transaction.atomic():
            row = WebhookEvent.objects.create(
                stripe_event_id=event_id,
                type=event_type,
                object_id=str(obj.get("id") or "")[:64],
                created=created,
                payload=_references(event),
                # Types we do not act on are kept for the record, already done.
                status=Status.PENDING if handled else Status.PROCESSED,
                processed_at=None if handled else timezone.now(),
            )
            if handled:
                # Robust: a broker outage must not turn a stored event into a 500 (Stripe
                # would resend it as a duplicate); the sweep below enqueues it later.
                transaction.on_commit(lambda: _enqueue(row.pk), robust=True)
    except IntegrityError:
        return WebhookEvent.objects.get(stripe_event_id=event_id), False
    return row, True


def _parts(event: dict[str, Any]) -> tuple[str, str, datetime, dict[str, Any]]:
    event_id, event_type, created = event.get("id"), event.get("type"), event.get("created")
    obj = (event.get("data") or {}).get("object")
    if (
        not isinstance(event_id, str)
        or not event_id.startswith("evt_")
        or len(event_id) > 64
        or not isinstance(event_type, str)
        or len(event_type) > 64
        or not isinstance(created, int)
        or not isinstance(obj, dict)
    ):
        raise gateway.InvalidWebhook("The body is not a Stripe event.")
    try:
        created_at = datetime.fromtimestamp(created, tz=UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise gateway.InvalidWebhook("The event's creation time is out of range.") from exc
    return event_id, event_type, created_at, obj


# What we keep of an event's object: references, never the personal or card details a
# Stripe object may carry (emails, addresses, a card's expiry). Processing re-fetches.
KEPT_FIELDS = ("id", "object", "customer", "subscription", "client_reference_id", "mode", "status")


def _references(event: dict[str, Any]) -> dict[str, Any]:
    obj = event["data"]["object"]
    kept = {
        key: (value.get("id") if isinstance(value, dict) else value)
        for key, value in obj.items()
        if key in KEPT_FIELDS and (value is None or isinstance(value, str | dict))
    }
    return {
        "id": event["id"],
        "type": event["type"],
        "created": event["created"],
        "api_version": event.get("api_version"),
        "livemode": bool(event.get("livemode")),
        "data": {"object": kept},
    }


def _enqueue(event_pk: int) -> None:
    from .tasks import process_webhook_event

    process_webhook_event.delay(event_pk)


# --- Processing -------------------------------------------------------------------------


def process(event_pk: int) -> Outcome:
    """Claim one stored event, run its handler, and record how it went."""
    now = timezone.now()
    claimed = (
        WebhookEvent.objects.filter(pk=event_pk)
        .filter(
            Q(status=Status.PENDING) | Q(status=Status.PROCESSING, claimed_at__lt=now - CLAIM_LEASE)
        )
        .update(status=Status.PROCESSING, claimed_at=now, attempts=F("attempts") + 1)
    )
    if not claimed:
        return Outcome.SKIPPED
    event = WebhookEvent.objects.get(pk=event_pk)
    try:
        HANDLERS[event.type](event)
    except Exception as exc:
        final = event.attempts >= MAX_ATTEMPTS
        WebhookEvent.objects.filter(pk=event_pk, status=Status.PROCESSING).update(
            status=Status.FAILED if final else Status.PENDING,
            last_error=f"{type(exc).__name__}: {exc}"[:2000],
        )
        logger.warning(
            "Stripe event %s (%s) failed, attempt %s: %s",
            event.stripe_event_id,
            event.type,
            event.attempts,
            exc,
            exc_info=final,
        )
        return Outcome.FAILED if final else Outcome.RETRY
    WebhookEvent.objects.filter(pk=event_pk, status=Status.PROCESSING).update(
        status=Status.PROCESSED, processed_at=timezone.now(), last_error=""
    )
    return Outcome.PROCESSED


# Events still waiting this long after arriving (or after their last try, longer than
# the longest backoff) lost their task: a broker outage or a lost message.
STALLED_AFTER = timedelta(minutes=10)


def requeue_stalled(*, now: datetime | None = None) -> list[int]:
    """Enqueue again the events whose processing task never ran (the beat sweep)."""
    cutoff = (now or timezone.now()) - STALLED_AFTER
    stalled = WebhookEvent.objects.filter(
        Q(status=Status.PENDING, received_at__lt=cutoff)
        & (Q(claimed_at__isnull=True) | Q(claimed_at__lt=cutoff))
        | Q(status=Status.PROCESSING, claimed_at__lt=cutoff)
    ).values_list("pk", flat=True)
    ids = list(stalled[:500])
    for event_pk in ids:
        _enqueue(event_pk)
    return ids


def retry_failed(*, event_pk: int) -> bool:
    """Put a FAILED event back in the queue with fresh attempts (finance's retry button)."""
    with transaction.atomic():
        moved = WebhookEvent.objects.filter(pk=event_pk, status=Status.FAILED).update(
            status=Status.PENDING, attempts=0, claimed_at=None
        )
        if moved:
            transaction.on_commit(lambda: _enqueue(event_pk))
    return bool(moved)


def _checkout_completed(event: WebhookEvent) -> None:
    # The session's ids never change once it completed; the subscription is re-fetched.
    session = event.payload["data"]["object"]
    if session.get("mode") != "subscription":
        return
    reference = str(session.get("client_reference_id") or "")
    user = User.objects.filter(pk=int(reference)).first() if reference.isdigit() else None
    mirror.customer_for(session["customer"], user=user)
    subscription_id = mirror.related_id(session.get("subscription"))
    if subscription_id:
        mirror.sync_subscription(subscription_id, user=user)


def _subscription_changed(event: WebhookEvent) -> None:
    mirror.sync_subscription(event.object_id)


def _invoice_changed(event: WebhookEvent) -> None:
    mirror.sync_invoice(event.object_id)


def _promotion_code_changed(event: WebhookEvent) -> None:
    promotions.sync_from_stripe(event.object_id)


HANDLERS: dict[str, Callable[[WebhookEvent], None]] = {
    "checkout.session.completed": _checkout_completed,
    "customer.subscription.created": _subscription_changed,
    "customer.subscription.updated": _subscription_changed,
    "customer.subscription.deleted": _subscription_changed,
    "invoice.paid": _invoice_changed,
    # Older API versions (and localstripe) name a paid invoice this way.
    "invoice.payment_succeeded": _invoice_changed,
    "invoice.payment_failed": _invoice_changed,
    "invoice.payment_action_required": _invoice_changed,
    # A code switched off (or on) in Stripe's dashboard.
    "promotion_code.updated": _promotion_code_changed,
}
