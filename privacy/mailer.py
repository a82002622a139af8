"""The one way out for email.

`send_email` stores the message in the outbox and hands its id to a Celery task once
the transaction commits. The task checks the suppression list again at send time, so a
message queued before an unsubscribe click is not sent. Subscription mail carries a
footer unsubscribe link, the postal address, and the RFC 8058 one-click headers.

A message can carry text attachments, and an iCalendar invitation that goes out the way
Google Calendar and Outlook send theirs: a `text/calendar; method=...` alternative next
to the text and HTML bodies, plus the same calendar attached as `invite.ics`.
"""

import logging
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import timedelta
from email.charset import Charset
from html import escape

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from .email_categories import Category
from .models import Disclosure, OutgoingEmail
from .pi_categories import PersonalInfoCategory
from .selectors import may_send
from .tokens import make_preferences_token, make_unsubscribe_token

logger = logging.getLogger(__name__)

# A claim older than this belongs to a worker that died mid-send: take it over.
STALE_CLAIM = timedelta(minutes=10)
CALENDAR_FILENAME = "invite.ics"
_CALENDAR_METHOD = re.compile(r"^METHOD:([A-Za-z-]+)\r?$", re.MULTILINE)
# Everything the outbox drops once a message is out (or will never go).
_CLEARED_CONTENT = {"text_body": "", "html_body": "", "attachments": [], "calendar": ""}


@dataclass(frozen=True)
class Attachment:
    """A text file sent with a message; stored in the outbox until it is sent."""

    filename: str
    content: str
    mimetype: str


@dataclass(frozen=True)
class Footer:
    """What a subscription message ends with, for one recipient and category."""

    text: str
    html: str
    unsubscribe_url: str


def unsubscribe_url(*, email: str, category: str) -> str:
    token = make_unsubscribe_token(email=email, category=category)
    return settings.SITE_URL + reverse("privacy:unsubscribe", args=[token])


def preferences_url(*, email: str) -> str:
    token = make_preferences_token(email=email)
    return settings.SITE_URL + reverse("privacy:email_preferences_link", args=[token])


def subscription_footer(*, email: str, category: str) -> Footer:
    """The footer `email` gets on a `category` message (also shown in previews)."""
    url = unsubscribe_url(email=email, category=category)
    manage = preferences_url(email=email)
    return Footer(
        text=_footer_text(category, url, manage),
        html=_footer_html(category, url, manage),
        unsubscribe_url=url,
    )


def send_email(
    *,
    to: str,
    subject: str,
    text: str,
    category: str,
    html: str = "",
    attachments: Sequence[Attachment] = (),
    calendar: str = "",
    forget_recipient: bool = False,
) -> OutgoingEmail:
    """Queue one message to one recipient; it leaves after the current transaction.

    `calendar` is an iCalendar text with a METHOD (an invitation or a cancellation).
    `forget_recipient` blanks the address in the send log once the message is out: for
    the last message to someone whose personal data was just erased.
    """
    category = Category(category)
    if calendar:
        calendar_method(calendar)
    outgoing = OutgoingEmail.objects.create(
        to=to,
        category=category,
        subject=subject[:255],
        text_body=text,
        html_body=html,
        attachments=[asdict(attachment) for attachment in attachments],
        calendar=calendar,
        forget_recipient=forget_recipient,
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
        status=OutgoingEmail.Status.SENT, sent_at=timezone.now(), **_CLEARED_CONTENT
    )
    _record_disclosure(outgoing)
    _forget_recipient_if_asked(outgoing_id)
    return OutgoingEmail.Status.SENT


def give_up(outgoing_id: int, reason: str) -> None:
    OutgoingEmail.objects.filter(pk=outgoing_id).update(
        status=OutgoingEmail.Status.FAILED, last_error=reason[:500], **_CLEARED_CONTENT
    )
    _forget_recipient_if_asked(outgoing_id)


def _forget_recipient_if_asked(outgoing_id: int) -> None:
    OutgoingEmail.objects.filter(pk=outgoing_id, forget_recipient=True).update(to="")


def _record_disclosure(outgoing: OutgoingEmail) -> None:
    """The email provider received the address (and the message): a ledger row."""
    if not settings.EMAIL_PROVIDER:
        return  # console, file or in-memory backends: nothing left the machine
    from .disclosures import record_disclosure

    record_disclosure(
        third_party=settings.EMAIL_PROVIDER,
        purpose=Disclosure.Purpose.SERVICE,
        description=f"Delivered an email ({Category(outgoing.category).label})",
        categories=[PersonalInfoCategory.EMAIL],
        email=outgoing.to,
    )


def build_message(outgoing: OutgoingEmail) -> EmailMultiAlternatives:
    text, html, headers = outgoing.text_body, outgoing.html_body, {}
    if outgoing.category != Category.TRANSACTIONAL:
        footer = subscription_footer(email=outgoing.to, category=outgoing.category)
        text = text.rstrip() + "\n\n" + footer.text
        if html:
            html = _with_html_footer(html, footer.html)
        headers = {
            "List-Unsubscribe": f"<{footer.unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }
    message = _Message(
        subject=outgoing.subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[outgoing.to],
        headers=headers,
    )
    if html:
        message.attach_alternative(html, "text/html")
    if outgoing.calendar:
        message.calendar = outgoing.calendar
        message.attach_alternative(outgoing.calendar, "text/calendar")
    for attachment in outgoing.attachments:
        message.attach(
            attachment["filename"],
            _payload(attachment["content"], attachment["mimetype"]),
            attachment["mimetype"],
        )
    if outgoing.calendar:
        message.attach(CALENDAR_FILENAME, outgoing.calendar.encode(), "application/ics")
    return message


def calendar_method(calendar: str) -> str:
    """The iTIP method (REQUEST, CANCEL, ...) a calendar text declares."""
    match = _CALENDAR_METHOD.search(calendar)
    if match is None:
        raise ValueError("An invitation calendar needs a METHOD property.")
    return match.group(1).upper()


class _Message(EmailMultiAlternatives):
    """Django's message, with the iTIP method on its inline calendar part.

    Calendar clients treat a message as an invitation only when the text/calendar
    alternative says `method=...` in its Content-Type, which Django cannot express.
    """

    calendar = ""

    def message(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        mime = super().message(*args, **kwargs)
        if not self.calendar:
            return mime
        for part in mime.walk():
            if part.get_content_type() == "text/calendar" and not part.get_filename():
                # Base64, so that the generator leaves the Content-Type as written here:
                # an 8bit non-ASCII body makes it rewrite the header with quoted values.
                del part["Content-Transfer-Encoding"]
                part.set_payload(self.calendar, charset=Charset("utf-8"))
                part.replace_header(
                    "Content-Type",
                    f"text/calendar; method={calendar_method(self.calendar)}; charset=UTF-8",
                )
        return mime


def _payload(content: str, mimetype: str) -> str | bytes:
    # Django encodes text/* parts itself; any other type must arrive as bytes, or a
    # non-ASCII character would be mangled on the way to base64.
    return content if mimetype.startswith("text/") else content.encode()


def _mark_suppressed(outgoing_id: int) -> None:
    OutgoingEmail.objects.filter(pk=outgoing_id).update(
        status=OutgoingEmail.Status.SUPPRESSED, **_CLEARED_CONTENT
    )
    _forget_recipient_if_asked(outgoing_id)


def _footer_text(category: str, url: str, manage: str) -> str:
    label = Category(category).label
    return (
        "--\n"
        f"You receive this because you are subscribed to “{label}”.\n"
        f"Unsubscribe with one click: {url}\n"
        f"Manage your email preferences: {manage}\n"
        f"{settings.SITE_NAME} · {settings.COMPANY_POSTAL_ADDRESS}"
    )


def _footer_html(category: str, url: str, manage: str) -> str:
    label = escape(Category(category).label)
    # <small>, not a style attribute: the same footer is shown in staff previews,
    # where the Content-Security-Policy forbids inline styles.
    return (
        "<hr><p><small>"
        f"You receive this because you are subscribed to “{label}”. "
        f'<a href="{escape(url)}">Unsubscribe</a> with one click, or '
        f'<a href="{escape(manage)}">manage your email preferences</a>.<br>'
        f"{escape(settings.SITE_NAME)} · {escape(settings.COMPANY_POSTAL_ADDRESS)}"
        "</small></p>"
    )


def _with_html_footer(html: str, footer: str) -> str:
    marker = html.lower().rfind("</body>")
    if marker == -1:
        return html + footer
    return html[:marker] + footer + html[marker:]
