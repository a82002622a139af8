from django.db.models import Count, QuerySet

from ..email_categories import Category, subscription
from ..models import EmailPreference, Newsletter, NewsletterDelivery, OutgoingEmail


def newsletter_recipients() -> list[str]:
    """Every address `may_send` allows the newsletter to right now, sorted.

    The newsletter is off by default, so only an explicit subscription (a confirmed
    sign-up, a ticked box on a page) puts an address on this list.
    """
    assert not subscription(Category.NEWSLETTER).subscribed_by_default
    return list(
        EmailPreference.objects.filter(category=Category.NEWSLETTER, subscribed=True)
        .order_by("email")
        .values_list("email", flat=True)
    )


def recipient_count() -> int:
    return EmailPreference.objects.filter(category=Category.NEWSLETTER, subscribed=True).count()


def newsletters() -> QuerySet[Newsletter]:
    return Newsletter.objects.select_related("created_by").order_by("-created_at")


def deliveries_of(*, newsletter: Newsletter) -> QuerySet[NewsletterDelivery]:
    """The send log, in send order, with each message's outbox row."""
    return newsletter.deliveries.select_related("outgoing").order_by("batch", "email")


def delivery_counts(*, newsletter: Newsletter) -> dict[str, int]:
    """How many deliveries are in each status, every status present."""
    rows = newsletter.deliveries.values("status").annotate(n=Count("pk"))
    counts = {row["status"]: row["n"] for row in rows}
    return {status: counts.get(status, 0) for status in NewsletterDelivery.Status.values}


def outbox_counts(*, newsletter: Newsletter) -> dict[str, int]:
    """What became of the messages handed to the mailer: sent, suppressed, failed..."""
    rows = (
        newsletter.deliveries.filter(outgoing__isnull=False)
        .values("outgoing__status")
        .annotate(n=Count("pk"))
    )
    counts = {row["outgoing__status"]: row["n"] for row in rows}
    return {status: counts.get(status, 0) for status in OutgoingEmail.Status.values}
