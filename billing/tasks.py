"""Celery entry points for billing: load by id, call the service."""

from __future__ import annotations

from celery import shared_task

from . import gateway, mirror, retention, webhooks

BACKOFF_SECONDS = 30  # doubled after each failed attempt: 30 s, 1, 2, 4 minutes


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None)
def process_webhook_event(self, event_pk: int) -> str:  # type: ignore[no-untyped-def]
    """Process one stored Stripe event; retried with backoff until it succeeds or its
    attempts run out (then it is FAILED, with the error, in finance's list)."""
    while True:
        outcome = webhooks.process(event_pk)
        if outcome != webhooks.Outcome.RETRY:
            return outcome.value
        if not self.request.is_eager:
            attempts = webhooks.WebhookEvent.objects.get(pk=event_pk).attempts
            raise self.retry(countdown=BACKOFF_SECONDS * 2 ** max(attempts - 1, 0))
        # Eager (no broker: the embedded default) there is no later to wait for.


@shared_task
def requeue_stalled_webhook_events() -> int:
    return len(webhooks.requeue_stalled())


@shared_task
def end_expired_grace_periods() -> list[str]:
    if not gateway.is_configured():
        return []
    return mirror.end_expired_grace_periods()


@shared_task
def reconcile_with_stripe() -> dict[str, object]:
    """Nightly: compare the mirror with Stripe, fix it, and report (logged, returned)."""
    if not gateway.is_configured():
        return {"skipped": "Stripe is not configured."}
    return mirror.reconcile().as_dict()


@shared_task(bind=True, acks_late=True, max_retries=8)
def cancel_subscription_for_erasure(self, stripe_subscription_id: str) -> str:  # type: ignore[no-untyped-def]
    """Stop a deleted person's subscription at Stripe; retried until Stripe says so."""
    try:
        return mirror.cancel_now(
            stripe_subscription_id=stripe_subscription_id,
            idempotency_key=f"erasure-cancel-{stripe_subscription_id}",
        )
    except (gateway.GatewayError, mirror.MirrorError) as exc:
        if self.request.retries >= self.max_retries:
            raise
        raise self.retry(exc=exc, countdown=60 * 2**self.request.retries) from exc


@shared_task
def purge_expired_invoices() -> int:
    return retention.purge_expired_invoices()
