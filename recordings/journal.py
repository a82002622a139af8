"""A recording's journal: the contract between the media server that records and the step
that composes, which run in different processes.

``journal.jsonl`` sits in the recording's tracks directory, one JSON object per line,
flushed as it goes::

    {"event": "started", "recording": "<id>", "at": <unix time>}
    {"event": "track", "file": "<name>.webm", "peer_id": ..., "kind": "audio" | "video",
     "source": "mic" | "camera" | "screen", "codec": "opus" | "vp8", "started_at": <unix>}
    {"event": "track_end", "file": ..., "ended_at": <unix>, "frames": n, "bytes": n}
    {"event": "stopped", "at": <unix time>, "reason": "stopped" | "room_closed"}

A media process that dies mid-recording leaves a journal without ``stopped``; the files it
wrote up to then are still readable (WebM is written as a stream).

Plain Python, no Django and no media libraries: the media server (``meetings.media.recorder``)
writes with ``JournalWriter``, ``recordings.processing`` and ``recordings.compose`` read with
``read_journal``.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

JOURNAL = "journal.jsonl"


class JournalWriter:
    """Appends entries to a recording's journal; safe to call from any thread."""

    def __init__(self, directory: Path) -> None:
        self._file: IO[str] = (Path(directory) / JOURNAL).open("a", encoding="utf-8")
        self._lock = threading.Lock()

    def started(self, *, recording: str, at: float) -> None:
        self._write({"event": "started", "recording": recording, "at": at})

    def track(
        self, *, file: str, peer_id: str, kind: str, source: str, codec: str, started_at: float
    ) -> None:
        self._write(
            {
                "event": "track",
                "file": file,
                "peer_id": peer_id,
                "kind": kind,
                "source": source,
                "codec": codec,
                "started_at": started_at,
            }
        )

    def track_end(self, *, file: str, ended_at: float, frames: int, bytes_written: int) -> None:
        self._write(
            {
                "event": "track_end",
                "file": file,
                "ended_at": ended_at,
                "frames": frames,
                "bytes": bytes_written,
            }
        )

    def stopped(self, *, at: float, reason: str) -> None:
        self._write({"event": "stopped", "at": at, "reason": reason})

    def close(self) -> None:
        with self._lock:
            self._file.close()

    def _write(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._file.write(json.dumps(entry) + "\n")
            self._file.flush()


@dataclass
class JournalTrack:
    file: str
    peer_id: str
    kind: str
    source: str
    codec: str
    started_at: float
    ended_at: float | None = None
    frames: int = 0


@dataclass
class Journal:
    """What ``journal.jsonl`` says."""

    recording: str = ""
    started_at: float | None = None
    stopped_at: float | None = None
    stop_reason: str = ""
    tracks: list[JournalTrack] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.started_at is not None and self.stopped_at is not None


def read_journal(directory: Path) -> Journal:
    """Parse a recording's journal; a torn last line (the writer died) is ignored."""
    journal = Journal()
    path = Path(directory) / JOURNAL
    if not path.exists():
        return journal
    by_file: dict[str, JournalTrack] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        event = entry.get("event")
        if event == "started" and journal.started_at is None:
            journal.recording = entry.get("recording", "")
            journal.started_at = float(entry["at"])
        elif event == "track":
            track = JournalTrack(
                file=entry["file"],
                peer_id=entry["peer_id"],
                kind=entry["kind"],
                source=entry["source"],
                codec=entry["codec"],
                started_at=float(entry["started_at"]),
            )
            by_file[track.file] = track
            journal.tracks.append(track)
        elif event == "track_end" and entry.get("file") in by_file:
            track = by_file[entry["file"]]
            track.ended_at = float(entry["ended_at"])
            track.frames = int(entry.get("frames", 0))
        elif event == "stopped":
            journal.stopped_at = float(entry["at"])
            journal.stop_reason = entry.get("reason", "")
    return journal
