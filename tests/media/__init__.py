"""Helpers for the media tests: synthetic tracks and an aiortc client joined to a MediaRoom
through a direct, in-memory signalling loop (no Channels, no network besides loopback)."""

from __future__ import annotations

import asyncio
import fractions
import time
from collections.abc import Callable
from typing import Any

import aioice.ice
import av
from aiortc import (
    AudioStreamTrack,
    MediaStreamTrack,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCRtpTransceiver,
    RTCSessionDescription,
    VideoStreamTrack,
)
from aiortc.mediastreams import MediaStreamError

from meetings.media.ice import build_configuration
from meetings.media.sfu import MediaRoom

WIDTH, HEIGHT = 640, 480

# How long closing a client waits for its own tasks to end.
CLOSE_TIMEOUT = 5.0


def use_loopback_ice(monkeypatch: Any) -> None:
    """Host candidates on 127.0.0.1 only: hermetic, and one candidate pair to check."""
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])


async def wait_until(
    predicate: Callable[[], bool], *, timeout: float, message: str, interval: float = 0.02
) -> float:
    """Poll ``predicate`` until true; fail with ``message`` after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout}s: {message}")
        await asyncio.sleep(interval)
    return loop.time()


class SyntheticVideoTrack(VideoStreamTrack):
    """640x480 at 30 fps (aiortc's clock), content changing every frame.

    The picture is a scrolling diagonal gradient: slices of one precomputed buffer, so
    making a frame costs two memcpy's, not Python loops.
    """

    def __init__(self, width: int = WIDTH, height: int = HEIGHT) -> None:
        super().__init__()
        self.width, self.height = width, height
        row = bytes((x * 2) & 0xFF for x in range(width + 256))
        # 256 extra lines so that any vertical offset 0..255 fits
        self._luma = b"".join(row[y % 256 : y % 256 + width] for y in range(height + 256))
        self._chroma = bytes([128]) * (width // 2) * (height // 2)
        self.frames = 0

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = av.VideoFrame(self.width, self.height, "yuv420p")
        offset = (self.frames * 3 % 256) * self.width
        luma = frame.planes[0]
        if luma.line_size == self.width:
            luma.update(self._luma[offset : offset + self.width * self.height])
        frame.planes[1].update(self._chroma[: frame.planes[1].buffer_size])
        frame.planes[2].update(self._chroma[: frame.planes[2].buffer_size])
        frame.pts = pts
        frame.time_base = time_base
        self.frames += 1
        return frame


class ToneAudioTrack(AudioStreamTrack):
    """aiortc's silent 8 kHz mono track (aiortc's Opus encoder resamples to 48 kHz)."""


class RemoteCounter:
    """Reads one remote track on the client, counting decoded frames."""

    def __init__(self, track: MediaStreamTrack, transceiver: RTCRtpTransceiver) -> None:
        self.track = track
        self.transceiver = transceiver
        self.kind = track.kind
        self.frames = 0
        self.first_frame_at: float | None = None
        self.last_frame_at: float | None = None
        self.ended = False
        self.error: BaseException | None = None
        self.task = asyncio.ensure_future(self._run())

    @property
    def mid(self) -> str | None:
        return self.transceiver.mid

    async def _run(self) -> None:
        try:
            while True:
                frame = await self.track.recv()
                assert isinstance(frame, av.VideoFrame | av.AudioFrame)
                now = time.monotonic()
                if self.first_frame_at is None:
                    self.first_frame_at = now
                self.last_frame_at = now
                self.frames += 1
        except MediaStreamError:
            self.ended = True
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # recorded for the test to assert on
            self.error = exc


class Client:
    """A participant: an aiortc peer connection publishing synthetic video (VP8) and audio
    (Opus), joined to ``room`` with an in-memory on_signal/handle_signal loop. It is a polite
    peer that never offers while the server's offer is pending."""

    def __init__(
        self, room: MediaRoom, peer_id: str, *, video: bool = True, audio: bool = True
    ) -> None:
        self.room = room
        self.peer_id = peer_id
        self.pc = RTCPeerConnection(build_configuration())
        self.video = SyntheticVideoTrack() if video else None
        self.audio = ToneAudioTrack() if audio else None
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.messages: list[dict[str, Any]] = []
        self.tracks: list[dict[str, Any]] = []  # the latest "tracks" message
        self.remote: list[RemoteCounter] = []
        self.connected_at: float | None = None
        self.offers_received = 0
        self.errors: list[BaseException] = []
        self.hold_offers = False  # the test delivers server offers itself when True
        self.held: list[dict[str, Any]] = []
        self._task: asyncio.Task[None] | None = None

        @self.pc.on("connectionstatechange")
        def on_state() -> None:
            if self.pc.connectionState == "connected" and self.connected_at is None:
                self.connected_at = time.monotonic()

        @self.pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            transceiver = next(t for t in self.pc.getTransceivers() if t.receiver.track is track)
            self.remote.append(RemoteCounter(track, transceiver))

    async def on_signal(self, message: dict[str, Any]) -> None:
        await self.inbox.put(message)

    async def join(self) -> None:
        await self.room.add_peer(self.peer_id, self.on_signal)
        self._task = asyncio.create_task(self._run())
        sources = {}
        for track, source in ((self.audio, "mic"), (self.video, "camera")):
            if track is not None:
                transceiver = self.pc.addTransceiver(track, direction="sendonly")
                sources[transceiver] = source
        await self.pc.setLocalDescription(await self.pc.createOffer())
        await self.room.handle_signal(
            self.peer_id,
            {
                "type": "sdp",
                "description": {"type": "offer", "sdp": self.pc.localDescription.sdp},
                "sources": {t.mid: s for t, s in sources.items()},
            },
        )

    async def _run(self) -> None:
        while True:
            message = await self.inbox.get()
            self.messages.append(message)
            try:
                await self._handle(message)
            except Exception as exc:
                self.errors.append(exc)

    async def _handle(self, message: dict[str, Any]) -> None:
        if message["type"] == "tracks":
            self.tracks = message["tracks"]
            return
        assert message["type"] == "sdp", message
        description = message["description"]
        if description["type"] == "answer":
            await self.pc.setRemoteDescription(RTCSessionDescription(**description))
            return
        if self.hold_offers:
            self.held.append(message)
            return
        await self.accept_offer(description)

    async def accept_offer(self, description: dict[str, str]) -> None:
        self.offers_received += 1
        await self.pc.setRemoteDescription(RTCSessionDescription(**description))
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        await self.room.handle_signal(
            self.peer_id,
            {"type": "sdp", "description": {"type": "answer", "sdp": self.pc.localDescription.sdp}},
        )

    # --- what the client receives ------------------------------------------------------

    def mapping(self) -> dict[str, dict[str, Any]]:
        return {t["mid"]: t for t in self.tracks}

    def counters_from(self, peer_id: str, kind: str) -> list[RemoteCounter]:
        mapping = self.mapping()
        return [
            c
            for c in self.remote
            if c.kind == kind and c.mid in mapping and mapping[c.mid]["peer_id"] == peer_id
        ]

    def frames_from(self, peer_id: str, kind: str) -> int:
        return sum(c.frames for c in self.counters_from(peer_id, kind))

    def receiver_for(self, peer_id: str, kind: str) -> RTCRtpReceiver:
        counters = self.counters_from(peer_id, kind)
        assert counters, f"{self.peer_id} has no {kind} track from {peer_id}"
        return counters[-1].transceiver.receiver

    def sender(self, kind: str) -> Any:
        track = self.video if kind == "video" else self.audio
        return next(s for s in self.pc.getSenders() if s.track is track)

    async def leave(self) -> None:
        await self.room.remove_peer(self.peer_id)
        await self.close()

    async def close(self) -> None:
        # Waits are bounded: once in a while (after other tests in the same process) the
        # cancelled inbox task stayed "cancelling" on its queue for ever, and an unbounded
        # await on it hung the whole run. Leaving a stuck task behind is harmless here.
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait({self._task}, timeout=CLOSE_TIMEOUT)
        for counter in self.remote:
            counter.task.cancel()
        await self.pc.close()
        if self.remote:
            await asyncio.wait({counter.task for counter in self.remote}, timeout=CLOSE_TIMEOUT)


def time_base(rate: int) -> fractions.Fraction:
    return fractions.Fraction(1, rate)


async def join(room: MediaRoom, *names: str, **kwargs: Any) -> list[Client]:
    """Clients for ``names``, joined one after another (closed by the ``room`` fixture)."""
    clients = [Client(room, name, **kwargs) for name in names]
    room.test_clients.extend(clients)  # type: ignore[attr-defined]
    for client in clients:
        await client.join()
    return clients
