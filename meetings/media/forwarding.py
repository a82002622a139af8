"""Forwarding encoded frames from one publisher track to many subscriber tracks.

A ``TrackForwarder`` takes the ``EncodedFrame``s tapped from one server-side receiver (see
``aiortc_tap``) and hands the same ``av.Packet`` to every subscriber's ``ForwardedTrack``:
one packet object per frame, however many subscribers. A ``ForwardedTrack`` is what a
subscriber connection's ``RTCRtpSender`` reads; it returns ``av.Packet``s, which aiortc
packs into RTP without an encoder.

Video needs care because frames depend on earlier ones:

- a new subscriber gets nothing until a keyframe, and the publisher is asked for one at
  once (and again at most every ``KEYFRAME_RETRY`` seconds while someone waits, in case the
  PLI was lost);
- when a subscriber's queue overflows (its sender fell behind), its queued video frames are
  dropped together, since the ones after a dropped frame could not be decoded correctly,
  and it waits for the next keyframe, which is asked for;
- keyframe requests to one publisher (new subscribers, overflows, PLI/FIR relayed from
  subscribers) are coalesced to at most one per ``KEYFRAME_MIN_INTERVAL``.

Audio frames are independent: on overflow the oldest is dropped.

Everything here runs on the event loop thread and never blocks.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import av
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

from .aiortc_tap import EncodedFrame

logger = logging.getLogger(__name__)

VIDEO_QUEUE_FRAMES = 30  # one second at 30 fps
AUDIO_QUEUE_FRAMES = 25  # half a second of 20 ms Opus frames
# If a sender starts (first recv) with more video than this queued, that backlog is stale:
# drop it and start from a fresh keyframe instead of sending a burst of old frames.
START_BACKLOG_FRAMES = 5
KEYFRAME_MIN_INTERVAL = 0.25  # seconds between keyframe requests to one publisher
KEYFRAME_RETRY = 1.0  # ask again if still waiting this long after the last request


VP8_START_CODE = b"\x9d\x01\x2a"
# What the server forwards (and records): every browser offers both.
FORWARDED_CODECS = {"audio": "audio/opus", "video": "video/VP8"}


def is_vp8_keyframe(data: bytes) -> bool:
    """VP8 frame header (RFC 6386 9.1): bit 0 of the first byte is 0 for a key frame.

    ``data`` is the VP8 frame after RTP depayloading (the payload descriptor is gone). A key
    frame also carries the start code 9d 01 2a at bytes 3-5; checking it too means a frame
    whose first packet went missing (half of those have that bit clear) is not taken for a
    keyframe and forwarded to a subscriber that would then fail to decode it.
    """
    return len(data) >= 10 and (data[0] & 0x01) == 0 and data[3:6] == VP8_START_CODE


def _always_key(data: bytes) -> bool:
    return True


KEYFRAME_DETECTORS: dict[str, Callable[[bytes], bool]] = {
    "video/vp8": is_vp8_keyframe,
    "audio/opus": _always_key,
}


class ForwardedTrack(MediaStreamTrack):
    """One publisher track as seen by one subscriber: a bounded queue of ``av.Packet``s.

    ``recv()`` returns packets (never decoded frames), so the subscriber connection's
    ``RTCRtpSender`` forwards them without encoding. Ending the track (``stop()``) wakes a
    pending ``recv()`` with ``MediaStreamError``, which makes the sender's loop finish.
    """

    def __init__(
        self,
        kind: str,
        *,
        request_keyframe: Callable[[str], None] | None = None,
        track_id: str | None = None,
        maxsize: int | None = None,
        forwarder: TrackForwarder | None = None,
    ) -> None:
        super().__init__()
        if kind not in ("audio", "video"):
            raise ValueError(f"unknown track kind {kind!r}")
        self.kind = kind
        if track_id is not None:
            self._id = track_id
        if maxsize is None:
            maxsize = VIDEO_QUEUE_FRAMES if kind == "video" else AUDIO_QUEUE_FRAMES
        self._queue: asyncio.Queue[av.Packet | None] = asyncio.Queue(maxsize=maxsize)
        self._request_keyframe = request_keyframe
        self._forwarder = forwarder
        self._video = kind == "video"
        # Video starts by waiting for a keyframe: whatever came before it is undecodable.
        self.waiting_for_keyframe = self._video
        self.started = False
        self.paused = False
        # counters
        self.frames_in = 0  # offered by the publisher
        self.frames_sent = 0  # returned to the sender
        self.frames_dropped = 0  # thrown away on overflow or stale start
        self.frames_skipped = 0  # delta frames not queued while waiting for a keyframe
        self.keyframe_requests = 0

    # --- the publisher side ------------------------------------------------------------

    def push(self, packet: av.Packet, keyframe: bool = True) -> None:
        """Queue one encoded frame (``keyframe`` matters for video only)."""
        if self.readyState != "live" or self.paused:
            return
        self.frames_in += 1
        queue = self._queue
        if self._video:
            if self.waiting_for_keyframe:
                if not keyframe:
                    self.frames_skipped += 1
                    return
                self.waiting_for_keyframe = False
            if queue.full():
                self._flush()
                if not keyframe:
                    self._wait_for_keyframe("overflow")
                    self.frames_skipped += 1
                    return
        elif queue.full():
            queue.get_nowait()
            self.frames_dropped += 1
        queue.put_nowait(packet)

    def pause(self) -> None:
        """Queue nothing for this subscriber until ``resume``; what is queued is dropped."""
        if not self.paused:
            self.paused = True
            self.drop_queued()

    def drop_queued(self) -> None:
        """Drop the frames not sent yet (after them comes a gap: see ``resync``)."""
        self._flush()

    def resume(self) -> None:
        if self.paused:
            self.paused = False
            self.resync("resume")

    def resync(self, reason: str) -> None:
        """After a gap in the frames: video waits for a keyframe, which is asked for."""
        if self._video and self.readyState == "live":
            self._wait_for_keyframe(reason)

    def _flush(self) -> None:
        while not self._queue.empty():
            if self._queue.get_nowait() is not None:
                self.frames_dropped += 1

    def _wait_for_keyframe(self, reason: str) -> None:
        self.waiting_for_keyframe = True
        # Before the sender runs, asking is pointless: the first recv() asks.
        if self.started:
            self._ask(reason)

    def _ask(self, reason: str) -> None:
        if self._request_keyframe is not None:
            self.keyframe_requests += 1
            self._request_keyframe(reason)

    # --- the sender side ---------------------------------------------------------------

    async def recv(self) -> av.Packet:
        if self.readyState != "live":
            raise MediaStreamError
        if not self.started:
            self._on_start()
        packet = await self._queue.get()
        if packet is None:
            self.stop()
            raise MediaStreamError
        self.frames_sent += 1
        return packet

    def _on_start(self) -> None:
        self.started = True
        if not self._video:
            return
        if self._queue.qsize() > START_BACKLOG_FRAMES:
            self._flush()
            self.waiting_for_keyframe = True
        if self.waiting_for_keyframe:
            self._ask("start")

    def stop(self) -> None:
        if self.readyState == "live":
            super().stop()
            # wake a pending recv(): the sender's loop then ends cleanly
            self._flush()
            self._queue.put_nowait(None)
            if self._forwarder is not None:
                self._forwarder._discard(self)


# Returns False when the request could not be sent yet (see _request_done).
RequestKeyframe = Callable[[], Awaitable[Any]]


class TrackForwarder:
    """Fans the encoded frames of one publisher track out to its subscribers' tracks."""

    def __init__(
        self,
        kind: str,
        *,
        mime_type: str | None = None,
        request_keyframe: RequestKeyframe | None = None,
        name: str = "",
    ) -> None:
        self.kind = kind
        self.name = name
        self.mime_type = mime_type
        self._request_keyframe = request_keyframe
        self._is_keyframe = KEYFRAME_DETECTORS.get((mime_type or "").lower(), is_vp8_keyframe)
        if kind == "audio":
            self._is_keyframe = _always_key
        self._targets: tuple[ForwardedTrack, ...] = ()
        self._closed = False
        self._wanted_since: float | None = None  # a keyframe was asked for and not yet seen
        self._last_sent = -1e9
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Future[Any]] = set()
        # counters
        self.frames_in = 0
        self.bytes_in = 0
        self.keyframes_in = 0
        self.keyframe_asks = 0
        self.keyframe_requests_sent = 0
        self.frames_forwarded_ended = 0  # frames_sent of tracks that have ended

    @property
    def subscribers(self) -> tuple[ForwardedTrack, ...]:
        return self._targets

    @property
    def closed(self) -> bool:
        return self._closed

    def subscribe(self, track_id: str | None = None) -> ForwardedTrack:
        """A new subscriber track; for video, the publisher is asked for a keyframe now."""
        if self._closed:
            raise RuntimeError("this publication has ended")
        track = ForwardedTrack(
            self.kind,
            request_keyframe=self.ask_keyframe,
            track_id=track_id,
            forwarder=self,
        )
        self._targets = (*self._targets, track)
        if self.kind == "video":
            track.keyframe_requests += 1
            self.ask_keyframe("subscribe")
        return track

    def _discard(self, track: ForwardedTrack) -> None:
        if track in self._targets:
            self._targets = tuple(t for t in self._targets if t is not track)
            self.frames_forwarded_ended += track.frames_sent

    def frames_forwarded(self) -> int:
        return self.frames_forwarded_ended + sum(t.frames_sent for t in self._targets)

    def push(self, frame: EncodedFrame) -> None:
        """The tap's callback: one encoded frame of the publisher's track."""
        if self._closed:
            return
        self.frames_in += 1
        self.bytes_in += len(frame.data)
        keyframe = self._is_keyframe(frame.data)
        if self.kind == "video":
            if keyframe:
                self.keyframes_in += 1
                self._wanted_since = None
            elif self._wanted_since is not None:
                loop = asyncio.get_running_loop()
                if loop.time() - self._last_sent >= KEYFRAME_RETRY:
                    self._maybe_send()
        packet = frame.packet
        for track in self._targets:
            track.push(packet, keyframe)

    def drop_queued(self) -> None:
        """The publisher is paused: what subscribers have not been sent yet is dropped."""
        for track in self._targets:
            track.drop_queued()

    def resync(self, reason: str) -> None:
        """After a gap in the publisher's frames: every subscriber restarts at a keyframe."""
        if self._closed or self.kind != "video":
            return
        for track in self._targets:
            track.resync(reason)
        self.ask_keyframe(reason)

    def ask_keyframe(self, reason: str = "") -> None:
        """Ask the publisher for a keyframe, coalescing requests (see the module docstring)."""
        if self._closed or self.kind != "video":
            return
        self.keyframe_asks += 1
        if self._wanted_since is None:
            self._wanted_since = asyncio.get_running_loop().time()
        self._maybe_send()

    def _maybe_send(self) -> None:
        if self._closed or self._wanted_since is None:
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        elapsed = now - self._last_sent
        if elapsed >= KEYFRAME_MIN_INTERVAL:
            self._last_sent = now
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self._send()
        elif self._timer is None:
            self._timer = loop.call_later(KEYFRAME_MIN_INTERVAL - elapsed, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._maybe_send()

    def _send(self) -> None:
        if self._request_keyframe is None:
            return
        self.keyframe_requests_sent += 1
        task = asyncio.ensure_future(self._request_keyframe())
        self._tasks.add(task)
        task.add_done_callback(self._request_done)

    def _request_done(self, task: asyncio.Future[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        if task.exception() is not None:
            logger.warning("keyframe request for %s failed: %r", self.name, task.exception())
        elif task.result() is False:
            # Nothing received yet, so no SSRC to ask: ask again with the first frame.
            self._last_sent = -1e9

    def close(self) -> None:
        """The publisher track ended: end every subscriber track."""
        if self._closed:
            return
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for track in self._targets:
            track.stop()

    def stats(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "mime_type": self.mime_type,
            "frames_in": self.frames_in,
            "bytes_in": self.bytes_in,
            "keyframes_in": self.keyframes_in,
            "keyframe_requests_sent": self.keyframe_requests_sent,
            "subscribers": len(self._targets),
            "frames_forwarded": self.frames_forwarded(),
        }
