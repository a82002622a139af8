"""The recorded time: the composed file's timeline."""

from __future__ import annotations

from pathlib import Path

from recordings.journal import Journal, JournalTrack

from .media import CompositionError
from .sources import last_frame_time

MIN_SECONDS = 0.1  # shorter than this there is nothing worth a file


def recorded_span(journal: Journal, *, tracks_dir: Path | None = None) -> tuple[float, float]:
    """(start, end) in unix seconds: the journal's start, and its stop or, for a media
    process that died before writing one, the latest track end.

    A track that was never closed ends at its last written frame, which only its file
    knows: pass ``tracks_dir`` (``compose`` does) to read it; without it such a track
    counts from its start only. CompositionError if there is no usable span.
    """
    if journal.started_at is None:
        raise CompositionError("The recording has no start: its journal is missing or empty.")
    start = journal.started_at
    if journal.stopped_at is not None:
        end = journal.stopped_at
    else:
        end = max((_track_end(track, tracks_dir) for track in journal.tracks), default=start)
    if end - start < MIN_SECONDS:
        raise CompositionError("Nothing was recorded.")
    return start, end


def _track_end(track: JournalTrack, tracks_dir: Path | None) -> float:
    if track.ended_at is not None:
        return track.ended_at
    if tracks_dir is None:
        return track.started_at
    last = last_frame_time(tracks_dir / track.file, track.kind)
    return track.started_at + (last or 0.0)
