"""A person's own privacy requests, when their data is erased.

The request log is kept (the CCPA asks for a record of requests and how they were
answered, 11 CCR 7101), but only what that record needs: the reference, kind, channel,
state, dates and deadlines, and the keyed hash of the address. Name, address, postal
address and details go; free text (history notes, outcomes, a Shine the Light notice)
keeps its words with the person's name and addresses cut out. An access request's ZIP
is deleted once the erasure has committed, so its old link stops working and a rollback
loses no file.

The open deletion request being carried out is left to ``services.erase``: it still has
to tell the requester, and scrubs itself afterwards (``services.scrub_requester``).
"""

from __future__ import annotations

import re
from functools import partial
from pathlib import Path

from django.db import transaction
from django.db.models import Q, QuerySet

from privacy.disclosures import subject_key
from privacy.models import PrivacyRequest, PrivacyRequestEvent, ShineTheLightNotice
from privacy.subjects import ERASED_NAME, ErasureLine, Subject, lines_with_rows

from .exports import export_path
from .states import OPEN

APP = "privacy"
ERASED_DOMAIN = "erased.invalid"
KEPT = (
    "reference",
    "kind",
    "channel",
    "state",
    "california_resident",
    "received_at",
    "verified_at",
    "due_on",
    "clock",
    "confirm_due_on",
    "confirmed_at",
    "extended_at",
    "closed_at",
    "subject_key",
    "progress",
    "export_expires_at",
    "reminders_sent",
)
KEPT_REASON = (
    "The CCPA regulations ask for a record of every request and how it was answered, "
    "kept for 24 months (11 CCR 7101); a daily task deletes it after that. The record "
    "keeps the reference, kind, dates, state and a keyed hash of the address; the name, "
    "address, postal address and details are removed, and so is the person's name from "
    "its history notes, outcomes and notices."
)


def erased_email(request: PrivacyRequest) -> str:
    """What an erased request keeps as its address: its own reference, naming no one."""
    return f"{request.reference.lower()}@{ERASED_DOMAIN}"


def _requests(subject: Subject) -> QuerySet[PrivacyRequest]:
    query = subject.email_q("email") | Q(
        subject_key__in=[subject_key(address) for address in subject.emails]
    )
    if subject.user is not None:
        query |= Q(user=subject.user)
    return PrivacyRequest.objects.filter(query).exclude(
        kind=PrivacyRequest.Kind.DELETE, state__in=OPEN
    )


def _not_scrubbed(requests: QuerySet[PrivacyRequest]) -> QuerySet[PrivacyRequest]:
    return requests.exclude(email__iendswith=f"@{ERASED_DOMAIN}", name=ERASED_NAME)


def erase_for(subject: Subject, *, dry_run: bool) -> list[ErasureLine]:
    requests = _requests(subject)
    naming = _not_scrubbed(requests)
    with_files = requests.exclude(export_file="")
    events = PrivacyRequestEvent.objects.filter(request__in=requests).filter(
        subject.mentioned_q("note")
    )
    notices = ShineTheLightNotice.objects.filter(request__in=requests).filter(
        subject.mentioned_q("text")
    )
    lines = [
        ErasureLine(
            APP,
            "Their earlier privacy requests: name, address, postal address and details removed",
            naming.count(),
            "anonymised",
        ),
        ErasureLine(
            APP,
            "History notes of those requests that name them: the name and address are cut out",
            events.count(),
            "anonymised",
        ),
        ErasureLine(
            APP,
            "California Privacy Rights Notices sent to them: the name is cut out of the text",
            notices.count(),
            "anonymised",
        ),
        ErasureLine(
            APP,
            "Copies of their data built for access requests (ZIP files): deleted, and their "
            "download links stop working",
            with_files.count(),
            "deleted",
        ),
        ErasureLine(
            APP,
            "Record of their privacy requests and how they were answered",
            requests.count(),
            "kept",
            reason=KEPT_REASON,
            columns=tuple(f"privacy.PrivacyRequest.{column}" for column in KEPT),
        ),
    ]
    if dry_run:
        return lines_with_rows(lines)
    with transaction.atomic():
        files = [export_path(request) for request in with_files.select_for_update()]
        with_files.update(export_file="")
        scrub(requests, subject)
        # Only after the commit: a rolled-back erasure must still find its files.
        transaction.on_commit(partial(_remove, files))
    return lines_with_rows(lines)


def scrub(requests: QuerySet[PrivacyRequest], subject: Subject) -> None:
    """Remove the person from these requests, their history and their notices."""
    pks = list(requests.values_list("pk", flat=True))  # the filter may match them by name
    for request in PrivacyRequest.objects.filter(pk__in=pks).select_for_update():
        PrivacyRequest.objects.filter(pk=request.pk).update(
            name=ERASED_NAME,
            email=erased_email(request),
            postal_address="",
            details={},
            user=None,
            outcome=cut_out(request.outcome, subject),
            extension_reason=cut_out(request.extension_reason, subject),
        )
    events = PrivacyRequestEvent.objects.filter(request__in=pks)
    for event in events.filter(subject.mentioned_q("note")):
        PrivacyRequestEvent.objects.filter(pk=event.pk).update(note=cut_out(event.note, subject))
    notices = ShineTheLightNotice.objects.filter(request__in=pks)
    for notice in notices.filter(subject.mentioned_q("text")):
        ShineTheLightNotice.objects.filter(pk=notice.pk).update(text=cut_out(notice.text, subject))


def cut_out(text: str, subject: Subject) -> str:
    """`text` with each of the person's names and addresses replaced, in any letter case."""
    # Longest first, so a full name goes whole before a shorter name inside it.
    for term in sorted(subject.terms, key=len, reverse=True):
        text = re.sub(re.escape(term), ERASED_NAME, text, flags=re.IGNORECASE)
    return text


def _remove(files: list[Path]) -> None:
    for path in files:
        path.unlink(missing_ok=True)
