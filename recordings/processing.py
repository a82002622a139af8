"""Processing a stopped recording: compose the tracks, verify, thumbnail, then ready.

Safe to run twice and to be killed at any point (the task is acknowledged late and a
periodic sweep re-enqueues what a dead worker left):

- a run first *claims* the recording with a lease (conditional UPDATE); a second delivery
  while the lease is alive finds it taken and exits; the lease is renewed with progress;
- the composer writes a temporary file and renames it, so the final name only ever holds
  a complete file; a run that finds a composed file that verifies skips composing;
- the originals are removed only after the recording is marked ready.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from enum import StrEnum
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from recordings import compose, states, storage
from recordings.journal import Journal, read_journal
from recordings.models import Recording

logger = logging.getLogger(__name__)

State = Recording.State


def lease_seconds() -> float:
    return float(getattr(settings, "RECORDINGS_PROCESSING_LEASE_SECONDS", 120))


def journal_wait_seconds() -> float:
    """How long after the stop to wait for the media server to close the journal."""
    return float(getattr(settings, "RECORDINGS_JOURNAL_WAIT_SECONDS", 30))


class Outcome(StrEnum):
    READY = "ready"
    BUSY = "busy"  # another run holds the lease
    SKIPPED = "skipped"  # not (or no longer) processing


class NotReadyYet(Exception):
    """The media server has not closed the journal yet: try again shortly."""


class LeaseLost(Exception):
    """Another run took the recording over (this one stalled past its lease)."""


def _claim(recording_id: int) -> str | None:
    token = uuid.uuid4().hex
    now = timezone.now()
    claimed = (
        Recording.objects.filter(pk=recording_id, state=State.PROCESSING)
        .exclude(lease_until__gt=now)
        .update(
            lease_token=token,
            lease_until=now + timedelta(seconds=lease_seconds()),
            attempts=F("attempts") + 1,
        )
    )
    return token if claimed else None


def _release(recording_id: int, token: str) -> None:
    Recording.objects.filter(pk=recording_id, lease_token=token).update(
        lease_token="", lease_until=None
    )


def release(recording_id: int) -> None:
    """Give up whatever lease is held (before a retry with backoff)."""
    Recording.objects.filter(pk=recording_id, state=State.PROCESSING).update(
        lease_token="", lease_until=None
    )


class _Progress:
    """Writes progress and renews the lease, at most once per percent."""

    def __init__(self, recording_id: int, token: str) -> None:
        self.recording_id = recording_id
        self.token = token
        self.percent = -1

    def __call__(self, fraction: float) -> None:
        # Composing is most of the work; thumbnail and checks take the last few percent.
        percent = min(95, max(0, int(fraction * 95)))
        if percent <= self.percent:
            return
        self.percent = percent
        renewed = Recording.objects.filter(
            pk=self.recording_id, state=State.PROCESSING, lease_token=self.token
        ).update(
            progress=percent,
            lease_until=timezone.now() + timedelta(seconds=lease_seconds()),
        )
        if not renewed:
            raise LeaseLost(f"recording {self.recording_id} was taken over")


def _journal(recording: Recording) -> Journal:
    journal = read_journal(storage.tracks_directory(recording))
    if journal.complete:
        return journal
    waited = timezone.now() - (recording.stopped_at or recording.started_at)
    if waited.total_seconds() < journal_wait_seconds():
        raise NotReadyYet(f"recording {recording.pk}: the media server is still closing files")
    # The media process died before closing the journal: compose what it wrote.
    return journal


def _already_composed(path: Path, expected: float) -> compose.MediaInfo | None:
    if not path.exists():
        return None
    try:
        return compose.verify(path, expected)
    except compose.CompositionError:
        return None


def process(recording_id: int) -> Outcome:
    """Compose, verify and publish one recording (see the module docstring)."""
    recording = Recording.objects.filter(pk=recording_id).first()
    if recording is None or recording.state != State.PROCESSING:
        return Outcome.SKIPPED
    token = _claim(recording_id)
    if token is None:
        return Outcome.BUSY
    try:
        journal = _journal(recording)
        start, end = compose.recorded_span(journal, tracks_dir=storage.tracks_directory(recording))
        expected = end - start
        output = storage.composed_path(recording)
        storage.remove_partial_files(recording)  # what a killed run was writing
        info = _already_composed(output, expected)
        if info is None:
            progress = _Progress(recording_id, token)
            compose.compose(
                journal, storage.tracks_directory(recording), output, on_progress=progress
            )
            info = compose.verify(output, expected)
        compose.make_thumbnail(output, storage.thumbnail_path(recording))
    except BaseException:
        _release(recording_id, token)
        raise
    stopped_at = recording.stopped_at or timezone.now()
    with transaction.atomic():
        moved = Recording.objects.filter(
            pk=recording_id, state=State.PROCESSING, lease_token=token
        ).update(
            state=State.READY,
            progress=100,
            recorded_seconds=expected,
            duration_seconds=info.duration,
            size_bytes=info.size_bytes,
            has_thumbnail=True,
            expires_at=stopped_at + timedelta(days=recording.retention_days),
            failure_reason="",
            lease_token="",
            lease_until=None,
        )
    if not moved:
        raise LeaseLost(f"recording {recording_id} was taken over before it was marked ready")
    # The composed file is verified and recorded as ready: the originals can go.
    storage.remove_tracks(recording)
    return Outcome.READY


def fail(recording_id: int, reason: str) -> bool:
    """Out of retries: failed, with the reason the host sees (they may retry)."""
    return states.move(
        recording_id,
        source=State.PROCESSING,
        target=State.FAILED,
        failure_reason=reason[:2000],
        lease_token="",
        lease_until=None,
    )
