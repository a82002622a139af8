"""Newsletter writes: double opt-in sign-ups, drafts, and sending in throttled batches.

Sending moves a newsletter draft -> sending -> sent, each move a conditional UPDATE, so
a double click or a duplicate task cannot send an issue twice. The recipients are
frozen into `NewsletterDelivery` rows when sending starts; each batch claims its own
rows and checks the suppression list again for each address.
"""

from datetime import timedelta
from functools import partial
from html import escape
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from .. import mailer, services
from ..email_categories import Category
from ..markdown import render_markdown
from ..models import Newsletter, NewsletterDelivery, NewsletterSignup, OutgoingEmail
from ..selectors import may_send
from ..tokens import NEWSLETTER_CONFIRM_MAX_AGE, make_newsletter_confirm_token
from . import selectors

CONFIRMATIONS_PER_DAY = 3
CONFIRMATION_WINDOW = timedelta(days=1)
TEST_SUBJECT_PREFIX = "[Test] "

Status = Newsletter.Status
Delivery = NewsletterDelivery.Status


class TooManyConfirmations(Exception):
    message = (
        "We have already sent three confirmation emails to this address today. "
        "Please use the link in one of them, or try again tomorrow."
    )


class NoSignup(Exception):
    message = "This confirmation link is no longer valid. Sign up again to get a new one."


class NotADraft(Exception):
    """Only a draft may be edited or sent."""

    def __init__(self, newsletter: Newsletter) -> None:
        self.newsletter = newsletter
        state = newsletter.get_status_display().lower()
        super().__init__(f"“{newsletter.subject}” is {state}: it can no longer be edited or sent.")


# Sign-up (double opt-in) ---------------------------------------------------------------


def request_signup(*, email: str) -> None:
    """Send a confirmation link; nothing else goes to the address until it is clicked.

    The same happens whether or not the address is subscribed already, so the answer
    tells a visitor nothing about anyone. At most three links a day per address.
    """
    email = email.strip().lower()
    now = timezone.now()
    signup, _ = NewsletterSignup.objects.get_or_create(email=email, defaults={"requested_at": now})
    # `requested_at` opens a one-day window for the confirmations counted in it.
    NewsletterSignup.objects.filter(
        pk=signup.pk, requested_at__lte=now - CONFIRMATION_WINDOW
    ).update(requested_at=now, confirmations_sent=0)
    claimed = NewsletterSignup.objects.filter(
        pk=signup.pk, confirmations_sent__lt=CONFIRMATIONS_PER_DAY
    ).update(confirmations_sent=F("confirmations_sent") + 1)
    if not claimed:
        raise TooManyConfirmations()
    url = settings.SITE_URL + reverse(
        "newsletter:confirm", args=[make_newsletter_confirm_token(email=email)]
    )
    context = {
        "url": url,
        "days": NEWSLETTER_CONFIRM_MAX_AGE.days,
        "site_name": settings.SITE_NAME,
        "postal_address": settings.COMPANY_POSTAL_ADDRESS,
    }
    mailer.send_email(
        to=email,
        subject=f"Confirm your subscription to the {settings.SITE_NAME} newsletter",
        text=render_to_string("privacy/email/newsletter_confirm.txt", context),
        html=render_to_string("privacy/email/newsletter_confirm.html", context),
        category=Category.TRANSACTIONAL,
    )


@transaction.atomic
def confirm_signup(*, email: str) -> None:
    """The link was clicked and the button pressed: subscribe, and log the consent."""
    email = email.lower()
    if not NewsletterSignup.objects.filter(email=email).update(confirmed_at=timezone.now()):
        raise NoSignup()
    services.set_subscription(
        email=email,
        category=Category.NEWSLETTER,
        subscribed=True,
        source=services.Source.DOUBLE_OPT_IN,
    )


# Drafts -------------------------------------------------------------------------------


def create_draft(*, subject: str, body_markdown: str, created_by: Any) -> Newsletter:
    return Newsletter.objects.create(
        subject=subject, body_markdown=body_markdown, created_by=created_by
    )


def update_draft(*, newsletter: Newsletter, subject: str, body_markdown: str) -> None:
    updated = Newsletter.objects.filter(pk=newsletter.pk, status=Status.DRAFT).update(
        subject=subject, body_markdown=body_markdown, updated_at=timezone.now()
    )
    if not updated:
        newsletter.refresh_from_db()
        raise NotADraft(newsletter)


def compose(
    *, subject: str, body_markdown: str, footer: mailer.Footer | None = None
) -> tuple[str, str]:
    """The text and HTML bodies of an issue, with `footer` when it is shown by hand."""
    text = body_markdown.strip()
    body = f"<h1>{escape(subject)}</h1>\n{render_markdown(body_markdown)}"
    if footer is not None:
        text += "\n\n" + footer.text
        body += footer.html
    return text, f"<!DOCTYPE html><html><body>\n{body}\n</body></html>"


def send_test(*, newsletter: Newsletter, to: str) -> OutgoingEmail:
    """The issue as a subscriber will get it, to the staff member's own address.

    A test is a service message to the person who asked for it, so it goes out even if
    they do not receive the newsletter; its footer is the one subscribers get.
    """
    footer = mailer.subscription_footer(email=to, category=Category.NEWSLETTER)
    text, html = compose(
        subject=newsletter.subject, body_markdown=newsletter.body_markdown, footer=footer
    )
    return mailer.send_email(
        to=to,
        subject=TEST_SUBJECT_PREFIX + newsletter.subject,
        text=text,
        html=html,
        category=Category.TRANSACTIONAL,
    )


# Sending ------------------------------------------------------------------------------


def start_sending(*, newsletter: Newsletter) -> None:
    """Draft -> sending, once: a second click finds no draft and is refused."""
    started = Newsletter.objects.filter(pk=newsletter.pk, status=Status.DRAFT).update(
        status=Status.SENDING, send_started_at=timezone.now()
    )
    if not started:
        newsletter.refresh_from_db()
        raise NotADraft(newsletter)
    from .tasks import snapshot_newsletter

    newsletter_id = newsletter.pk
    transaction.on_commit(lambda: snapshot_newsletter.delay(newsletter_id))


@transaction.atomic
def snapshot_recipients(*, newsletter_id: int) -> list[int]:
    """Freeze the recipients into numbered batches and schedule one task per batch.

    Batch n starts n x NEWSLETTER_BATCH_INTERVAL_SECONDS from now. Run again (a retried
    task), it keeps the first snapshot and schedules the batches still pending.
    """
    newsletter = (
        Newsletter.objects.select_for_update()
        .filter(pk=newsletter_id, status=Status.SENDING)
        .first()
    )
    if newsletter is None:
        return []
    if not newsletter.deliveries.exists():
        emails = selectors.newsletter_recipients()
        size = max(1, settings.NEWSLETTER_BATCH_SIZE)
        NewsletterDelivery.objects.bulk_create(
            [
                NewsletterDelivery(newsletter=newsletter, email=email, batch=index // size)
                for index, email in enumerate(emails)
            ],
            batch_size=1000,
            ignore_conflicts=True,
        )
        Newsletter.objects.filter(pk=newsletter_id).update(recipients=len(emails))
    batches = sorted(
        set(newsletter.deliveries.filter(status=Delivery.PENDING).values_list("batch", flat=True))
    )
    if not batches:
        _finish_if_done(newsletter_id)
        return []
    for batch in batches:
        transaction.on_commit(partial(_schedule_batch, newsletter_id, batch))
    return batches


def _schedule_batch(newsletter_id: int, batch: int) -> None:
    from .tasks import send_newsletter_batch

    countdown = batch * settings.NEWSLETTER_BATCH_INTERVAL_SECONDS
    send_newsletter_batch.apply_async(args=[newsletter_id, batch], countdown=countdown)


def send_batch(*, newsletter_id: int, batch: int) -> int:
    """Hand one batch to the mailer; returns how many messages were queued.

    Each delivery is claimed pending -> queued before its message is written, so a
    duplicate task finds nothing left to send. An address that unsubscribed since the
    snapshot is skipped.
    """
    newsletter = Newsletter.objects.filter(pk=newsletter_id, status=Status.SENDING).first()
    if newsletter is None:
        return 0
    text, html = compose(subject=newsletter.subject, body_markdown=newsletter.body_markdown)
    queued = 0
    with transaction.atomic():
        rows = list(
            NewsletterDelivery.objects.select_for_update(skip_locked=True)
            .filter(newsletter_id=newsletter_id, batch=batch, status=Delivery.PENDING)
            .order_by("pk")
        )
        for row in rows:
            claim = NewsletterDelivery.objects.filter(pk=row.pk, status=Delivery.PENDING)
            if not may_send(email=row.email, category=Category.NEWSLETTER):
                claim.update(status=Delivery.SUPPRESSED, processed_at=timezone.now())
                continue
            if not claim.update(status=Delivery.QUEUED, processed_at=timezone.now()):
                continue
            outgoing = mailer.send_email(
                to=row.email,
                subject=newsletter.subject,
                text=text,
                html=html,
                category=Category.NEWSLETTER,
            )
            NewsletterDelivery.objects.filter(pk=row.pk).update(outgoing=outgoing)
            queued += 1
    _finish_if_done(newsletter_id)
    return queued


def _finish_if_done(newsletter_id: int) -> None:
    pending = NewsletterDelivery.objects.filter(
        newsletter_id=OuterRef("pk"), status=Delivery.PENDING
    )
    Newsletter.objects.filter(pk=newsletter_id, status=Status.SENDING).exclude(
        Exists(pending)
    ).update(status=Status.SENT, sent_at=timezone.now())
