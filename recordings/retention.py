"""Retention: expired recordings go to the trash; the trash is emptied after a grace period."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from recordings import storage
from recordings.models import Recording


def trash_expired() -> int:
    """Move recordings past their retention to the trash; returns how many."""
    now = timezone.now()
    return Recording.objects.filter(expires_at__lte=now, trashed_at__isnull=True).update(
        trashed_at=now
    )


def purge_trash() -> int:
    """Delete the files and rows of recordings trashed longer than the grace period."""
    cutoff = timezone.now() - timedelta(days=settings.RECORDINGS_TRASH_DAYS)
    purged = 0
    for recording in Recording.objects.filter(trashed_at__lte=cutoff).exclude(
        state=Recording.State.RECORDING
    ):
        storage.remove_all(recording)
        recording.delete()
        purged += 1
    return purged
