"""Reading one track file as far as it can be read.

A media process that died leaves files without their final cues, possibly cut in the middle
of a block; a disk hiccup may leave an empty file. Neither may stop a composition: what
decodes is used, the rest is skipped with a warning.
"""

from __future__ import annotations

import logging
from collections.abc import Generator
from pathlib import Path
from typing import Any

import av

logger = logging.getLogger(__name__)

# (seconds from the track's first frame, or None if unknown; the decoded frame)
Frames = Generator[tuple[float | None, Any], None, None]


def _open_stream(path: Path, kind: str) -> tuple[Any, Any] | None:
    """(container, its first ``kind`` stream), or None (logged) if there is none to read."""
    try:
        container: Any = av.open(str(path))
    except (av.FFmpegError, OSError) as error:
        logger.warning("recording track %s cannot be opened, skipped: %s", path.name, error)
        return None
    streams = [s for s in container.streams if s.type == kind]
    if not streams:
        container.close()
        logger.warning("recording track %s has no %s stream, skipped", path.name, kind)
        return None
    stream = streams[0]
    stream.codec_context.thread_count = 1  # a worker gets one core; threads only add overhead
    return container, stream


def decoded_frames(path: Path, kind: str) -> Frames:
    """(seconds from the track's first frame, frame) for each decodable frame, in order.

    The time is None when the file gives none. Close the iterator to release the file early.
    """
    opened = _open_stream(path, kind)
    if opened is None:
        return
    container, stream = opened
    bad_packets = 0
    try:
        try:
            for packet in container.demux(stream):
                try:
                    frames = packet.decode()  # the final empty packet flushes the decoder
                except av.FFmpegError:
                    bad_packets += 1
                    continue
                for frame in frames:
                    yield frame.time, frame
        except av.FFmpegError as error:
            logger.warning(
                "recording track %s is cut short, read up to there: %s", path.name, error
            )
        if bad_packets:
            logger.warning(
                "recording track %s: %d undecodable packets skipped", path.name, bad_packets
            )
    finally:
        container.close()


def last_frame_time(path: Path, kind: str) -> float | None:
    """Seconds from the track's first frame to the end of its last readable packet.

    Demuxes without decoding (cheap): used to find where a track that was never closed ends.
    """
    opened = _open_stream(path, kind)
    if opened is None:
        return None
    container, stream = opened
    last: float | None = None
    try:
        for packet in container.demux(stream):
            if packet.pts is None or packet.time_base is None:
                continue
            end = float((packet.pts + (packet.duration or 0)) * packet.time_base)
            last = end if last is None else max(last, end)
    except av.FFmpegError as error:
        logger.warning("recording track %s is cut short, read up to there: %s", path.name, error)
    finally:
        container.close()
    return last
