"""The video side: each video track's frame at a given time, and the gallery they make.

Frames are placed by their timestamps (a paused camera holds its last frame; nothing is
counted). The gallery is composited in yuv420p, straight into the planes handed to the
encoder: no RGB round trip, and a tile is rescaled only when its track has a new frame.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from .layout import Rect, fit, grid
from .sources import Frames, decoded_frames

# A track that was never closed, or whose file ends early, leaves the gallery this long
# after its last frame: enough to bridge the usual gap between last frame and track end.
HOLD_SECONDS = 1.0
BLACK_Y, BLACK_UV = 16, 128  # limited range, as H.264 in browsers expects


class VideoTrack:
    """One video track file on the output timeline (seconds from the span's start)."""

    def __init__(self, path: Path, *, order: tuple[int, float], start: float, end: float | None):
        self.path = path
        self.order = order  # (participant's first appearance, track start): the tile order
        self.start = start
        self.end = end  # None: until its last frame
        self.frame: Any = None  # what the tile shows now
        self.serial = 0  # bumped with each new frame, so the gallery knows what to redraw
        self.finished = False
        self._frames: Frames | None = None
        self._next: tuple[float, Any] | None = None
        self._last_time = start

    def advance(self, t: float) -> None:
        """Move to output time ``t`` (never backwards)."""
        if self.finished or t < self.start:
            return
        if self._frames is None:
            self._frames = decoded_frames(self.path, "video")
            self._pull()
        while self._next is not None and self._next[0] <= t:
            self._last_time, self.frame = self._next
            self.serial += 1
            self._pull()
        end = self.end
        if self._next is None:  # end of file: no frame will come any more
            held = self._last_time + HOLD_SECONDS
            end = held if end is None else min(end, held)
        if end is not None and t >= end:
            self.close()

    @property
    def showing(self) -> bool:
        return self.frame is not None and not self.finished

    def close(self) -> None:
        self.finished = True
        self.frame = self._next = None
        if self._frames is not None:
            self._frames.close()

    def _pull(self) -> None:
        assert self._frames is not None
        for time, frame in self._frames:
            if time is None:  # no timestamp: right after the previous frame
                time = self._last_time - self.start
            self._next = (self.start + time, frame)
            return
        self._next = None


class Gallery:
    """The output picture: one tile per video track shown, in a grid."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        # One buffer laid out as yuv420p (Y, then U, then V), as VideoFrame.from_ndarray wants.
        self._buffer = np.empty((height * 3 // 2, width), np.uint8)
        quarter = height // 4
        self._y = self._buffer[:height]
        self._u = self._buffer[height : height + quarter].reshape(height // 2, width // 2)
        self._v = self._buffer[height + quarter :].reshape(height // 2, width // 2)
        self._tracks: tuple[VideoTrack, ...] | None = None
        self._cells: list[Rect] = []
        self._drawn: dict[int, tuple[int, Rect]] = {}  # id(track) -> (serial, where)
        self._scalers: dict[int, VideoReformatter] = {}

    def render(self, tracks: list[VideoTrack]) -> av.VideoFrame:
        """The picture showing ``tracks`` (already in tile order)."""
        if self._tracks != tuple(tracks):
            self._tracks = tuple(tracks)
            self._cells = grid(len(tracks), self.width, self.height)
            self._drawn.clear()
            shown = {id(track) for track in tracks}
            self._scalers = {k: v for k, v in self._scalers.items() if k in shown}
            self._fill(Rect(0, 0, self.width, self.height))
        for track, cell in zip(tracks, self._cells, strict=True):
            self._draw(track, cell)
        return av.VideoFrame.from_ndarray(self._buffer, format="yuv420p")

    def _draw(self, track: VideoTrack, cell: Rect) -> None:
        frame = track.frame
        drawn = self._drawn.get(id(track))
        if drawn is not None and drawn[0] == track.serial:
            return
        where = fit(frame.width, frame.height, cell)
        if drawn is not None and drawn[1] != where:  # the picture changed shape
            self._fill(cell)
        scaler = self._scalers.setdefault(id(track), VideoReformatter())
        scaled = scaler.reformat(
            frame,
            width=where.width,
            height=where.height,
            format="yuv420p",
            interpolation="BILINEAR",
            threads=1,
        )
        self._y[where.y : where.y + where.height, where.x : where.x + where.width] = _plane(
            scaled.planes[0]
        )
        cy, cx, ch, cw = where.y // 2, where.x // 2, where.height // 2, where.width // 2
        self._u[cy : cy + ch, cx : cx + cw] = _plane(scaled.planes[1])
        self._v[cy : cy + ch, cx : cx + cw] = _plane(scaled.planes[2])
        self._drawn[id(track)] = (track.serial, where)

    def _fill(self, rect: Rect) -> None:
        self._y[rect.y : rect.y + rect.height, rect.x : rect.x + rect.width] = BLACK_Y
        cy, cx, ch, cw = rect.y // 2, rect.x // 2, rect.height // 2, rect.width // 2
        self._u[cy : cy + ch, cx : cx + cw] = BLACK_UV
        self._v[cy : cy + ch, cx : cx + cw] = BLACK_UV


def _plane(plane: Any) -> np.ndarray:
    """A plane's pixels as a (height, width) view (rows are padded to line_size)."""
    rows = np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)
    return rows[: plane.height, : plane.width]
