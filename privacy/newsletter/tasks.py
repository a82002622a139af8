"""Entry points for sending a newsletter; each is safe to run twice."""

from celery import shared_task

from . import services


@shared_task(bind=True, acks_late=True, max_retries=5)
def snapshot_newsletter(self, newsletter_id: int) -> list[int]:  # type: ignore[no-untyped-def]
    try:
        return services.snapshot_recipients(newsletter_id=newsletter_id)
    except Exception as exc:
        raise self.retry(exc=exc, countdown=30 * 2**self.request.retries) from exc


@shared_task(bind=True, acks_late=True, max_retries=5)
def send_newsletter_batch(self, newsletter_id: int, batch: int) -> int:  # type: ignore[no-untyped-def]
    try:
        return services.send_batch(newsletter_id=newsletter_id, batch=batch)
    except Exception as exc:
        raise self.retry(exc=exc, countdown=30 * 2**self.request.retries) from exc
