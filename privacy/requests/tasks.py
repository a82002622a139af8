"""Celery entry points for privacy requests: each loads by id and calls a service."""

from celery import shared_task

from billing.gateway import GatewayError
from privacy.models import PrivacyRequest

from . import housekeeping, services


@shared_task(acks_late=True)
def answer_shine_the_light(request_id: int) -> str:
    request = PrivacyRequest.objects.filter(pk=request_id).first()
    if request is None:
        return "gone"
    return services.answer_shine_the_light(request=request).state


@shared_task(bind=True, acks_late=True, max_retries=3)
def build_access_export(self, request_id: int) -> str:  # type: ignore[no-untyped-def]
    request = PrivacyRequest.objects.filter(pk=request_id).first()
    if request is None:
        return "gone"
    try:
        return services.run_access_export(request=request).state
    except services.RequestError:
        raise
    except Exception as exc:
        raise self.retry(exc=exc, countdown=60 * 2**self.request.retries) from exc


# Doubled after each failed attempt, up to this: Stripe is retried for about 38 hours.
STRIPE_DELETION_MAX_BACKOFF = 6 * 3600


@shared_task(bind=True, acks_late=True, max_retries=14)
def direct_stripe_deletion(self, request_id: int, stripe_customer_id: str) -> str:  # type: ignore[no-untyped-def]
    """Delete an erased person's customer at Stripe; retried with backoff while it is down."""
    from . import provider_directions

    try:
        return provider_directions.delete_at_stripe(
            request_id=request_id,
            stripe_customer_id=stripe_customer_id,
            attempt=self.request.retries,
        )
    except (GatewayError, provider_directions.WaitForCancellation) as exc:
        if self.request.retries >= self.max_retries:
            raise
        countdown = min(60 * 2**self.request.retries, STRIPE_DELETION_MAX_BACKOFF)
        raise self.retry(exc=exc, countdown=countdown) from exc


@shared_task
def remind_due_privacy_requests() -> int:
    return housekeeping.send_due_reminders()


@shared_task
def privacy_request_housekeeping() -> dict[str, int]:
    return {
        "lapsed": housekeeping.lapse_unverified(),
        "exports_removed": housekeeping.remove_expired_exports(),
        "purged": housekeeping.purge_old_requests(),
    }
