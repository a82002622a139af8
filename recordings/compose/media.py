"""Looking at a composed file: probing, verifying, thumbnails; and writing files atomically."""

from __future__ import annotations

import contextlib
import fractions
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av

THUMBNAIL_WIDTH = 320
THUMBNAIL_AT = 0.1  # share of the duration: past the first moments, when people settle


class CompositionError(Exception):
    """A recording that cannot be composed; the message is shown to the host."""


@dataclass(frozen=True)
class MediaInfo:
    duration: float  # seconds
    has_audio: bool
    has_video: bool
    width: int
    height: int
    size_bytes: int


@contextlib.contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """A temporary path next to ``path`` that replaces it only if the body succeeds.

    Same directory, so ``os.replace`` is atomic: readers see the old file or the new one,
    never half of one, and a crash leaves at most a hidden temp file that is removed here.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.part")
    try:
        yield temp
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)


def probe(path: Path) -> MediaInfo:
    """What ``path`` holds; CompositionError if it is not a media file that opens."""
    try:
        container: Any = av.open(str(path))
    except (av.FFmpegError, OSError) as error:
        raise CompositionError(f"The file {Path(path).name} cannot be opened: {error}") from error
    with container:
        video = next(iter(container.streams.video), None)
        audio = next(iter(container.streams.audio), None)
        duration = container.duration / av.time_base if container.duration else 0.0
        if not duration:  # some formats only know their streams' durations
            duration = max(
                (float(s.duration * s.time_base) for s in container.streams if s.duration),
                default=0.0,
            )
        return MediaInfo(
            duration=duration,
            has_audio=audio is not None,
            has_video=video is not None,
            width=video.codec_context.width if video is not None else 0,
            height=video.codec_context.height if video is not None else 0,
            size_bytes=Path(path).stat().st_size,
        )


def verify(path: Path, expected_seconds: float, *, tolerance: float = 0.5) -> MediaInfo:
    """The file's MediaInfo, or CompositionError unless it opens, has audio and video, and
    lasts ``expected_seconds`` within ``tolerance``."""
    info = probe(path)
    if not info.has_video:
        raise CompositionError("The composed recording has no video.")
    if not info.has_audio:
        raise CompositionError("The composed recording has no audio.")
    if abs(info.duration - expected_seconds) > tolerance:
        raise CompositionError(
            f"The composed recording lasts {info.duration:.1f} s instead of "
            f"{expected_seconds:.1f} s."
        )
    return info


def make_thumbnail(video: Path, thumbnail: Path) -> None:
    """A THUMBNAIL_WIDTH px wide JPEG of the frame at THUMBNAIL_AT of ``video``, atomically."""
    frame = _representative_frame(video)
    height = max(2, round(THUMBNAIL_WIDTH * frame.height / frame.width / 2) * 2)
    # yuvj420p is full range, which is what JPEG viewers assume.
    small = frame.reformat(width=THUMBNAIL_WIDTH, height=height, format="yuvj420p", threads=1)
    encoder: Any = av.CodecContext.create("mjpeg", "w")
    encoder.width, encoder.height, encoder.pix_fmt = THUMBNAIL_WIDTH, height, "yuvj420p"
    encoder.time_base = fractions.Fraction(1, 1)
    encoder.qmin, encoder.qmax = 2, 5  # a small picture: keep it sharp
    small.pts = 0
    jpeg = b"".join(bytes(p) for p in [*encoder.encode(small), *encoder.encode(None)])
    with replacing(thumbnail) as temp:
        temp.write_bytes(jpeg)


def _representative_frame(video: Path) -> Any:
    try:
        container: Any = av.open(str(video))
    except (av.FFmpegError, OSError) as error:
        raise CompositionError(f"The file {Path(video).name} cannot be opened: {error}") from error
    with container:
        if not container.streams.video:
            raise CompositionError(f"The file {Path(video).name} has no video.")
        stream = container.streams.video[0]
        stream.codec_context.thread_count = 1
        target = THUMBNAIL_AT * (container.duration / av.time_base if container.duration else 0)
        with contextlib.suppress(av.FFmpegError):
            # Backwards to the keyframe before the target; decoding goes on from there.
            container.seek(int(target * av.time_base))
        chosen = None
        try:
            for frame in container.decode(stream):
                chosen = frame
                if frame.time is None or frame.time >= target:
                    break
        except av.FFmpegError:
            pass  # keep the last good frame
        if chosen is None:
            raise CompositionError(f"No frame of {Path(video).name} could be decoded.")
        return chosen
