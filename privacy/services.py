"""Writes to email preferences and the consent log.

The suppression list is the set of opted-out rows. Every change of a choice is written
to the consent log (`EmailConsentEvent`) here, so no caller can forget it: directly for
choices made on a page, by the `record_unsubscribe` task for unsubscribe clicks.
"""

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from . import audit
from .email_categories import MARKETING_CATEGORIES, SUBSCRIPTION_CATEGORIES, Category
from .models import (
    EmailConsentEvent,
    EmailPreference,
    NewsletterDelivery,
    NewsletterSignup,
    OutgoingEmail,
)

Source = EmailPreference.Source


def set_subscription(*, email: str, category: str, subscribed: bool, source: str) -> bool:
    """Save one choice; a new or changed choice goes to the consent log.

    Returns whether anything changed.
    """
    with transaction.atomic():
        changed = _save_choice(email=email, category=category, subscribed=subscribed, source=source)
        if changed:
            EmailConsentEvent.objects.create(
                email=email.lower(),
                category=category,
                subscribed=subscribed,
                source=source,
                at=timezone.now(),
            )
            _audit_email_consent(
                email=email, category=category, subscribed=subscribed, source=source
            )
    return changed


def _audit_email_consent(*, email: str, category: str, subscribed: bool, source: str) -> None:
    # The audit log keeps a keyed hash in place of the address (privacy/audit.py).
    audit.record(
        actor="the person" if source != Source.STAFF else "staff",
        action="email_consent.subscribed" if subscribed else "email_consent.unsubscribed",
        target_type="email",
        target_id=email.lower(),
        purpose="record an email subscription choice",
        details={"category": category, "source": source},
    )


def unsubscribe(*, email: str, category: str, source: str) -> bool:
    """Stop `category` for `email` at once: the mailer checks this at send time.

    The consent log entry and the sweep of already queued mail happen in a task once
    this commits. Returns whether the address was receiving the category until now.
    """
    at = timezone.now()
    email = email.lower()
    changed = _save_choice(email=email, category=category, subscribed=False, source=source)
    if changed:
        from .tasks import record_unsubscribe as task

        transaction.on_commit(lambda: task.delay(email, category, source, at.isoformat()))
    return changed


@transaction.atomic
def record_unsubscribe(*, email: str, category: str, source: str, at: datetime) -> None:
    """Log an unsubscribe click and drop that category's mail still waiting in the outbox.

    Safe to run twice: the click's own time identifies its log entry.
    """
    email = email.lower()
    # The lock makes a duplicate task wait here, then find the first one's entry.
    current = (
        EmailPreference.objects.select_for_update()
        .filter(email=email, category=category)
        .values_list("subscribed", flat=True)
        .first()
    )
    if current is None:
        return  # the address was erased since the click: keep nothing about it
    event = {"email": email, "category": category, "subscribed": False, "source": source}
    if not EmailConsentEvent.objects.filter(**event, at=at).exists():
        EmailConsentEvent.objects.create(**event, at=at)
        _audit_email_consent(email=email, category=category, subscribed=False, source=source)
    if current is False:
        OutgoingEmail.objects.filter(
            to__iexact=email, category=category, status=OutgoingEmail.Status.QUEUED
        ).update(
            status=OutgoingEmail.Status.SUPPRESSED,
            text_body="",
            html_body="",
            attachments=[],
            calendar="",
        )


@transaction.atomic
def set_preferences(*, email: str, choices: dict[str, bool], source: str) -> None:
    for category, subscribed in choices.items():
        set_subscription(email=email, category=category, subscribed=subscribed, source=source)


def record_signup_choice(
    *, email: str, marketing_opt_in: bool, usage_summary_opt_in: bool = False
) -> None:
    """The sign-up checkboxes: unticked by default, and only a tick subscribes."""
    choices: dict[str, bool] = (
        {category: True for category in MARKETING_CATEGORIES} if marketing_opt_in else {}
    )
    if usage_summary_opt_in:
        choices[Category.USAGE_SUMMARY] = True
    if choices:
        set_preferences(email=email, choices=choices, source=Source.SIGNUP)


@transaction.atomic
def erase_email(*, email: str) -> None:
    """Forget an address: its preferences, consent history, newsletter sign-up and
    whatever the send logs hold for it."""
    address = email.lower()
    EmailPreference.objects.filter(email=address).delete()
    EmailConsentEvent.objects.filter(email=address).delete()
    NewsletterSignup.objects.filter(email__iexact=address).delete()
    NewsletterDelivery.objects.filter(email__iexact=address).delete()
    OutgoingEmail.objects.filter(to__iexact=email).delete()


def _save_choice(*, email: str, category: str, subscribed: bool, source: str) -> bool:
    """Write the choice the mailer reads; True when it is new or differs from before."""
    if category not in SUBSCRIPTION_CATEGORIES:
        raise ValueError(f"{category!r} is not a subscription category")
    email = email.lower()
    with transaction.atomic():
        rows = EmailPreference.objects.select_for_update().filter(email=email, category=category)
        row = rows.first()
        if row is None:
            try:
                with transaction.atomic():
                    EmailPreference.objects.create(
                        email=email, category=category, subscribed=subscribed, source=source
                    )
                return True
            except IntegrityError:  # a parallel request created it first
                row = rows.get()
        if row.subscribed == subscribed:
            return False  # the suppression list keeps when and how it first stopped
        row.subscribed, row.source = subscribed, source
        row.save(update_fields=["subscribed", "source", "changed_at"])
        return True
