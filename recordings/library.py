"""What a host does to their own recordings: rename, retention, QA choice, trash, share.

Every write claims its row with a conditional UPDATE or ``select_for_update``, so two tabs
(or the expiry sweep) racing on the same recording cannot both win.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import User

from . import storage
from .models import Recording, ShareLink

State = Recording.State

TITLE_MAX = 200
SHARE_DAYS_MIN = 1
SHARE_DAYS_MAX = 30
PASSCODE_MIN = 4
PASSCODE_MAX = 32


class LibraryError(ValueError):
    """A request the library refuses; `field` names the form field it is about, if any."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def _locked(recording: Recording) -> Recording:
    """The row as it is now, locked until the surrounding transaction ends."""
    return Recording.objects.select_for_update().get(pk=recording.pk)


def _refresh(recording: Recording, fresh: Recording, *fields: str) -> Recording:
    for name in fields:
        setattr(recording, name, getattr(fresh, name))
    return recording


def retention_base(recording: Recording) -> datetime:
    """Retention counts from the end of the recording (its start while it still runs)."""
    return recording.stopped_at or recording.started_at


def in_trash_until(recording: Recording) -> datetime | None:
    if recording.trashed_at is None:
        return None
    return recording.trashed_at + timedelta(days=settings.RECORDINGS_TRASH_DAYS)


# --- Title, retention, quality assurance ------------------------------------------


def rename(*, recording: Recording, title: str) -> Recording:
    title = " ".join(title.split())
    if not title:
        raise LibraryError("Give the recording a title.", field="title")
    if len(title) > TITLE_MAX:
        raise LibraryError(f"Keep the title to {TITLE_MAX} characters.", field="title")
    Recording.objects.filter(pk=recording.pk).update(title=title)
    recording.title = title
    return recording


def set_retention(*, recording: Recording, days: int, now: datetime | None = None) -> Recording:
    """Shorten how long the recording is kept. Never longer than it was given by the plan.

    The shortened period becomes the recording's retention, so it can only go down.
    """
    now = now or timezone.now()
    with transaction.atomic():
        fresh = _locked(recording)
        if fresh.trashed_at is not None:
            raise LibraryError("This recording is in the trash. Restore it first.")
        if days < 1:
            raise LibraryError("Keep the recording for at least 1 day.", field="days")
        if days > fresh.retention_days:
            raise LibraryError(
                f"You can only shorten the retention: at most {fresh.retention_days} "
                f"day{'s' if fresh.retention_days != 1 else ''}.",
                field="days",
            )
        expires_at = retention_base(fresh) + timedelta(days=days)
        if expires_at <= now:
            raise LibraryError(
                f"After {days} day{'s' if days != 1 else ''} this recording would already have "
                "expired. To remove it now, move it to the trash.",
                field="days",
            )
        Recording.objects.filter(pk=fresh.pk).update(retention_days=days, expires_at=expires_at)
    recording.retention_days = days
    recording.expires_at = expires_at
    return recording


def set_qa_use(*, recording: Recording, allowed: bool) -> Recording:
    """The host's choice about quality-assurance use; takes effect for the next staff open."""
    now = timezone.now()
    Recording.objects.filter(pk=recording.pk).update(qa_use_allowed=allowed, qa_use_changed_at=now)
    recording.qa_use_allowed = allowed
    recording.qa_use_changed_at = now
    return recording


# --- Trash ------------------------------------------------------------------------


def trash(*, recording: Recording) -> Recording:
    """Move to the trash: hidden from the library and from share links, restorable for a while."""
    if recording.state == State.RECORDING:
        raise LibraryError("This recording is still running. Stop it in the meeting first.")
    now = timezone.now()
    moved = Recording.objects.filter(pk=recording.pk, trashed_at__isnull=True).update(
        trashed_at=now
    )
    if not moved:
        raise LibraryError("This recording is already in the trash.")
    recording.trashed_at = now
    return recording


def restore(*, recording: Recording, now: datetime | None = None) -> Recording:
    now = now or timezone.now()
    with transaction.atomic():
        fresh = _locked(recording)
        until = in_trash_until(fresh)
        if until is None:
            raise LibraryError("This recording is not in the trash.")
        if until <= now:
            raise LibraryError("This recording was in the trash too long and is being deleted.")
        if fresh.expires_at is not None and fresh.expires_at <= now:
            # The expiry sweep would only put it back in the trash.
            raise LibraryError(
                "This recording reached the end of its retention period, so it can't be "
                "restored. You can still download it until it is deleted."
            )
        Recording.objects.filter(pk=fresh.pk).update(trashed_at=None)
    recording.trashed_at = None
    return recording


def delete_forever(*, recording: Recording) -> None:
    """Delete the files and the row of a recording in the trash; there is no way back."""
    with transaction.atomic():
        fresh = _locked(recording)
        if fresh.trashed_at is None:
            raise LibraryError("Move the recording to the trash before deleting it for good.")
        if fresh.state in (State.RECORDING, State.PROCESSING):
            raise LibraryError(
                "This recording is still being processed. Delete it once processing ends."
            )
        fresh.delete()
        # Files go only once the row is gone for sure; a rolled-back delete keeps them.
        transaction.on_commit(lambda: storage.remove_all(fresh))


# --- Share links --------------------------------------------------------------------


def create_share_link(
    *,
    recording: Recording,
    by: User,
    expires_in_days: int,
    passcode: str = "",
    allow_download: bool = False,
    now: datetime | None = None,
) -> ShareLink:
    """A link for people without the host's account. It never outlives the recording."""
    now = now or timezone.now()
    if recording.state != State.READY or recording.trashed_at is not None:
        raise LibraryError("Only a ready recording that is not in the trash can be shared.")
    if not SHARE_DAYS_MIN <= expires_in_days <= SHARE_DAYS_MAX:
        raise LibraryError(
            f"Choose between {SHARE_DAYS_MIN} and {SHARE_DAYS_MAX} days.", field="expires_in_days"
        )
    passcode = passcode.strip()
    if passcode and not PASSCODE_MIN <= len(passcode) <= PASSCODE_MAX:
        raise LibraryError(
            f"Use a passcode of {PASSCODE_MIN} to {PASSCODE_MAX} characters, or none.",
            field="passcode",
        )
    expires_at = now + timedelta(days=expires_in_days)
    if recording.expires_at is not None:
        if recording.expires_at <= now:
            raise LibraryError("This recording has expired and can't be shared.")
        expires_at = min(expires_at, recording.expires_at)
    return ShareLink.objects.create(
        recording=recording,
        created_by=by,
        expires_at=expires_at,
        passcode_hash=make_password(passcode) if passcode else "",
        allow_download=allow_download,
    )


def revoke_share_link(*, link: ShareLink) -> ShareLink:
    now = timezone.now()
    if ShareLink.objects.filter(pk=link.pk, revoked_at__isnull=True).update(revoked_at=now):
        link.revoked_at = now
    return link


def record_share_view(*, link: ShareLink) -> None:
    now = timezone.now()
    ShareLink.objects.filter(pk=link.pk).update(views=F("views") + 1, last_viewed_at=now)
