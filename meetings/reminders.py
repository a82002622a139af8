"""Meeting reminders: 24 hours and 10 minutes before each sitting, to the host and every
invitee, each exactly once.

The beat scan (every minute) arms a sitting whose reminder falls due: one
`ReminderDelivery` row per recipient, all in one transaction, keyed by (sitting, kind,
start, address), so a second scan, running twice or at the same time, inserts nothing.
It hands the pending rows to workers in batches. A worker locks a batch's pending rows,
queues their emails to the outbox and marks the rows sent in one transaction: a worker
killed before the commit leaves them pending (and no email), a duplicate task skips the
locked rows and later finds them sent. Rows a dead worker left pending are handed out
again by a later scan once their dispatch lease has run out.

Rescheduling re-arms: the key holds the start a row was armed for, so the new start is a
new key, and a row armed for the old start is skipped at send time. Cancelled sittings
are never armed, and a row armed before the cancellation is skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from privacy.email_categories import Category
from privacy.mailer import send_emails
from privacy.selectors import may_send_to

from . import reminder_mail
from .models import Invitation, Meeting, Occurrence, ReminderDelivery

logger = logging.getLogger(__name__)

Kind = ReminderDelivery.Kind
Status = ReminderDelivery.Status
# How long before the start each reminder is due, and for how long after that a late
# scan (beat was down) still sends it rather than a reminder that is no longer true.
LEADS: dict[str, timedelta] = {
    Kind.DAY_BEFORE: timedelta(hours=24),
    Kind.SOON: timedelta(minutes=10),
}
LATENESS: dict[str, timedelta] = {
    Kind.DAY_BEFORE: timedelta(minutes=15),
    Kind.SOON: timedelta(minutes=10),
}
BATCH = 200


def due_sittings(kind: str, now: datetime) -> QuerySet[Occurrence]:
    """Scheduled sittings of scheduled meetings whose `kind` reminder is due and not yet
    armed for their current start (the query the partial start index serves)."""
    lead = LEADS[kind]
    armed = ReminderDelivery.objects.filter(
        occurrence=OuterRef("pk"), kind=kind, starts_at=OuterRef("starts_at")
    )
    return Occurrence.objects.filter(
        status=Occurrence.Status.SCHEDULED,
        meeting__status=Meeting.Status.SCHEDULED,
        starts_at__gt=now + lead - LATENESS[kind],
        starts_at__lte=now + lead,
    ).filter(~Exists(armed))


def arm(kind: str, now: datetime) -> int:
    """Insert the pending rows of every sitting that has come due; returns how many."""
    sittings = list(
        due_sittings(kind, now)
        .select_related("meeting__host")
        .only("pk", "starts_at", "meeting__id", "meeting__host__email")
    )
    if not sittings:
        return 0
    invitees: dict[int, list[tuple[int, str]]] = {}
    for pk, meeting_id, email in Invitation.objects.filter(
        meeting_id__in={o.meeting_id for o in sittings}
    ).values_list("pk", "meeting_id", "email"):
        invitees.setdefault(meeting_id, []).append((pk, email))
    rows = []
    for sitting in sittings:
        common = {"occurrence_id": sitting.pk, "starts_at": sitting.starts_at, "kind": kind}
        rows.append(ReminderDelivery(email=sitting.meeting.host.email.lower(), **common))
        rows += [
            ReminderDelivery(email=email.lower(), invitation_id=pk, **common)
            for pk, email in invitees.get(sitting.meeting_id, [])
        ]
    # A parallel scan that armed the same sittings first makes these no-ops.
    created = ReminderDelivery.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
    return len(created)


def scan(*, now: datetime | None = None) -> int:
    """Beat, every minute: arm what has come due, then hand out pending rows in batches
    (new ones, and those whose worker's lease ran out). Returns how many were handed out."""
    now = now or timezone.now()
    for kind in LEADS:
        arm(kind, now)
    lease = timedelta(seconds=settings.REMINDER_DISPATCH_LEASE_SECONDS)
    handed_out = 0
    while True:
        with transaction.atomic():
            # Two scans at once split the rows between them instead of both taking all.
            ids = list(
                ReminderDelivery.objects.select_for_update(skip_locked=True)
                .filter(status=Status.PENDING)
                .filter(Q(dispatched_at__isnull=True) | Q(dispatched_at__lt=now - lease))
                .order_by("pk")
                .values_list("pk", flat=True)[:BATCH]
            )
            if not ids:
                return handed_out
            ReminderDelivery.objects.filter(pk__in=ids).update(dispatched_at=now)
        _dispatch(ids)
        handed_out += len(ids)


def _dispatch(ids: list[int]) -> None:
    from .tasks import send_reminders

    try:
        send_reminders.delay(ids)
    except Exception:
        # The rows stay pending with their dispatch time: a later scan hands them out.
        logger.exception("Reminders %s..%s not dispatched", ids[0], ids[-1])


def send(ids: Iterable[int], *, now: datetime | None = None) -> int:
    """Send the pending reminders among `ids`, each once; returns how many were queued.

    One transaction per batch: the rows are locked and marked as the emails are queued,
    so the batch commits whole or not at all. A duplicate task skips the locked rows and
    finds them sent once they are free; a worker killed before the commit leaves them
    pending for the scan to hand out again.
    """
    now = now or timezone.now()
    with transaction.atomic():
        rows = list(
            ReminderDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(pk__in=list(ids), status=Status.PENDING)
            .select_related("occurrence__meeting__host", "invitation__meeting")
            # The calendars read each meeting's sittings, and the host's its invitees.
            .prefetch_related(
                "occurrence__meeting__occurrences", "occurrence__meeting__invitations"
            )
            .order_by("pk")
        )
        # Read now, at send time, so a choice made after the row was armed counts.
        allowed = may_send_to(
            emails={row.email for row in rows}, category=Category.MEETING_REMINDERS
        )
        zones = reminder_mail.account_zones({row.email for row in rows})
        skipped: dict[str, list[int]] = {}
        sent: list[int] = []
        emails = []
        for row in rows:
            reason = _reason_not_to_send(row, now) or (
                "" if row.email in allowed else "unsubscribed"
            )
            if reason:
                skipped.setdefault(reason, []).append(row.pk)
                continue
            emails.append(reminder_mail.reminder_email(row, zone=zones.get(row.email)))
            sent.append(row.pk)
        # One INSERT for the batch's emails; the outbox delivers them in batches too.
        send_emails(emails)
        ReminderDelivery.objects.filter(pk__in=sent).update(status=Status.SENT, sent_at=now)
        for reason, pks in skipped.items():
            ReminderDelivery.objects.filter(pk__in=pks).update(
                status=Status.SKIPPED, skip_reason=reason
            )
    return len(sent)


def _reason_not_to_send(row: ReminderDelivery, now: datetime) -> str:
    sitting = row.occurrence
    if sitting.status != Occurrence.Status.SCHEDULED:
        return "sitting cancelled" if sitting.status == Occurrence.Status.CANCELLED else "started"
    if sitting.meeting.status != Meeting.Status.SCHEDULED:
        return "meeting cancelled"
    if sitting.starts_at != row.starts_at:
        return "sitting moved"  # its new start was armed under a key of its own
    if sitting.starts_at <= now:
        return "too late"
    return ""
