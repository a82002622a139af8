from celery import shared_task
from celery.exceptions import MaxRetriesExceededError

from . import mailer


@shared_task(bind=True, acks_late=True, max_retries=5)
def deliver_email(self, outgoing_id: int) -> str | None:  # type: ignore[no-untyped-def]
    try:
        status = mailer.deliver(outgoing_id)
    except Exception as exc:
        try:
            raise self.retry(exc=exc, countdown=30 * 2**self.request.retries)
        except MaxRetriesExceededError:
            mailer.give_up(outgoing_id, str(exc))
            raise
    return status
