"""Scheduled care of the request log: reminders, lapsed links, expired files, the purge."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.roles import PRIVACY_ADMIN, holders_of
from privacy.deadlines import legal_today
from privacy.email_categories import Category
from privacy.mailer import send_email
from privacy.models import PrivacyRequest

from . import states
from .clocks import REMINDER_DAYS
from .exports import export_path

State = PrivacyRequest.State
# An unverified request whose link was never used closes after this long.
UNVERIFIED_LAPSE = timedelta(days=30)
# The request log (and each notice) is kept this long after the request closed.
LOG_RETENTION = timedelta(days=730)


def send_due_reminders() -> int:
    """Tell the privacy admins about requests 7 and 2 days before they are due; once each."""
    today = legal_today()  # due dates are California dates
    sent = 0
    admins = list(holders_of(PRIVACY_ADMIN).values_list("email", flat=True))
    for days in REMINDER_DAYS:
        due = today + timedelta(days=days)
        for request in PrivacyRequest.objects.filter(
            state__in=(State.RECEIVED, State.IN_PROGRESS), due_on=due
        ):
            if days in request.reminders_sent:
                continue
            # Claim the reminder first, so a second beat run sends nothing.
            claimed = PrivacyRequest.objects.filter(
                pk=request.pk, reminders_sent=request.reminders_sent
            ).update(reminders_sent=[*request.reminders_sent, days])
            if not claimed:
                continue
            link = settings.SITE_URL + reverse("privacy:staff_request", args=[request.reference])
            text = render_to_string(
                "privacy/requests/email/reminder.txt",
                {"request": request, "days": days, "link": link},
            )
            for email in admins:
                send_email(
                    to=email,
                    subject=f"Privacy request {request.reference} is due in {days} days",
                    text=text,
                    category=Category.TRANSACTIONAL,
                )
            sent += 1
    return sent


def lapse_unverified() -> int:
    cutoff = timezone.now() - UNVERIFIED_LAPSE
    lapsed = 0
    for pk in PrivacyRequest.objects.filter(
        state=State.UNVERIFIED, received_at__lt=cutoff
    ).values_list("pk", flat=True):
        lapsed += states.move_from(
            pk,
            current=State.UNVERIFIED,
            to=State.LAPSED,
            outcome="The requester never confirmed their email address.",
        )
    return lapsed


def remove_expired_exports() -> int:
    """Files whose link expired, and held ones never released (the request was closed)."""
    removed = 0
    expired = Q(export_expires_at__lt=timezone.now())
    never_released = Q(export_expires_at__isnull=True, state__in=states.CLOSED)
    for request in PrivacyRequest.objects.filter(expired | never_released).exclude(export_file=""):
        export_path(request).unlink(missing_ok=True)
        removed += PrivacyRequest.objects.filter(
            pk=request.pk, export_file=request.export_file
        ).update(export_file="")
    return removed


def purge_old_requests() -> int:
    """Requests closed more than 24 months ago go, with their history and notice."""
    cutoff = timezone.now() - LOG_RETENTION
    _, per_model = PrivacyRequest.objects.filter(
        state__in=states.CLOSED, closed_at__lt=cutoff
    ).delete()
    return per_model.get("privacy.PrivacyRequest", 0)
