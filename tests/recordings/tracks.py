"""Synthetic recordings, written the way the media server writes them.

Each participant's camera is a VP8 stream of their own colour (a white square moving along
the top edge, so that frames differ) and their microphone an Opus stream of their own tone.
Packets go through ``meetings.media.recorder.TrackFile`` with RTP-style timestamps (90 kHz
video, 48 kHz audio, starting near the 32-bit wrap), and the journal gets the same JSON
lines ``RoomRecorder`` logs. The benchmarks use the same helpers at realistic sizes.
"""

from __future__ import annotations

import fractions
import itertools
import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np

from meetings.media.recorder import TrackFile
from recordings.journal import JOURNAL

START = 1_700_000_000.0  # the recording's "started" time (unix seconds)
VIDEO_CLOCK, AUDIO_CLOCK = 90_000, 48_000
AUDIO_FRAME = 960  # 20 ms at 48 kHz
RTP_ORIGIN = (1 << 32) - 100_000  # timestamps wrap early in every track
CUES_ID = bytes.fromhex("1c53bb6b")  # the Matroska element TrackFile.close() appends


@dataclass(frozen=True)
class Participant:
    peer_id: str
    rgb: tuple[int, int, int]
    tone_hz: float
    joins: float = 0.0  # seconds into the recording
    leaves: float | None = None  # None: stays to the end
    video: bool = True
    audio: bool = True
    # (from, to) seconds into the recording when the participant sends nothing: the
    # timestamps keep running, so the next frame's jumps.
    pauses: tuple[tuple[float, float], ...] = ()


@dataclass(frozen=True)
class Encoding:
    width: int = 160
    height: int = 120
    fps: int = 15
    video_bit_rate: int = 150_000
    audio_bit_rate: int = 32_000
    noise: bool = False  # camera-like grain, for realistic bit rates
    gop_seconds: float = 2.0
    # Encode this many seconds once and repeat the packets (each repeat starts with a
    # keyframe, so the stream stays valid): long recordings without long encoding.
    clip_seconds: float | None = None


RED = (220, 40, 40)
BLUE = (40, 60, 220)
GREEN = (40, 200, 60)


def write_recording(
    directory: Path,
    participants: Sequence[Participant],
    *,
    seconds: float,
    encoding: Encoding = Encoding(),
    died: bool = False,
    flushed_only: bool = False,
) -> Path:
    """A recording directory of ``seconds``: journal and one WebM per track.

    ``died``: the media process died at the end: no ``track_end`` or ``stopped`` lines,
    and the files lack their final cues (every cluster is assumed to have reached the disk;
    ``flushed_only`` keeps just what TrackFile had actually flushed).
    """
    directory.mkdir(parents=True, exist_ok=True)
    lines: list[dict[str, Any]] = [{"event": "started", "recording": "rec", "at": START}]
    ends: list[dict[str, Any]] = []
    serial = itertools.count(1)
    for person in sorted(participants, key=lambda p: p.joins):
        until = seconds if person.leaves is None else min(person.leaves, seconds)
        for kind, wanted in (("video", person.video), ("audio", person.audio)):
            if not wanted:
                continue
            source = "camera" if kind == "video" else "mic"
            name = f"{next(serial):03d}-{person.peer_id}-{source}.webm"
            if kind == "video":
                packets = vp8_packets(person, until, encoding)
                clock, mime = VIDEO_CLOCK, "video/VP8"
            else:
                packets = opus_packets(person, until, encoding)
                clock, mime = AUDIO_CLOCK, "audio/opus"
            frames = write_track(
                directory / name, kind, mime, packets, clock, died=died, flushed_only=flushed_only
            )
            lines.append(
                {
                    "event": "track",
                    "file": name,
                    "peer_id": person.peer_id,
                    "kind": kind,
                    "source": source,
                    "codec": "vp8" if kind == "video" else "opus",
                    "started_at": START + person.joins,
                }
            )
            ends.append(
                {
                    "event": "track_end",
                    "file": name,
                    "ended_at": START + until,
                    "frames": frames,
                    "bytes": (directory / name).stat().st_size,
                }
            )
    if not died:
        lines += ends
        lines.append({"event": "stopped", "at": START + seconds, "reason": "stopped"})
    write_journal(directory, lines)
    return directory


def write_journal(directory: Path, lines: Sequence[dict[str, Any]]) -> None:
    with (directory / JOURNAL).open("w", encoding="utf-8") as journal:
        for entry in lines:
            journal.write(json.dumps(entry) + "\n")


def write_track(
    path: Path,
    kind: str,
    mime_type: str,
    packets: Iterator[tuple[float, bytes]],
    clock_rate: int,
    *,
    died: bool = False,
    flushed_only: bool = False,
) -> int:
    """Write (seconds into the track, frame) packets through TrackFile; the frame count."""
    track = TrackFile(path, kind, mime_type)
    for t, data in packets:
        track.write(data, (RTP_ORIGIN + round(t * clock_rate)) % (1 << 32), clock_rate)
    flushed = path.read_bytes() if path.exists() else b""
    track.close()
    if died and flushed_only:
        path.write_bytes(flushed)
    elif died:  # the clusters are there, the cues (written on close) are not
        data = path.read_bytes()
        cues = data.rfind(CUES_ID)
        path.write_bytes(data[:cues] if cues > 0 else data)
    return track.frames


def _sending(person: Participant, t: float) -> bool:
    at = person.joins + t
    return not any(start <= at < end for start, end in person.pauses)


def vp8_packets(
    person: Participant, until: float, encoding: Encoding
) -> Iterator[tuple[float, bytes]]:
    """(seconds into the track, VP8 frame) from ``person.joins`` to ``until``."""
    times = [i / encoding.fps for i in range(math.ceil((until - person.joins) * encoding.fps))]
    times = [t for t in times if _sending(person, t)]
    clip_frames = (
        round(encoding.clip_seconds * encoding.fps) if encoding.clip_seconds else len(times)
    )
    clip = vp8_frames(person, encoding, clip_frames)
    for index, t in enumerate(times):
        yield t, clip[index % len(clip)]


def vp8_frames(person: Participant, encoding: Encoding, count: int) -> list[bytes]:
    """``count`` VP8 frames of ``person``'s camera, the first a keyframe."""
    return list(itertools.islice(_encode_vp8(person, encoding), count))


def _encode_vp8(person: Participant, encoding: Encoding) -> Iterator[bytes]:
    width, height = encoding.width, encoding.height
    codec: Any = av.CodecContext.create("libvpx", "w")
    codec.width, codec.height, codec.pix_fmt = width, height, "yuv420p"
    codec.time_base = fractions.Fraction(1, encoding.fps)
    codec.framerate = encoding.fps
    codec.bit_rate = encoding.video_bit_rate
    codec.gop_size = round(encoding.gop_seconds * encoding.fps)
    codec.thread_count = 1
    codec.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    y, u, v = yuv(person.rgb)
    grain = np.random.default_rng(len(person.peer_id)).integers(
        -12, 12, (height * 2, width), dtype=np.int16
    )
    square = max(2, height // 6)
    for index in itertools.count():
        luma = np.full((height, width), y, np.int16)
        if encoding.noise:
            shift = index * 3 % height
            luma += grain[shift : shift + height]
        left = index * 4 % (width - square)
        luma[:square, left : left + square] = 235
        frame = av.VideoFrame(width, height, "yuv420p")
        frame.planes[0].update(_padded(np.clip(luma, 0, 255).astype(np.uint8), frame.planes[0]))
        for plane, value in ((frame.planes[1], u), (frame.planes[2], v)):
            plane.update(bytes([value]) * (plane.line_size * plane.height))
        frame.pts = index
        for packet in codec.encode(frame):
            yield bytes(packet)


def _padded(pixels: np.ndarray, plane: Any) -> bytes:
    rows = np.zeros((plane.height, plane.line_size), np.uint8)
    rows[:, : pixels.shape[1]] = pixels
    return rows.tobytes()


def yuv(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    """BT.601 limited range, as swscale converts by default."""
    r, g, b = (c / 255 for c in rgb)
    y = 16 + 65.481 * r + 128.553 * g + 24.966 * b
    u = 128 - 37.797 * r - 74.203 * g + 112.0 * b
    v = 128 + 112.0 * r - 93.786 * g - 18.214 * b
    return round(y), round(u), round(v)


def opus_packets(
    person: Participant, until: float, encoding: Encoding
) -> Iterator[tuple[float, bytes]]:
    """(seconds into the track, Opus packet) of ``person``'s tone, 20 ms each."""
    count = math.ceil((until - person.joins) * AUDIO_CLOCK / AUDIO_FRAME)
    codec: Any = av.CodecContext.create("libopus", "w")
    codec.sample_rate, codec.layout, codec.format = AUDIO_CLOCK, "stereo", "s16"
    codec.bit_rate = encoding.audio_bit_rate
    codec.time_base = fractions.Fraction(1, AUDIO_CLOCK)
    clip_packets = (
        round(encoding.clip_seconds * AUDIO_CLOCK / AUDIO_FRAME) if encoding.clip_seconds else None
    )
    clip: list[bytes] = []
    phase = np.arange(AUDIO_FRAME) / AUDIO_CLOCK
    for index in range(count):
        t = index * AUDIO_FRAME / AUDIO_CLOCK
        if clip_packets is not None and len(clip) >= clip_packets:
            data = clip[index % clip_packets]
        else:
            wave = 0.3 * np.sin(2 * np.pi * person.tone_hz * (t + phase))
            samples = np.repeat((wave * 32767).astype(np.int16), 2).reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="stereo")
            frame.sample_rate, frame.pts = AUDIO_CLOCK, index * AUDIO_FRAME
            data = b"".join(bytes(p) for p in codec.encode(frame))
            clip.append(data)
        if data and _sending(person, t):
            yield t, data


def drop_from_journal(directory: Path, peer_id: str) -> None:
    """Remove ``peer_id``'s tracks from the journal (the files stay): what a participant who
    never consented looks like to the composer, with their files there to tempt it."""
    path = directory / JOURNAL
    entries = [json.loads(line) for line in path.read_text().splitlines()]
    dropped = {e["file"] for e in entries if e.get("peer_id") == peer_id}
    write_journal(directory, [e for e in entries if e.get("file") not in dropped])
