"""Where a recording's files live on disk (shared by the media server and the workers)."""

from __future__ import annotations

import shutil
from pathlib import Path

from django.conf import settings

from recordings.models import Recording

COMPOSED = "composed.mp4"
THUMBNAIL = "thumbnail.jpg"
TRACKS = "tracks"


def root() -> Path:
    return Path(settings.RECORDINGS_ROOT)


def directory(recording: Recording) -> Path:
    return root() / str(recording.public_id)


def tracks_directory(recording: Recording) -> Path:
    return directory(recording) / TRACKS


def composed_path(recording: Recording) -> Path:
    return directory(recording) / COMPOSED


def thumbnail_path(recording: Recording) -> Path:
    return directory(recording) / THUMBNAIL


def remove_tracks(recording: Recording) -> None:
    shutil.rmtree(tracks_directory(recording), ignore_errors=True)


def remove_all(recording: Recording) -> None:
    shutil.rmtree(directory(recording), ignore_errors=True)


def remove_partial_files(recording: Recording) -> None:
    """Temporary files a killed worker left mid-write (see ``compose.media.replacing``)."""
    folder = directory(recording)
    if folder.is_dir():
        for partial in folder.glob(".*.part"):
            partial.unlink(missing_ok=True)
