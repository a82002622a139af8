"""Celery entry points for policy change notices; the work is in notices.py."""

from celery import shared_task

from . import notices


@shared_task(acks_late=True)
def announce_policy_changes() -> list[int]:
    """Beat, hourly: announce each current material version once."""
    return notices.announce_policy_changes()


@shared_task(bind=True, acks_late=True, max_retries=5)
def send_policy_notice_batch(self, announcement_id: int, user_ids: list[int]) -> int:  # type: ignore[no-untyped-def]
    """Email one batch; a retry re-sends only to those not told yet."""
    try:
        return notices.send_policy_notices(announcement_id=announcement_id, user_ids=user_ids)
    except Exception as exc:
        if self.request.is_eager:
            raise
        raise self.retry(exc=exc, countdown=60 * 2**self.request.retries) from exc
