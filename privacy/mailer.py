"""The one way out for email.

`send_email` stores the message in the outbox and hands its id to a Celery task once
the transaction commits. The task checks the suppression list again at send time, so a
message queued before an unsubscribe click is not sent. Subscription mail carries a
footer unsubscribe link, the postal address, and the RFC 8058 one-click headers.

Delivery is exactly-once as far as the provider allows. A worker claims a row with a
conditional UPDATE that gives it a lease (`lease_until`) and a token of its own; the row
is marked sent in the same UPDATE that records the provider's acceptance. A worker that
dies before that leaves a claim that runs out: `sweep` (a beat task) queues the row
again, and it goes out under the Message-ID fixed when it was queued, so a provider that
had already accepted it sees the same message twice, not two messages. A failed attempt
never raises: the row waits in the queue with a backoff and the sweep sends it again, so
that a mail server that is down cannot break the request that queued the message.

A message can carry text attachments, and an iCalendar invitation that goes out the way
Google Calendar and Outlook send theirs: a `text/calendar; method=...` alternative next
to the text and HTML bodies, plus the same calendar attached as `invite.ics`.
"""

import logging
import re
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from email.charset import Charset
from email.utils import make_msgid
from html import escape
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import BadHeaderError, EmailMultiAlternatives
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from .email_categories import Category
from .models import Disclosure, OutgoingEmail
from .pi_categories import PersonalInfoCategory
from .selectors import may_send
from .tokens import make_preferences_token, make_unsubscribe_token

logger = logging.getLogger(__name__)

Status = OutgoingEmail.Status
# Attempts before a message is given up as failed; the n-th failure waits BACKOFF * 2^(n-1).
MAX_ATTEMPTS = 6
BACKOFF = timedelta(seconds=30)
# How many due messages one sweep hands to workers.
SWEEP_BATCH = 500
_UNSENT = (Status.QUEUED, Status.SENDING)
CALENDAR_FILENAME = "invite.ics"
_CALENDAR_METHOD = re.compile(r"^METHOD:([A-Za-z-]+)\r?$", re.MULTILINE)
# Everything the outbox drops once a message is out (or will never go).
_CLEARED_CONTENT = {"text_body": "", "html_body": "", "attachments": [], "calendar": ""}
_CLAIM_CLEARED = {"claim_token": None, "lease_until": None}


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
        message_id=new_message_id(),
        # Should the task never run (the broker was down, the process died after the
        # commit), the sweep sends it from then on.
        next_attempt_at=timezone.now() + lease_duration(),
    )
    if not may_send(email=to, category=category):
        _mark_suppressed(outgoing.pk)
        outgoing.refresh_from_db()
        return outgoing
    transaction.on_commit(lambda: _dispatch(outgoing.pk), robust=True)
    return outgoing


def new_message_id() -> str:
    return make_msgid(domain=urlsplit(settings.SITE_URL).hostname or "localhost")


def lease_duration() -> timedelta:
    """How long a claim holds a message: longer than any one attempt may take."""
    return timedelta(seconds=settings.EMAIL_OUTBOX_LEASE_SECONDS)


def deliver(outgoing_id: int) -> Status | None:
    """Send a queued message, once: only one caller claims the row, and only until its
    lease runs out. None when there was nothing to claim; otherwise where the row is now
    (sent, suppressed, queued again after a failure, or failed after the last attempt).
    """
    token = uuid.uuid4()
    now = timezone.now()
    claimed = OutgoingEmail.objects.filter(
        Q(status=Status.QUEUED) | Q(status=Status.SENDING, lease_until__lt=now),
        pk=outgoing_id,
    ).update(
        status=Status.SENDING,
        claim_token=token,
        claimed_at=now,
        lease_until=now + lease_duration(),
        attempts=F("attempts") + 1,
    )
    if not claimed:
        return None
    outgoing = OutgoingEmail.objects.get(pk=outgoing_id)
    ours = OutgoingEmail.objects.filter(pk=outgoing_id, status=Status.SENDING, claim_token=token)
    if not may_send(email=outgoing.to, category=outgoing.category):
        if ours.update(status=Status.SUPPRESSED, **_CLAIM_CLEARED, **_CLEARED_CONTENT):
            _forget_recipient_if_asked(outgoing_id)
        return Status.SUPPRESSED
    try:
        message = build_message(outgoing)
        if not message.send():
            raise RuntimeError("The email backend accepted nothing.")
    except Exception as exc:
        logger.warning("Email %s not sent (attempt %s): %s", outgoing_id, outgoing.attempts, exc)
        return _after_failure(outgoing, ours, exc)
    return _record_acceptance(outgoing, _provider_message_id(message, outgoing))


def _record_acceptance(outgoing: OutgoingEmail, provider_message_id: str) -> Status:
    """The provider has the message: one UPDATE marks it sent and keeps the provider's id.

    Whoever learns of an acceptance records it, even a worker whose claim ran out
    meanwhile: the message is out, and a row marked sent is not sent again.
    """
    with transaction.atomic():
        recorded = OutgoingEmail.objects.filter(pk=outgoing.pk, status__in=_UNSENT).update(
            status=Status.SENT,
            sent_at=timezone.now(),
            provider_message_id=provider_message_id[:255],
            next_attempt_at=None,
            **_CLAIM_CLEARED,
            **_CLEARED_CONTENT,
        )
        if not recorded:
            logger.warning(
                "Email %s accepted again (Message-ID %s): it was already sent or withdrawn",
                outgoing.pk,
                outgoing.message_id,
            )
            return Status.SENT
        _record_disclosure(outgoing)
        _forget_recipient_if_asked(outgoing.pk)
    return Status.SENT


def _after_failure(
    outgoing: OutgoingEmail, ours: QuerySet[OutgoingEmail], exc: Exception
) -> Status:
    error = (str(exc) or type(exc).__name__)[:500]
    # A header Django refuses to write (a line break in a subject) fails every attempt.
    if outgoing.attempts >= MAX_ATTEMPTS or isinstance(exc, BadHeaderError):
        if ours.update(
            status=Status.FAILED,
            last_error=error,
            next_attempt_at=None,
            **_CLAIM_CLEARED,
            **_CLEARED_CONTENT,
        ):
            _forget_recipient_if_asked(outgoing.pk)
        return Status.FAILED
    ours.update(
        status=Status.QUEUED,
        last_error=error,
        next_attempt_at=timezone.now() + BACKOFF * 2 ** (outgoing.attempts - 1),
        **_CLAIM_CLEARED,
    )
    return Status.QUEUED


def _provider_message_id(message: EmailMultiAlternatives, outgoing: OutgoingEmail) -> str:
    # django-anymail puts the provider's id on the message; SMTP gives none back.
    status = getattr(message, "anymail_status", None)
    return str(getattr(status, "message_id", None) or outgoing.message_id)


def sweep(*, now: datetime | None = None) -> list[int]:
    """Hand due messages to workers again: rows whose claim ran out (their worker died
    or hung), rows whose backoff is over, and rows whose task never ran.

    Each row is dispatched by a conditional UPDATE that pushes its next attempt one lease
    ahead, so two sweeps never dispatch it twice, and a lost dispatch is retried.
    """
    now = now or timezone.now()
    OutgoingEmail.objects.filter(status=Status.SENDING, lease_until__lt=now).update(
        status=Status.QUEUED,
        next_attempt_at=now,
        last_error="The worker sending it stopped before the provider answered.",
        **_CLAIM_CLEARED,
    )
    due = Q(next_attempt_at__lte=now) | Q(next_attempt_at__isnull=True)
    candidates = (
        OutgoingEmail.objects.filter(due, status=Status.QUEUED)
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    dispatched = []
    for outgoing_id in list(candidates):
        if OutgoingEmail.objects.filter(due, pk=outgoing_id, status=Status.QUEUED).update(
            next_attempt_at=now + lease_duration()
        ):
            dispatched.append(outgoing_id)
            _dispatch(outgoing_id)
    return dispatched


def _dispatch(outgoing_id: int) -> None:
    """Hand one message to a worker (to this process with eager Celery). If the broker
    cannot take it, the row stays queued and the sweep dispatches it later."""
    from .tasks import deliver_email

    try:
        deliver_email.delay(outgoing_id)
    except Exception:
        logger.exception("Email %s not dispatched; the outbox sweep will retry it", outgoing_id)


def give_up(outgoing_id: int, reason: str) -> None:
    """Stop trying to send a message that has not gone out."""
    OutgoingEmail.objects.filter(pk=outgoing_id, status__in=_UNSENT).update(
        status=Status.FAILED,
        last_error=reason[:500],
        next_attempt_at=None,
        **_CLAIM_CLEARED,
        **_CLEARED_CONTENT,
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
    if outgoing.message_id:
        # The same on every attempt: a provider that accepted it already can tell.
        headers["Message-ID"] = outgoing.message_id
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
    OutgoingEmail.objects.filter(pk=outgoing_id, status=Status.QUEUED).update(
        status=Status.SUPPRESSED, next_attempt_at=None, **_CLEARED_CONTENT
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
