from celery import shared_task

from . import invitations
from .models import Occurrence
from .room.actions import moderation, participant

# Attempts after the first, 30 s apart and doubling: about half an hour in all.
INVITATION_RETRIES = 5


def _backoff(retries: int) -> int:
    return 30 * 2**retries


@shared_task
def close_stale_sessions() -> int:
    """Periodic: close participant sessions whose heartbeats stopped, and tell their rooms."""
    return participant.close_stale_sessions()


@shared_task(bind=True, acks_late=True, max_retries=INVITATION_RETRIES)
def send_invitation_requests(self, meeting_id: int, invitation_ids: list[int]) -> int:  # type: ignore[no-untyped-def]
    """Email each invitee the meeting's calendar; a retry skips those already done."""
    meeting = invitations.meeting_for_mail(meeting_id)
    if meeting is None:
        return 0
    sent, remaining = 0, list(invitation_ids)
    try:
        while remaining:
            sent += invitations.email_request(meeting=meeting, invitation_id=remaining[0])
            remaining.pop(0)
    except Exception as exc:
        raise self.retry(
            exc=exc, args=[meeting_id, remaining], countdown=_backoff(self.request.retries)
        ) from exc
    return sent


@shared_task(bind=True, acks_late=True, max_retries=INVITATION_RETRIES)
def send_invitation_cancels(  # type: ignore[no-untyped-def]
    self, meeting_id: int, emails: list[str], occurrence_id: int | None = None
) -> int:
    """Email each address the cancellation; a retry skips those already done."""
    meeting = invitations.meeting_for_mail(meeting_id)
    if meeting is None:
        return 0
    occurrence = None
    if occurrence_id is not None:
        occurrence = Occurrence.objects.filter(pk=occurrence_id, meeting=meeting).first()
        if occurrence is None:
            return 0
    remaining = list(emails)
    try:
        while remaining:
            invitations.email_cancel(meeting=meeting, email=remaining[0], occurrence=occurrence)
            remaining.pop(0)
    except Exception as exc:
        raise self.retry(
            exc=exc,
            args=[meeting_id, remaining, occurrence_id],
            countdown=_backoff(self.request.retries),
        ) from exc
    return len(emails)


@shared_task
def enforce_time_limits() -> int:
    """Periodic (every 30 s): the backstop of the rooms' own time-limit timers."""
    return moderation.enforce_time_limits()


@shared_task
def scan_reminders() -> int:
    """Periodic (every minute): arm the reminders that came due and hand them out."""
    from . import reminders

    return reminders.scan()


@shared_task(acks_late=True)
def send_reminders(reminder_ids: list[int]) -> int:
    """Send a batch of armed reminders, each once (see meetings.reminders)."""
    from . import reminders

    return reminders.send(reminder_ids)


@shared_task
def send_usage_summaries() -> int:
    """Periodic (hourly): hand out the monthly summaries of hosts whose 1st has begun."""
    from . import usage_summary

    return usage_summary.dispatch_due()


@shared_task(acks_late=True)
def send_usage_summary_batch(host_ids: list[int], month: str) -> int:
    from datetime import date

    from . import usage_summary

    return usage_summary.send_batch(host_ids, date.fromisoformat(month))
