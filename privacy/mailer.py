"""The one way out for email.

`send_email` stores the message in the outbox and hands its id to a Celery task once
the transaction commits. The task checks the suppression list again at send time, so a
message queued before an unsubscribe click is not sent. Subscription mail carries a
footer unsubscribe link, the postal address, and the RFC 8058 one-click headers.
"""

import logging
from datetime import timedelta
from html import escape

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from .email_categories import Category
from .models import OutgoingEmail
from .selectors import may_send
from .tokens import make_unsubscribe_token

logger = logging.getLogger(__name__)

# A claim older than this belongs to a worker that died mid-send: take it over.
STALE_CLAIM = timedelta(minutes=10)


def unsubscribe_url(*, email: str, category: str) -> str:
    token = make_unsubscribe_token(email=email, category=category)
    return settings.SITE_URL + reverse("privacy:unsubscribe", args=[token])


def send_email(
    *,
    to: str,
    subject: str,
    text: str,
    category: str,
    html: str = "",
) -> OutgoingEmail:
    """Queue one message to one recipient; it leaves after the current transaction."""
    category = Category(category)
    outgoing = OutgoingEmail.objects.create(
        to=to, category=category, subject=subject[:255], text_body=text, html_body=html
    )
    if not may_send(email=to, category=category):
        _mark_suppressed(outgoing.pk)
        outgoing.refresh_from_db()
        return outgoing
    from .tasks import deliver_email

    transaction.on_commit(lambda: deliver_email.delay(outgoing.pk))
    return outgoing


def deliver(outgoing_id: int) -> OutgoingEmail.Status | None:
    """Send a queued message. Safe to call twice: only one caller claims the row."""
    now = timezone.now()
    claimed = OutgoingEmail.objects.filter(
        Q(status=OutgoingEmail.Status.QUEUED)
        | Q(status=OutgoingEmail.Status.SENDING, claimed_at__lt=now - STALE_CLAIM),
        pk=outgoing_id,
    ).update(status=OutgoingEmail.Status.SENDING, claimed_at=now, attempts=F("attempts") + 1)
    if not claimed:
        return None
    outgoing = OutgoingEmail.objects.get(pk=outgoing_id)
    if not may_send(email=outgoing.to, category=outgoing.category):
        _mark_suppressed(outgoing_id)
        return OutgoingEmail.Status.SUPPRESSED
    try:
        build_message(outgoing).send()
    except Exception as exc:
        OutgoingEmail.objects.filter(pk=outgoing_id).update(
            status=OutgoingEmail.Status.QUEUED, last_error=str(exc)[:500]
        )
        raise
    OutgoingEmail.objects.filter(pk=outgoing_id).update(
        status=OutgoingEmail.Status.SENT, sent_at=timezone.now(), text_body="", html_body=""
    )
    return OutgoingEmail.Status.SENT


def give_up(outgoing_id: int, reason: str) -> None:
    OutgoingEmail.objects.filter(pk=outgoing_id).update(
        status=OutgoingEmail.Status.FAILED, last_error=reason[:500], text_body="", html_body=""
    )


def build_message(outgoing: OutgoingEmail) -> EmailMultiAlternatives:
    text, html, headers = outgoing.text_body, outgoing.html_body, {}
    if outgoing.category != Category.TRANSACTIONAL:
        url = unsubscribe_url(email=outgoing.to, category=outgoing.category)
        text = text.rstrip() + "\n\n" + _footer_text(outgoing.category, url)
        if html:
            html = _with_html_footer(html, _footer_html(outgoing.category, url))
        headers = {
            "List-Unsubscribe": f"<{url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }
    message = EmailMultiAlternatives(
        subject=outgoing.subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[outgoing.to],
        headers=headers,
    )
    if html:
        message.attach_alternative(html, "text/html")
    return message


def _mark_suppressed(outgoing_id: int) -> None:
    OutgoingEmail.objects.filter(pk=outgoing_id).update(
        status=OutgoingEmail.Status.SUPPRESSED, text_body="", html_body=""
    )


def _footer_text(category: str, url: str) -> str:
    label = Category(category).label
    return (
        "--\n"
        f"You receive this because you are subscribed to “{label}”.\n"
        f"Unsubscribe with one click: {url}\n"
        f"{settings.SITE_NAME} · {settings.COMPANY_POSTAL_ADDRESS}"
    )


def _footer_html(category: str, url: str) -> str:
    label = escape(Category(category).label)
    return (
        '<hr><p style="font-size:12px;color:#555">'
        f"You receive this because you are subscribed to “{label}”. "
        f'<a href="{escape(url)}">Unsubscribe</a> with one click.<br>'
        f"{escape(settings.SITE_NAME)} · {escape(settings.COMPANY_POSTAL_ADDRESS)}</p>"
    )


def _with_html_footer(html: str, footer: str) -> str:
    marker = html.lower().rfind("</body>")
    if marker == -1:
        return html + footer
    return html[:marker] + footer + html[marker:]
