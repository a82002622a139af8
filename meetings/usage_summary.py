"""The monthly usage summary: to each host who asked for it, on the 1st in their zone.

Hourly beat finds the hosts whose local date is the 1st and hands them to workers in
batches. The email is queued in the same transaction that inserts the host's row for the
month (unique per host and month), so a second run, a duplicate task or a retry after a
dead worker sends nothing more. The figures come from the attendance selectors, the
recordings library and the plan's entitlements, as the host's pages show them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.template.loader import render_to_string
from django.utils import dateformat, timezone

from accounts.models import User
from billing.entitlements import entitlements_for
from privacy.email_categories import Category
from privacy.mailer import send_email
from privacy.selectors import may_send, subscribed_emails
from recordings.selectors import library_for

from .attendance import people, summaries_for
from .models import Occurrence, ParticipantSession, UsageSummaryDelivery

BATCH = 100
# The soonest expiring recordings the email names; the rest are counted.
LISTED_RECORDINGS = 10


@dataclass(frozen=True)
class ExpiringRecording:
    title: str
    expires_at: datetime | None


@dataclass(frozen=True)
class Usage:
    month: date
    meetings_held: int
    people_met: int
    meeting_minutes: int
    person_minutes: float
    recordings_stored: int
    recording_bytes: int
    expiring: list[ExpiringRecording]
    plan_name: str
    max_participants: int
    most_at_once: int
    max_meeting_minutes: int
    longest_minutes: int
    recording_retention_days: int


def month_bounds(month: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The month as two instants: its first midnight and the next month's, in `zone`."""
    following = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
    return (
        datetime.combine(month, datetime.min.time(), zone),
        datetime.combine(following, datetime.min.time(), zone),
    )


def usage_of(host: User, month: date, *, now: datetime | None = None) -> Usage:
    zone = ZoneInfo(host.time_zone or "UTC")
    start, end = month_bounds(month, zone)
    held = list(
        Occurrence.objects.filter(
            meeting__host=host,
            status=Occurrence.Status.ENDED,
            started_at__gte=start,
            started_at__lt=end,
        )
    )
    summaries = summaries_for(held, now=now)
    others = people(
        ParticipantSession.objects.filter(occurrence__in=held, admitted_at__isnull=False)
        .exclude(user=host)
        .select_related("invitation"),
        now=now,
    )
    lengths = [_minutes(o) for o in held]
    recordings = library_for(host=host)
    entitlements = entitlements_for(host)
    return Usage(
        month=month,
        meetings_held=len(held),
        people_met=len([row for row in others if not row.is_host]),
        meeting_minutes=sum(lengths),
        person_minutes=round(sum(s.person_minutes for s in summaries.values()), 1),
        recordings_stored=recordings.count(),
        recording_bytes=sum(r.size_bytes or 0 for r in recordings),
        expiring=[
            ExpiringRecording(r.title, r.expires_at)
            for r in recordings.order_by("expires_at", "pk")[:LISTED_RECORDINGS]
        ],
        plan_name=entitlements.plan_name,
        max_participants=entitlements.max_participants,
        most_at_once=max((s.peak_concurrent for s in summaries.values()), default=0),
        max_meeting_minutes=entitlements.max_meeting_minutes,
        longest_minutes=max(lengths, default=0),
        recording_retention_days=entitlements.recording_retention_days,
    )


def _minutes(sitting: Occurrence) -> int:
    if sitting.started_at is None or sitting.ended_at is None:
        return 0
    return int((sitting.ended_at - sitting.started_at).total_seconds() // 60)


def previous_month(local_day: date) -> date:
    return (local_day.replace(day=1) - timedelta(days=1)).replace(day=1)


def due_hosts(now: datetime) -> dict[date, list[int]]:
    """Hosts who asked for the summary, not yet sent it, and whose local date is the 1st;
    grouped by the month to summarise (last month, in their zone)."""
    subscribers = User.objects.annotate(address=Lower("email")).filter(
        is_active=True,
        address__in=subscribed_emails(category=Category.USAGE_SUMMARY),
    )
    due: dict[date, list[int]] = {}
    for zone in subscribers.values_list("time_zone", flat=True).distinct():
        local_day = now.astimezone(ZoneInfo(zone or "UTC")).date()
        if local_day.day != 1:
            continue
        month = previous_month(local_day)
        due.setdefault(month, []).extend(
            subscribers.filter(time_zone=zone)
            .exclude(pk__in=UsageSummaryDelivery.objects.filter(month=month).values("host_id"))
            .order_by("pk")
            .values_list("pk", flat=True)
        )
    return due


def dispatch_due(*, now: datetime | None = None) -> int:
    """Beat, hourly: hand the due hosts to workers in batches; returns how many."""
    from .tasks import send_usage_summary_batch

    handed_out = 0
    for month, host_ids in due_hosts(now or timezone.now()).items():
        for first in range(0, len(host_ids), BATCH):
            send_usage_summary_batch.delay(host_ids[first : first + BATCH], month.isoformat())
            handed_out += len(host_ids[first : first + BATCH])
    return handed_out


def send_batch(host_ids: list[int], month: date) -> int:
    sent = 0
    for host in User.objects.filter(pk__in=host_ids).order_by("pk"):
        sent += send_summary(host, month)
    return sent


def send_summary(host: User, month: date) -> bool:
    """Send `host` the summary of `month` unless it went already; True if it goes now."""
    # The choice is read now: an unsubscribe since the scan stops it.
    if not may_send(email=host.email, category=Category.USAGE_SUMMARY):
        return False
    try:
        with transaction.atomic():
            UsageSummaryDelivery.objects.create(host=host, month=month)
            _email(host, usage_of(host, month))
    except IntegrityError:
        return False  # sent by an earlier run, or by a parallel one that committed first
    return True


def _email(host: User, usage: Usage) -> None:
    zone = ZoneInfo(host.time_zone or "UTC")
    context = {
        "usage": usage,
        "month_name": dateformat.format(usage.month, "F Y"),
        "recording_megabytes": round(usage.recording_bytes / 1_000_000, 1),
        "expiring": [
            (
                r.title,
                dateformat.format(r.expires_at.astimezone(zone), "j F Y") if r.expires_at else "",
            )
            for r in usage.expiring
        ],
        "more_recordings": max(0, usage.recordings_stored - len(usage.expiring)),
        "site_name": settings.SITE_NAME,
    }
    send_email(
        to=host.email,
        subject=f"Your {settings.SITE_NAME} month: {context['month_name']}",
        text=render_to_string("meetings/email/usage_summary.txt", context),
        html=render_to_string("meetings/email/usage_summary.html", context),
        category=Category.USAGE_SUMMARY,
    )
