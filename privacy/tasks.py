from datetime import datetime

from celery import shared_task
from django.conf import settings

from . import mailer, services


# The hard limit ends an attempt well inside its claim's lease, so that no worker still
# sends a message the sweep has handed to another (prefork pools enforce it).
@shared_task(acks_late=True, time_limit=max(1, settings.EMAIL_OUTBOX_LEASE_SECONDS // 2))
def deliver_email(outgoing_id: int) -> str | None:
    """Send one queued message. A failure leaves it queued with a backoff: the outbox
    sweep sends it again, and marks it failed after the last attempt."""
    return mailer.deliver(outgoing_id)


# The same limit bounds a whole batch: its last message leaves inside the lease too.
@shared_task(acks_late=True, time_limit=max(1, settings.EMAIL_OUTBOX_LEASE_SECONDS // 2))
def deliver_emails(outgoing_ids: list[int]) -> int:
    """Send a batch of queued messages over one connection (`mailer.deliver_batch`);
    returns how many went out."""
    results = mailer.deliver_batch(outgoing_ids)
    return sum(status == mailer.Status.SENT for status in results.values())


@shared_task
def sweep_outbox() -> int:
    """Re-send mail whose worker died, whose backoff is over, or whose task never ran."""
    return len(mailer.sweep())


@shared_task(bind=True, acks_late=True, max_retries=5)
def record_unsubscribe(self, email: str, category: str, source: str, at: str) -> None:  # type: ignore[no-untyped-def]
    """Write an unsubscribe click to the consent log and sweep the outbox; idempotent."""
    try:
        services.record_unsubscribe(
            email=email, category=category, source=source, at=datetime.fromisoformat(at)
        )
    except Exception as exc:
        raise self.retry(exc=exc, countdown=10 * 2**self.request.retries) from exc
