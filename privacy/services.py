"""Writes to email preferences. The suppression list is the set of opted-out rows."""

from django.db import transaction

from .email_categories import MARKETING_CATEGORIES, SUBSCRIPTION_CATEGORIES
from .models import EmailPreference, OutgoingEmail

Source = EmailPreference.Source


def set_subscription(*, email: str, category: str, subscribed: bool, source: str) -> None:
    if category not in SUBSCRIPTION_CATEGORIES:
        raise ValueError(f"{category!r} is not a subscription category")
    EmailPreference.objects.update_or_create(
        email=email.lower(),
        category=category,
        defaults={"subscribed": subscribed, "source": source},
    )


def unsubscribe(*, email: str, category: str, source: str) -> None:
    """Stop `category` for `email` at once: the mailer checks this at send time."""
    set_subscription(email=email, category=category, subscribed=False, source=source)


@transaction.atomic
def set_preferences(*, email: str, choices: dict[str, bool], source: str) -> None:
    for category, subscribed in choices.items():
        set_subscription(email=email, category=category, subscribed=subscribed, source=source)


def record_signup_choice(*, email: str, marketing_opt_in: bool) -> None:
    """The sign-up checkbox: unticked by default, and only a tick subscribes."""
    if marketing_opt_in:
        set_preferences(
            email=email,
            choices={category: True for category in MARKETING_CATEGORIES},
            source=Source.SIGNUP,
        )


def erase_email(*, email: str) -> None:
    """Forget an address: its preferences and whatever the send log holds for it."""
    EmailPreference.objects.filter(email=email.lower()).delete()
    OutgoingEmail.objects.filter(to__iexact=email).delete()
