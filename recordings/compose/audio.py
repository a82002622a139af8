"""The audio side: each audio track decoded, placed by its timestamps, and mixed.

Positions are in samples at RATE from the span's start. A track's frames follow one
another without a gap as long as their timestamps agree within JITTER_SAMPLES (so rounding
never clicks); a bigger jump (a muted microphone sends nothing) moves the track to where
its timestamps say, leaving silence in between.
"""

from __future__ import annotations

import fractions
from collections import deque
from pathlib import Path

import av
import numpy as np

from .sources import Frames, decoded_frames

RATE = 48_000
CHANNELS = 2
LAYOUT = "stereo"
TIME_BASE = fractions.Fraction(1, RATE)
JITTER_SAMPLES = RATE // 100  # 10 ms, half an Opus frame


class AudioTrack:
    """One audio track file: adds its samples to the blocks of the mix it overlaps."""

    def __init__(self, path: Path, *, start: int) -> None:
        self.path = path
        self.start = start  # sample where its first frame goes
        self.finished = False
        self._frames: Frames | None = None  # None before opening and once exhausted
        self._opened = False
        self._resampler = av.AudioResampler(format="fltp", layout=LAYOUT, rate=RATE)
        self._chunks: deque[tuple[int, np.ndarray]] = deque()  # decoded, not yet mixed
        self._cursor: int | None = None  # where the next contiguous sample goes

    def add_to(self, block: np.ndarray, position: int) -> None:
        """Add this track's samples in [position, position + len(block)) to ``block``."""
        stop = position + block.shape[1]
        if self.finished or stop <= self.start:
            return
        if not self._opened:
            self._frames, self._opened = decoded_frames(self.path, "audio"), True
        while self._frames is not None and (
            not self._chunks or self._chunks[-1][0] + self._chunks[-1][1].shape[1] < stop
        ):
            self._decode_one()
        for at, samples in self._chunks:
            low, high = max(at, position), min(at + samples.shape[1], stop)
            if low < high:
                block[:, low - position : high - position] += samples[:, low - at : high - at]
        while self._chunks and self._chunks[0][0] + self._chunks[0][1].shape[1] <= stop:
            self._chunks.popleft()
        if self._frames is None and not self._chunks:
            self.finished = True

    def close(self) -> None:
        self.finished = True
        self._chunks.clear()
        if self._frames is not None:
            self._frames.close()
            self._frames = None

    def _decode_one(self) -> None:
        assert self._frames is not None
        item = next(self._frames, None)
        if item is None:
            self._frames = None
            return
        time, frame = item
        if time is not None:
            stamped = self.start + round(time * RATE)
            if self._cursor is None or abs(stamped - self._cursor) > JITTER_SAMPLES:
                self._cursor = stamped
        elif self._cursor is None:
            self._cursor = self.start
        for converted in self._resampler.resample(frame):
            samples = converted.to_ndarray()  # (channels, samples), float32
            self._chunks.append((self._cursor, samples))
            self._cursor += samples.shape[1]


def mix(tracks: list[AudioTrack], position: int, length: int) -> np.ndarray:
    """The mix of ``tracks`` over [position, position + length): summed, clipped."""
    block = np.zeros((CHANNELS, length), np.float32)
    for track in tracks:
        track.add_to(block, position)
    np.clip(block, -1.0, 1.0, out=block)
    return block


def audio_frame(block: np.ndarray, position: int) -> av.AudioFrame:
    frame = av.AudioFrame.from_ndarray(block, format="fltp", layout=LAYOUT)
    frame.sample_rate = RATE
    frame.pts = position
    frame.time_base = TIME_BASE
    return frame
