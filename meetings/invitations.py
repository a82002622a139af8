"""Invitation emails: queued after the transaction commits, sent by Celery.

Only ids and addresses cross into the task, so the email always shows the meeting as
it was committed. A cancellation carries addresses because `remove_invitation` deletes
the row right after queueing. Each invitee gets their own calendar (only them as
ATTENDEE, their personal join link); sending one again is harmless, since a calendar
client files a REQUEST or CANCEL with an unchanged SEQUENCE as the same version.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import dateformat, timezone

from privacy.email_categories import Category
from privacy.mailer import send_email

from . import ics, links, tasks
from .models import Invitation, Meeting, Occurrence, Recurrence
from .schedule import WEEKDAY_NAMES

LONG_DATE = "l j F Y"
SHORT_DATE_TIME = "D j M Y, H:i"
TIME = "H:i"


def send_request(*, meeting: Meeting, invitations: Sequence[Invitation]) -> None:
    """Send each invitee the meeting's current calendar (a new or updated REQUEST)."""
    if not invitations:
        return
    meeting_id = meeting.pk
    invitation_ids = [invitation.pk for invitation in invitations]
    transaction.on_commit(lambda: tasks.send_invitation_requests.delay(meeting_id, invitation_ids))


def send_cancel(
    *, meeting: Meeting, invitations: Sequence[Invitation], occurrence: Occurrence | None = None
) -> None:
    """Tell each invitee that the meeting, or one occurrence of it, is off."""
    if not invitations:
        return
    meeting_id = meeting.pk
    emails = [invitation.email for invitation in invitations]
    occurrence_id = occurrence.pk if occurrence is not None else None
    transaction.on_commit(
        lambda: tasks.send_invitation_cancels.delay(meeting_id, emails, occurrence_id)
    )


def meeting_for_mail(meeting_id: int) -> Meeting | None:
    return Meeting.objects.select_related("host").filter(pk=meeting_id).first()


def email_request(*, meeting: Meeting, invitation_id: int) -> bool:
    """Send one invitee their calendar; False if there is nothing to send any more."""
    invitation = meeting.invitations.filter(pk=invitation_id).first()
    if invitation is None or meeting.status == Meeting.Status.CANCELLED:
        # Uninvited or called off since: the cancellation is on its way instead.
        return False
    join_link = links.personal_join_url(invitation)
    calendar = ics.build_request(meeting, attendee_email=invitation.email, join_link=join_link)
    is_update = meeting.sequence > 0 and invitation.last_sent_at is not None
    view = ics.MeetingDates(meeting)
    label = "Updated invitation" if is_update else "Invitation"
    context = _context(meeting, view, join_link=join_link) | {
        "is_update": is_update,
        "repeats": _repeats(meeting, view),
        "moved": [_moved(view, occurrence) for occurrence in view.moved],
        "excluded": [_when(view.slot(o.original_start)) for o in view.excluded],
    }
    _send(
        meeting,
        invitation.email,
        subject=f"{label}: {_one_line(meeting.title)} — {_subject_when(view.first_start)}",
        template="invitation",
        context=context,
        calendar=calendar,
    )
    return True


def email_cancel(*, meeting: Meeting, email: str, occurrence: Occurrence | None = None) -> None:
    """Send one (possibly former) invitee the cancellation of the meeting or a sitting."""
    calendar = ics.build_cancel(meeting, attendee_email=email, occurrence=occurrence)
    view = ics.MeetingDates(meeting)
    start = view.local(occurrence.starts_at) if occurrence else view.first_start
    context = _context(meeting, view, join_link="") | {
        "occurrence_when": _when(start, view.local(occurrence.ends_at)) if occurrence else "",
        "repeats": "" if occurrence else _repeats(meeting, view),
    }
    _send(
        meeting,
        email,
        subject=f"Cancelled: {_one_line(meeting.title)} — {_subject_when(start)}",
        template="cancellation",
        context=context,
        calendar=calendar,
    )


def _send(
    meeting: Meeting,
    email: str,
    *,
    subject: str,
    template: str,
    context: dict[str, Any],
    calendar: bytes,
) -> None:
    with transaction.atomic():
        send_email(
            to=email,
            subject=subject,
            text=render_to_string(f"meetings/email/{template}.txt", context),
            html=render_to_string(f"meetings/email/{template}.html", context),
            category=Category.TRANSACTIONAL,
            calendar=calendar.decode(),
        )
        Invitation.objects.filter(meeting=meeting, email=email).update(last_sent_at=timezone.now())


def _context(meeting: Meeting, view: ics.MeetingDates, *, join_link: str) -> dict[str, Any]:
    return {
        "meeting": meeting,
        "host_name": meeting.host.get_full_name(),
        "when": _when(view.first_start, view.first_end),
        "join_link": join_link,
        "site_name": settings.SITE_NAME,
    }


@dataclass(frozen=True)
class _Moved:
    was: str
    now: str


def _moved(view: ics.MeetingDates, occurrence: Occurrence) -> _Moved:
    return _Moved(
        was=_when(view.slot(occurrence.original_start)),
        now=_when(view.local(occurrence.starts_at), view.local(occurrence.ends_at)),
    )


def _when(start: datetime, end: datetime | None = None) -> str:
    """'Monday 6 April 2026, 09:00 to 09:30 (Europe/Berlin)', with an en dash."""
    text = f"{dateformat.format(start, LONG_DATE)}, {dateformat.format(start, TIME)}"
    if end is not None:
        ending = TIME if end.date() == start.date() else f"{LONG_DATE}, {TIME}"
        text += f"\N{EN DASH}{dateformat.format(end, ending)}"
    return f"{text} ({start.tzinfo})"


def _one_line(text: str) -> str:
    # A line break in a header is refused at send time (header injection).
    return " ".join(text.split())


def _subject_when(start: datetime) -> str:
    return f"{dateformat.format(start, SHORT_DATE_TIME)} ({start.tzinfo})"


def _repeats(meeting: Meeting, view: ics.MeetingDates) -> str:
    """The series rule in words: 'Every 2 weeks on Monday and Wednesday, 10 times'."""
    if not meeting.is_recurring:
        return ""
    every = meeting.recurrence_interval
    unit = {Recurrence.DAILY: "day", Recurrence.WEEKLY: "week", Recurrence.MONTHLY: "month"}[
        Recurrence(meeting.recurrence)
    ]
    text = f"Every {unit}" if every == 1 else f"Every {every} {unit}s"
    if meeting.recurrence == Recurrence.WEEKLY:
        days = [WEEKDAY_NAMES[day] for day in sorted(meeting.recurrence_weekdays)]
        text += " on " + " and ".join([", ".join(days[:-1]), days[-1]] if len(days) > 1 else days)
    elif meeting.recurrence == Recurrence.MONTHLY:
        text += f" on day {view.first_start.day}"
    if meeting.recurrence_until:
        text += f" until {dateformat.format(meeting.recurrence_until, LONG_DATE)}"
    elif meeting.recurrence_count:
        text += f", {meeting.recurrence_count} times"
    return text
