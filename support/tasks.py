"""Celery entry points: load by id, call the service."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(bind=True, acks_late=True, max_retries=5)
def notify_staff_of_ticket(self, ticket_id: int) -> int:  # type: ignore[no-untyped-def]
    """Tell the staff who handle the ticket's topic that it arrived; retry with backoff."""
    try:
        return services.notify_staff(ticket_id=ticket_id)
    except Exception as exc:
        raise self.retry(exc=exc, countdown=30 * 2**self.request.retries) from exc
