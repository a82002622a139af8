"""The kinds of email we send, and who receives each by default.

Transactional mail (sign-in links, password resets, invitations, receipts, legal
notices) always goes out. Every other category is a subscription that the person can
stop with one click; marketing ones are sent only after an explicit opt-in.
"""

from dataclasses import dataclass

from django.db import models


class Category(models.TextChoices):
    TRANSACTIONAL = "transactional", "Account and service messages"
    NEWSLETTER = "newsletter", "Newsletter and product updates"
    MEETING_REMINDERS = "meeting_reminders", "Meeting reminders"
    PROMOTIONS = "promotions", "Offers and promotions"
    SURVEYS = "surveys", "Surveys and feedback requests"
    USAGE_SUMMARY = "usage_summary", "Monthly usage summary"


@dataclass(frozen=True)
class Subscription:
    category: Category
    description: str
    subscribed_by_default: bool


SUBSCRIPTIONS: tuple[Subscription, ...] = (
    Subscription(Category.NEWSLETTER, "News about the product, a few times a year.", False),
    Subscription(
        Category.MEETING_REMINDERS, "A reminder before meetings you host or were invited to.", True
    ),
    Subscription(Category.PROMOTIONS, "Discounts and offers on paid plans.", False),
    Subscription(Category.SURVEYS, "Short questions about how the product works for you.", False),
    Subscription(
        Category.USAGE_SUMMARY,
        "Once a month, to hosts: meetings held, people met, minutes, recordings stored "
        "and when they expire, and use of the plan's limits.",
        False,
    ),
)
SUBSCRIPTION_CATEGORIES = frozenset(s.category for s in SUBSCRIPTIONS)
MARKETING_CATEGORIES = frozenset({Category.NEWSLETTER, Category.PROMOTIONS})


def subscription(category: str) -> Subscription:
    for item in SUBSCRIPTIONS:
        if item.category == category:
            return item
    raise ValueError(f"{category!r} is not a subscription category")
