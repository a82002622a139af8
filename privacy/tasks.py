from datetime import datetime

from celery import shared_task

from . import mailer, services


@shared_task(bind=True, acks_late=True, max_retries=5)
def deliver_email(self, outgoing_id: int) -> str | None:  # type: ignore[no-untyped-def]
    """Send one queued message; retry with backoff, then mark it failed."""
    try:
        return mailer.deliver(outgoing_id)
    except Exception as exc:
        # retry(exc=...) re-raises `exc` itself once retries run out, so count them here.
        if self.request.retries >= self.max_retries:
            mailer.give_up(outgoing_id, str(exc))
            raise
        raise self.retry(exc=exc, countdown=30 * 2**self.request.retries) from exc


@shared_task(bind=True, acks_late=True, max_retries=5)
def record_unsubscribe(self, email: str, category: str, source: str, at: str) -> None:  # type: ignore[no-untyped-def]
    """Write an unsubscribe click to the consent log and sweep the outbox; idempotent."""
    try:
        services.record_unsubscribe(
            email=email, category=category, source=source, at=datetime.fromisoformat(at)
        )
    except Exception as exc:
        raise self.retry(exc=exc, countdown=10 * 2**self.request.retries) from exc
