"""A person's recordings for a privacy request: export, the files, and erasure.

The recordings a person hosts are theirs: erasure deletes them, rows and files (the files
once the transaction commits, as ``library.delete_forever`` does, so a rollback keeps
them). On other hosts' recordings their consent receipts stay, as the record of what was
agreed, with the name and address removed.
"""

from __future__ import annotations

from pathlib import Path

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils.text import slugify

from privacy.subjects import (
    REMOVED_NAME,
    AppData,
    ErasureLine,
    Subject,
    lines_with_rows,
    row,
)

from . import storage
from .models import ConsentReceipt, Recording, ShareLink

APP = "recordings"
FOLDER = "recordings"  # where the files go inside the export


def _hosted(subject: Subject) -> QuerySet[Recording]:
    if subject.user is None:
        return Recording.objects.none()
    # A recording belongs to the meeting's host; both links are checked so none is missed.
    return Recording.objects.filter(Q(host=subject.user) | Q(meeting__host=subject.user))


def _receipts_naming(subject: Subject) -> QuerySet[ConsentReceipt]:
    query = subject.email_q("email")
    if subject.user is not None:
        query |= Q(session__user=subject.user)
    return ConsentReceipt.objects.filter(query)


def export_name(recording: Recording) -> str:
    """The composed file's path inside the export ZIP."""
    title = slugify(recording.title)[:60] or "recording"
    return f"{FOLDER}/{title}-{recording.public_id}.mp4"


def export_files(subject: Subject) -> list[tuple[str, Path]]:
    """(name in the ZIP, file on disk) for each composed recording the person hosts."""
    files = []
    for recording in _hosted(subject).distinct().order_by("started_at", "pk"):
        path = storage.composed_path(recording)
        if path.is_file():
            files.append((export_name(recording), path))
    return files


def export_for(subject: Subject) -> AppData:
    hosted = list(_hosted(subject).distinct().select_related("meeting").order_by("started_at"))
    recordings = [
        row(
            recording_id=r.public_id,
            title=r.title,
            meeting_title=r.meeting.title,
            state=r.get_state_display(),
            started_at=r.started_at,
            stopped_at=r.stopped_at,
            duration_seconds=r.duration_seconds,
            size_bytes=r.size_bytes,
            retention_days=r.retention_days,
            expires_at=r.expires_at,
            trashed_at=r.trashed_at,
            quality_assurance_use_allowed=r.qa_use_allowed,
            created_at=r.created_at,
            file_in_export=(
                export_name(r) if storage.composed_path(r).is_file() else "not available"
            ),
        )
        for r in hosted
    ]
    # The token and the passcode's hash open the recording: neither is exported.
    links = [
        row(
            recording_title=link.recording.title,
            created_at=link.created_at,
            expires_at=link.expires_at,
            has_passcode=link.has_passcode,
            allow_download=link.allow_download,
            revoked_at=link.revoked_at,
            views=link.views,
            last_viewed_at=link.last_viewed_at,
        )
        for link in ShareLink.objects.filter(recording__in=_hosted(subject))
        .select_related("recording")
        .order_by("created_at", "pk")
    ]
    receipts = [
        row(
            recording_title=c.recording.title,
            participant_id=c.participant_id,
            display_name=c.display_name,
            email=c.email,
            decision=c.get_decision_display(),
            context=c.get_context_display(),
            decided_at=c.decided_at,
        )
        for c in _receipts_naming(subject).select_related("recording").order_by("decided_at", "pk")
    ]
    return {"recordings_hosted": recordings, "share_links": links, "consent_receipts": receipts}


def erase_for(subject: Subject, *, dry_run: bool) -> list[ErasureLine]:
    hosted = _hosted(subject)
    receipts = _receipts_naming(subject).exclude(recording__in=hosted)
    lines = [
        ErasureLine(
            APP,
            "Recordings they host, with their files (also those still being processed)",
            hosted.count(),
            "deleted",
        ),
        ErasureLine(
            APP,
            "Share links of those recordings",
            ShareLink.objects.filter(recording__in=hosted).count(),
            "deleted",
        ),
        ErasureLine(
            APP,
            "Consent receipts on those recordings (everyone's)",
            ConsentReceipt.objects.filter(recording__in=hosted).count(),
            "deleted",
        ),
        ErasureLine(
            APP,
            f"Their consent receipts on other hosts' recordings: name becomes “{REMOVED_NAME}”, "
            "the address is removed; the decision and its time stay",
            receipts.count(),
            "anonymised",
        ),
    ]
    if dry_run:
        return lines_with_rows(lines)
    with transaction.atomic():
        receipts.update(display_name=REMOVED_NAME, email="")
        for recording in list(hosted.select_for_update()):
            _delete(recording)
    return lines_with_rows(lines)


def _delete(recording: Recording) -> None:
    recording.delete()  # share links and consent receipts go with it (CASCADE)
    # Files only once the row is gone for sure; a rolled-back erasure keeps them.
    transaction.on_commit(lambda: storage.remove_all(recording))
