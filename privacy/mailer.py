"""The one way out for email.

`send_email` (or `send_emails`, for many at once) stores messages in the outbox and
hands their ids to a Celery task once the transaction commits. The task checks the
suppression list again at send time, so a message queued before an unsubscribe click is
not sent. What a row becomes on the wire (footer, one-click headers, calendar) is in
`email_message`.

Delivery is exactly-once as far as the provider allows. A worker claims rows with one
conditional UPDATE that gives them a lease (`lease_until`) and a token of its own; each
row is marked sent by the UPDATE that records the provider's acceptance, right after
that message is accepted, so a worker that dies mid-batch leaves claimed exactly the
messages the provider has not taken. Such a claim runs out: `sweep` (a beat task) queues
the row again, and it goes out under the Message-ID fixed when it was queued, so a
provider that had already accepted it sees the same message twice, not two messages. A
failed attempt never raises: the row waits in the queue with a backoff and the sweep
sends it again, so that a mail server that is down cannot break the request that queued
the message, nor a failing message the rest of its batch.

A batch shares everything that need not be per message: one claim, one preference
lookup per category, and one connection to the provider.
"""

import logging
import time
import uuid
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from email.utils import make_msgid
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import BadHeaderError, EmailMultiAlternatives
from django.db import transaction
from django.db.models import Case, EmailField, F, Q, QuerySet, Value, When
from django.utils import timezone

from .email_categories import Category

# Re-exported: callers import these from the mailer.
from .email_message import (  # noqa: F401
    CALENDAR_FILENAME,
    Attachment,
    Footer,
    build_message,
    calendar_method,
    preferences_url,
    subscription_footer,
    unsubscribe_url,
)
from .models import Disclosure, OutgoingEmail
from .outbox_session import commits_without_flush, provider_connection
from .pi_categories import PersonalInfoCategory
from .selectors import may_send_to

logger = logging.getLogger(__name__)

Status = OutgoingEmail.Status
# Attempts before a message is given up as failed; the n-th failure waits BACKOFF * 2^(n-1).
MAX_ATTEMPTS = 6
BACKOFF = timedelta(seconds=30)
# How many due messages one sweep hands to workers.
SWEEP_BATCH = 500
# How many messages one delivery task sends over one connection: a batch's last message
# still leaves well inside the lease its claim took at the start.
DELIVERY_BATCH = 200
_UNSENT = (Status.QUEUED, Status.SENDING)
# Everything the outbox drops once a message is out (or will never go).
_CLEARED_CONTENT = {"text_body": "", "html_body": "", "attachments": [], "calendar": ""}
_CLAIM_CLEARED = {"claim_token": None, "lease_until": None}
# The send log keeps no address of a person erased meanwhile (`forget_recipient`).
_clock = time.monotonic  # a batch's deadline (tests set the time)
_TO_UNLESS_FORGOTTEN = Case(
    When(forget_recipient=True, then=Value("")), default=F("to"), output_field=EmailField()
)


@dataclass(frozen=True)
class Draft:
    """One message to one recipient, as `send_emails` takes it (see `send_email`)."""

    to: str
    subject: str
    text: str
    category: str
    html: str = ""
    attachments: Sequence[Attachment] = ()
    calendar: str = ""
    forget_recipient: bool = False


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
    draft = Draft(to, subject, text, category, html, attachments, calendar, forget_recipient)
    return send_emails([draft])[0]


def send_emails(drafts: Sequence[Draft]) -> list[OutgoingEmail]:
    """Queue many messages with one INSERT and one preference lookup per category; they
    are handed to workers in batches after the current transaction."""
    # Should the task never run (the broker was down, the process died after the
    # commit), the sweep sends them from then on.
    next_attempt_at = timezone.now() + lease_duration()
    rows = [_outgoing(draft, next_attempt_at) for draft in drafts]
    OutgoingEmail.objects.bulk_create(rows)
    allowed = _allowed(rows)
    suppressed = [row for row in rows if row.pk not in allowed]
    if suppressed:
        _mark_suppressed([row.pk for row in suppressed])
        for row in suppressed:
            row.refresh_from_db()
    queued = [row.pk for row in rows if row.pk in allowed]
    if queued:
        transaction.on_commit(lambda: _dispatch_all(queued), robust=True)
    return rows


def _outgoing(draft: Draft, next_attempt_at: datetime) -> OutgoingEmail:
    if draft.calendar:
        calendar_method(draft.calendar)
    return OutgoingEmail(
        to=draft.to,
        category=Category(draft.category),
        subject=draft.subject[:255],
        text_body=draft.text,
        html_body=draft.html,
        attachments=[asdict(attachment) for attachment in draft.attachments],
        calendar=draft.calendar,
        forget_recipient=draft.forget_recipient,
        message_id=new_message_id(),
        next_attempt_at=next_attempt_at,
    )


def _allowed(rows: Sequence[OutgoingEmail]) -> set[int]:
    """The pks of the rows whose recipient may get their category now."""
    by_category: dict[str, list[OutgoingEmail]] = {}
    for row in rows:
        by_category.setdefault(row.category, []).append(row)
    allowed = set()
    for category, group in by_category.items():
        emails = may_send_to(emails={row.to.lower() for row in group}, category=category)
        allowed |= {row.pk for row in group if row.to.lower() in emails}
    return allowed


def new_message_id() -> str:
    return make_msgid(domain=urlsplit(settings.SITE_URL).hostname or "localhost")


def lease_duration() -> timedelta:
    """How long a claim holds a message: longer than any one delivery task may take."""
    return timedelta(seconds=settings.EMAIL_OUTBOX_LEASE_SECONDS)


def deliver(outgoing_id: int) -> Status | None:
    """Send a queued message, once: only one caller claims the row, and only until its
    lease runs out. None when there was nothing to claim; otherwise where the row is now
    (sent, suppressed, queued again after a failure, or failed after the last attempt).
    """
    return deliver_batch([outgoing_id])[outgoing_id]


def deliver_batch(outgoing_ids: Sequence[int]) -> dict[int, Status | None]:
    """`deliver` for many messages: one claim, one preference lookup per category, one
    connection. A message that fails waits for its retry without holding up the others,
    and each acceptance is recorded as soon as the provider gives it."""
    results: dict[int, Status | None] = dict.fromkeys(outgoing_ids)
    token, now = uuid.uuid4(), timezone.now()
    # A slow provider must not hold a batch past the task's time limit (half the lease).
    deadline = _clock() + lease_duration().total_seconds() / 4
    claimed = OutgoingEmail.objects.filter(
        Q(status=Status.QUEUED) | Q(status=Status.SENDING, lease_until__lt=now),
        pk__in=list(outgoing_ids),
    ).update(
        status=Status.SENDING,
        claim_token=token,
        claimed_at=now,
        lease_until=now + lease_duration(),
        attempts=F("attempts") + 1,
    )
    if not claimed:
        return results
    ours = OutgoingEmail.objects.filter(status=Status.SENDING, claim_token=token)
    rows = list(ours.order_by("pk"))
    allowed = _allowed(rows)
    withdrawn = [row.pk for row in rows if row.pk not in allowed]
    if withdrawn:
        ours.filter(pk__in=withdrawn).update(
            status=Status.SUPPRESSED, to=_TO_UNLESS_FORGOTTEN, **_CLAIM_CLEARED, **_CLEARED_CONTENT
        )
        results |= dict.fromkeys(withdrawn, Status.SUPPRESSED)
    sendable = [row for row in rows if row.pk in allowed]
    with provider_connection() as connection, commits_without_flush():
        for number, outgoing in enumerate(sendable):
            if _clock() > deadline:
                results |= _hand_back(ours, sendable[number:])
                break
            try:
                if isinstance(connection, Exception):
                    raise connection  # it could not be opened: every message waits
                message = build_message(outgoing)
                if not connection.send_messages([message]):
                    raise RuntimeError("The email backend accepted nothing.")
            except Exception as exc:
                logger.warning(
                    "Email %s not sent (attempt %s): %s", outgoing.pk, outgoing.attempts, exc
                )
                results[outgoing.pk] = _after_failure(outgoing, ours.filter(pk=outgoing.pk), exc)
                continue
            results[outgoing.pk] = _record_acceptance(
                outgoing, _provider_message_id(message, outgoing)
            )
    return results


def _hand_back(
    ours: QuerySet[OutgoingEmail], rows: Sequence[OutgoingEmail]
) -> dict[int, Status | None]:
    """Release messages a batch ran out of time for, unattempted: the sweep sends them."""
    pks = [row.pk for row in rows]
    ours.filter(pk__in=pks).update(
        status=Status.QUEUED, next_attempt_at=None, attempts=F("attempts") - 1, **_CLAIM_CLEARED
    )
    return dict.fromkeys(pks, Status.QUEUED)


def _record_acceptance(outgoing: OutgoingEmail, provider_message_id: str) -> Status:
    """The provider has the message: one UPDATE marks it sent and keeps the provider's id.

    Whoever learns of an acceptance records it, even a worker whose claim ran out
    meanwhile: the message is out, and a row marked sent is not sent again.
    """
    # Atomic with its ledger row; without a provider (console, file) there is none.
    with transaction.atomic() if settings.EMAIL_PROVIDER else nullcontext():
        recorded = OutgoingEmail.objects.filter(pk=outgoing.pk, status__in=_UNSENT).update(
            status=Status.SENT,
            sent_at=timezone.now(),
            provider_message_id=provider_message_id[:255],
            next_attempt_at=None,
            to=_TO_UNLESS_FORGOTTEN,
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
    return Status.SENT


def _after_failure(
    outgoing: OutgoingEmail, ours: QuerySet[OutgoingEmail], exc: Exception
) -> Status:
    error = (str(exc) or type(exc).__name__)[:500]
    # A header Django refuses to write (a line break in a subject) fails every attempt.
    if outgoing.attempts >= MAX_ATTEMPTS or isinstance(exc, BadHeaderError):
        ours.update(
            status=Status.FAILED,
            last_error=error,
            next_attempt_at=None,
            to=_TO_UNLESS_FORGOTTEN,
            **_CLAIM_CLEARED,
            **_CLEARED_CONTENT,
        )
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
    dispatched = [
        outgoing_id
        for outgoing_id in list(candidates)
        if OutgoingEmail.objects.filter(due, pk=outgoing_id, status=Status.QUEUED).update(
            next_attempt_at=now + lease_duration()
        )
    ]
    _dispatch_all(dispatched)
    return dispatched


def _dispatch_all(outgoing_ids: Sequence[int]) -> None:
    """Hand messages to workers, a batch per task."""
    for first in range(0, len(outgoing_ids), DELIVERY_BATCH):
        batch = list(outgoing_ids[first : first + DELIVERY_BATCH])
        if len(batch) == 1:
            _dispatch(batch[0])
        else:
            _dispatch_batch(batch)


def _dispatch(outgoing_id: int) -> None:
    """Hand one message to a worker (to this process with eager Celery). If the broker
    cannot take it, the row stays queued and the sweep dispatches it later."""
    from .tasks import deliver_email

    try:
        deliver_email.delay(outgoing_id)
    except Exception:
        logger.exception("Email %s not dispatched; the outbox sweep will retry it", outgoing_id)


def _dispatch_batch(outgoing_ids: list[int]) -> None:
    """`_dispatch` for a batch, which one worker sends over one connection."""
    from .tasks import deliver_emails

    try:
        deliver_emails.delay(outgoing_ids)
    except Exception:
        logger.exception(
            "Emails %s..%s not dispatched; the outbox sweep will retry them",
            outgoing_ids[0],
            outgoing_ids[-1],
        )


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


def _mark_suppressed(outgoing_ids: list[int]) -> None:
    OutgoingEmail.objects.filter(pk__in=outgoing_ids, status=Status.QUEUED).update(
        status=Status.SUPPRESSED,
        next_attempt_at=None,
        to=_TO_UNLESS_FORGOTTEN,
        **_CLEARED_CONTENT,
    )
