"""Recording on the media server: the encoded frames it already forwards, remuxed into
one WebM file per track (no decoding, no re-encoding).

A ``RoomRecorder`` belongs to one ``MediaRoom`` while a recording runs. The room hands it
each frame of a publication whose participant consented (``MediaRoom.start_recording``);
the recorder copies the frame's bytes into a queue and returns at once: the files are
written by one thread per recording, so a slow disk never stalls forwarding.

Timing is kept: each packet's timestamp is its RTP timestamp relative to the track's first
written frame (a keyframe for video; the publisher is asked for one when the track's file
starts), and the journal says when, in wall-clock time, that first frame arrived.

The journal (``recordings.journal``, written as the recording goes) is the contract with
the processing step, which runs in another process.

Pure asyncio and PyAV: no Django here.
"""

from __future__ import annotations

import fractions
import logging
import queue
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av

from recordings.journal import JournalWriter

from .aiortc_tap import EncodedFrame
from .forwarding import is_vp8_keyframe

logger = logging.getLogger(__name__)

CODECS = {"video/vp8": ("vp8", "libvpx"), "audio/opus": ("opus", "libopus")}
_MS = fractions.Fraction(1, 1000)
_RTP_WRAP = 1 << 32
_SAFE = re.compile(r"[^A-Za-z0-9_-]+")


def vp8_dimensions(keyframe: bytes) -> tuple[int, int]:
    """Width and height from a VP8 keyframe header (RFC 6386 9.1), without decoding."""
    width = int.from_bytes(keyframe[6:8], "little") & 0x3FFF
    height = int.from_bytes(keyframe[8:10], "little") & 0x3FFF
    return width, height


class TrackFile:
    """One track's WebM file; used only on the recorder's writer thread."""

    def __init__(self, path: Path, kind: str, mime_type: str) -> None:
        self.path = path
        self.kind = kind
        self.codec_name, self._muxer_codec = CODECS[mime_type.lower()]
        self._container: Any = None
        self._stream: Any = None
        self._first_timestamp: int | None = None
        self._last_pts = -1
        self.frames = 0
        self.bytes = 0

    def write(self, data: bytes, timestamp: int, clock_rate: int) -> None:
        if self._container is None:
            self._open(data)
        if self._first_timestamp is None:
            self._first_timestamp = timestamp
        ticks = (timestamp - self._first_timestamp) % _RTP_WRAP
        pts = ticks * 1000 // clock_rate
        if pts <= self._last_pts:
            # WebM needs increasing timestamps; a late duplicate is not worth a broken file.
            if self.kind == "audio" or pts < self._last_pts:
                return
            pts = self._last_pts + 1
        self._last_pts = pts
        packet = av.Packet(data)
        packet.pts = packet.dts = pts
        packet.time_base = _MS
        # Marked keyframes give the WebM cues (a seek index) for video.
        packet.is_keyframe = self.kind == "audio" or is_vp8_keyframe(data)
        packet.stream = self._stream
        self._container.mux(packet)
        self.frames += 1
        self.bytes += len(data)

    def _open(self, first: bytes) -> None:
        container = av.open(str(self.path), "w", format="webm")
        stream: Any
        if self.kind == "video":
            stream = container.add_stream(self._muxer_codec)
            stream.width, stream.height = vp8_dimensions(first)
        else:
            # Opening libopus gives the stream its OpusHead (WebM's CodecPrivate); nothing
            # is ever encoded with it.
            stream = container.add_stream(self._muxer_codec, rate=48000)
            stream.layout = "stereo"
        stream.time_base = _MS
        self._container, self._stream = container, stream

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = None


@dataclass(eq=False)
class RecordedTrack:
    """A publication being recorded (loop side)."""

    file: str
    peer_id: str
    kind: str
    source: str
    mime_type: str
    waiting_for_keyframe: bool
    started_at: float | None = None
    closed: bool = False


@dataclass
class _Stats:
    frames_queued: int = 0
    bytes_queued: int = 0
    frames_skipped: int = 0  # video before the track's first keyframe


class RoomRecorder:
    """Writes the consented participants' publications of one room (see the module doc).

    Call everything but ``close`` on the event loop thread; ``close`` blocks until the
    writer thread has finished, so await it through ``loop.run_in_executor`` or
    ``asyncio.to_thread``.
    """

    def __init__(
        self,
        recording_id: str,
        directory: Path,
        consented: set[str] | frozenset[str] = frozenset(),
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.recording_id = recording_id
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.consented: set[str] = set(consented)
        self._clock = clock
        self._serial = 0
        self._tracks: dict[Any, RecordedTrack] = {}  # by the room's publication key
        self._queue: queue.SimpleQueue[tuple[Any, ...] | None] = queue.SimpleQueue()
        self.stats = _Stats()
        self.stopped = False
        self._journal = JournalWriter(self.directory)
        self.started_at = clock()
        self._journal.started(recording=recording_id, at=self.started_at)
        self._thread = threading.Thread(
            target=self._write_loop, name=f"recorder-{recording_id}", daemon=True
        )
        self._thread.start()

    # --- loop side -----------------------------------------------------------------------

    def wants(self, peer_id: str) -> bool:
        return not self.stopped and peer_id in self.consented

    def add(self, key: Any, *, peer_id: str, kind: str, source: str, mime_type: str) -> bool:
        """Start a file for a publication; False if it is not to be recorded."""
        if not self.wants(peer_id) or key in self._tracks or mime_type.lower() not in CODECS:
            return False
        self._serial += 1
        name = f"{self._serial:03d}-{_SAFE.sub('_', peer_id)[:40]}-{source}.webm"
        self._tracks[key] = RecordedTrack(
            file=name,
            peer_id=peer_id,
            kind=kind,
            source=source,
            mime_type=mime_type,
            waiting_for_keyframe=kind == "video",
        )
        return True

    def push(self, key: Any, frame: EncodedFrame) -> None:
        """One encoded frame of publication ``key`` (the SFU's tap callback calls this)."""
        track = self._tracks.get(key)
        if track is None or track.closed:
            return
        if track.waiting_for_keyframe:
            if not is_vp8_keyframe(frame.data):
                self.stats.frames_skipped += 1
                return
            track.waiting_for_keyframe = False
        if track.started_at is None:
            track.started_at = self._clock()
            self._queue.put(("open", track.file, track.kind, track.mime_type))
            self._journal.track(
                file=track.file,
                peer_id=track.peer_id,
                kind=track.kind,
                source=track.source,
                codec=CODECS[track.mime_type.lower()][0],
                started_at=track.started_at,
            )
        self.stats.frames_queued += 1
        self.stats.bytes_queued += len(frame.data)
        self._queue.put(("frame", track.file, frame.data, frame.timestamp, frame.clock_rate))

    def resync(self, key: Any) -> None:
        """After a gap in a video track's frames: write nothing more of it until a keyframe."""
        track = self._tracks.get(key)
        if track is not None and track.kind == "video" and track.started_at is not None:
            track.waiting_for_keyframe = True

    def end(self, key: Any) -> None:
        """The publication ended (or its participant withdrew consent): close its file."""
        track = self._tracks.pop(key, None)
        if track is None or track.closed:
            return
        track.closed = True
        if track.started_at is not None:
            self._queue.put(("close", track.file, self._clock()))

    def recorded_keys(self) -> list[Any]:
        return list(self._tracks)

    def peer_of(self, key: Any) -> str | None:
        track = self._tracks.get(key)
        return track.peer_id if track else None

    def is_recording(self, key: Any) -> bool:
        return key in self._tracks

    def close(self, reason: str = "stopped") -> dict[str, Any]:
        """Close every file, write ``stopped`` and wait for the writer (blocking)."""
        if not self.stopped:
            self.stopped = True
            for key in list(self._tracks):
                self.end(key)
            self._queue.put(("stopped", self._clock(), reason))
            self._queue.put(None)
        self._thread.join()
        return {
            "recording": self.recording_id,
            "directory": str(self.directory),
            "frames": self.stats.frames_queued,
            "bytes": self.stats.bytes_queued,
        }

    # --- the writer thread --------------------------------------------------------------

    def _write_loop(self) -> None:
        files: dict[str, TrackFile] = {}
        try:
            while True:
                item = self._queue.get()
                if item is None:
                    return
                op = item[0]
                if op == "frame":
                    _, name, data, timestamp, clock_rate = item
                    track_file = files.get(name)
                    if track_file is not None:
                        try:
                            track_file.write(data, timestamp, clock_rate)
                        except (av.FFmpegError, OSError, ValueError):
                            logger.exception(
                                "recording %s: writing %s failed", self.recording_id, name
                            )
                            files.pop(name).close()
                elif op == "open":
                    _, name, kind, mime_type = item
                    files[name] = TrackFile(self.directory / name, kind, mime_type)
                elif op == "close":
                    _, name, ended_at = item
                    self._finish(files.pop(name, None), name, ended_at)
                elif op == "stopped":
                    _, at, reason = item
                    for name in list(files):
                        self._finish(files.pop(name), name, at)
                    self._journal.stopped(at=at, reason=reason)
        finally:
            for track_file in files.values():
                track_file.close()
            self._journal.close()

    def _finish(self, track_file: TrackFile | None, name: str, ended_at: float) -> None:
        frames = bytes_written = 0
        if track_file is not None:
            try:
                track_file.close()
            except (av.FFmpegError, OSError):
                logger.exception("recording %s: closing %s failed", self.recording_id, name)
            frames, bytes_written = track_file.frames, track_file.bytes
        self._journal.track_end(
            file=name, ended_at=ended_at, frames=frames, bytes_written=bytes_written
        )
