from typing import Any

from allauth.account.models import EmailAddress
from django.db.models import QuerySet

from .email_categories import SUBSCRIPTIONS, Category, subscription
from .models import EmailPreference


def may_send(*, email: str, category: str) -> bool:
    """Whether a message of `category` may go to `email` right now."""
    if category == Category.TRANSACTIONAL:
        return True
    choice = (
        EmailPreference.objects.filter(email=email.lower(), category=category)
        .values_list("subscribed", flat=True)
        .first()
    )
    if choice is None:
        return subscription(category).subscribed_by_default
    return choice


def may_send_to(*, emails: set[str], category: str) -> set[str]:
    """Which of `emails` (lower-cased) may get `category` now: `may_send` for many."""
    if category == Category.TRANSACTIONAL:
        return set(emails)
    choices = dict(
        EmailPreference.objects.filter(email__in=emails, category=category).values_list(
            "email", "subscribed"
        )
    )
    default = subscription(category).subscribed_by_default
    return {email for email in emails if choices.get(email, default)}


def subscribed_emails(*, category: str) -> QuerySet[EmailPreference, str]:
    """The (lower-cased) addresses that asked for `category`, an opt-in subscription."""
    return EmailPreference.objects.filter(category=category, subscribed=True).values_list(
        "email", flat=True
    )


def preferences_for(*, email: str) -> dict[str, bool]:
    """Each subscription category mapped to whether `email` receives it."""
    saved = dict(
        EmailPreference.objects.filter(email=email.lower()).values_list("category", "subscribed")
    )
    return {s.category: saved.get(s.category, s.subscribed_by_default) for s in SUBSCRIPTIONS}


def suppression_list(*, search: str = "") -> QuerySet[EmailPreference]:
    rows = EmailPreference.objects.filter(subscribed=False).order_by("-changed_at")
    if search:
        rows = rows.filter(email__icontains=search.strip())
    return rows


def address_is_verified(*, user: Any) -> bool:
    """Whether the account's current address was confirmed by a link sent to it."""
    return EmailAddress.objects.filter(user=user, email__iexact=user.email, verified=True).exists()
