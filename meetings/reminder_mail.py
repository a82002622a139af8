"""The reminder email: the sitting's time in the recipient's zone, their join link, and
the meeting's calendar.

The calendar is the invitation's own (same UID and SEQUENCE), so a calendar client files
it as the version it already has rather than a second event. The mailer adds what every
"Meeting reminders" message carries: one-click unsubscribe and the signed preferences
link, which is how an invitee without an account manages their choice.
"""

from __future__ import annotations

from collections.abc import Iterable
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models.functions import Lower
from django.template.loader import render_to_string
from django.utils import dateformat

from accounts.models import User
from privacy.email_categories import Category
from privacy.mailer import Draft

from . import ics, links
from .models import Meeting, Occurrence, ReminderDelivery

DATE_TIME = "l j F Y, H:i"
TIME = "H:i"


def account_zones(emails: Iterable[str]) -> dict[str, str]:
    """The time zone of each address that belongs to an account (lower-cased keys)."""
    rows = (
        User.objects.annotate(address=Lower("email"))
        .filter(address__in=[email.lower() for email in emails])
        .values_list("address", "time_zone")
    )
    return {address: zone for address, zone in rows if zone}


def reminder_email(row: ReminderDelivery, *, zone: str | None) -> Draft:
    """The reminder `row` stands for, for the caller to queue with its batch."""
    sitting: Occurrence = row.occurrence
    meeting: Meeting = sitting.meeting
    recipient_zone = ZoneInfo(zone or meeting.time_zone)
    if row.invitation is not None:
        join_link = links.personal_join_url(row.invitation)
        calendar = ics.build_request(meeting, attendee_email=row.email, join_link=join_link)
    else:  # the host joins with the meeting's own link, signed in
        join_link = links.join_url(meeting)
        calendar = ics.build_request(meeting, join_link=join_link)
    start = sitting.starts_at.astimezone(recipient_zone)
    end = sitting.ends_at.astimezone(recipient_zone)
    context = {
        "meeting": meeting,
        "is_host": row.invitation is None,
        "host_name": meeting.host.get_full_name(),
        "soon": row.kind == ReminderDelivery.Kind.SOON,
        "when": f"{dateformat.format(start, DATE_TIME)}\N{EN DASH}"
        f"{dateformat.format(end, TIME if end.date() == start.date() else DATE_TIME)}"
        f" ({recipient_zone.key}, {start:%Z})",
        "join_link": join_link,
        "site_name": settings.SITE_NAME,
    }
    title = " ".join(meeting.title.split())  # no line break may reach a header
    lead = "in 10 minutes" if context["soon"] else f"tomorrow at {start:%H:%M} ({start:%Z})"
    return Draft(
        to=row.email,
        subject=f"Reminder: {title} starts {lead}",
        text=render_to_string("meetings/email/reminder.txt", context),
        html=render_to_string("meetings/email/reminder.html", context),
        category=Category.MEETING_REMINDERS,
        calendar=calendar.decode(),
    )
