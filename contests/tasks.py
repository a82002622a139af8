"""Entry points for the contests' scheduled work; each is safe to run twice."""

from celery import shared_task

from . import draws


@shared_task(bind=True, acks_late=True, max_retries=5)
def purge_expired_contest_entries(self) -> int:  # type: ignore[no-untyped-def]
    try:
        return draws.purge_expired_entries()
    except Exception as exc:
        raise self.retry(exc=exc, countdown=60 * 2**self.request.retries) from exc
