"""The media server's CPU per extra subscriber: forwarding encoded frames vs re-encoding.

One publisher sends a 640x480 30 fps ~1 Mbps VP8 stream to N subscribers (N_VALUES) through
the media server, which runs in its own process. Measured: the server process's CPU time
(``resource.getrusage`` inside it, all threads) over WINDOW_S seconds after WARMUP_S, as %
of one core; the per-extra-subscriber slope (least-squares line over N); and each
subscriber's received frame rate. Two servers, in the same run:

- forward: ``meetings.media.MediaRoom``, which forwards the encoded frames;
- reencode: the same load through aiortc's normal path: the server's receiver decodes the
  publisher's video once and every subscriber's sender encodes it again (``MediaRelay``).
  aiortc's encoder targets 500 kbps and follows the subscriber's REMB up to 1.5 Mbps.

The clients stay cheap so that only the server's cost is measured: the publisher replays
PRE-ENCODED packets (CLIP_SECONDS of synthetic video encoded once with PyAV's libvpx at
BITRATE, keyframe every GOP_FRAMES) in a loop, and the subscribers never decode: their
receivers are tapped (``meetings.media.aiortc_tap``) and only count whole frames.
Signalling goes over a local TCP socket as JSON lines; ICE uses 127.0.0.1 host candidates.

Table rows (the bench runner's columns): count = frames the N subscribers received in the
window, per second = their sum, p50/p99 ms = gaps between frames at a subscriber. The CPU
figures are printed above that table and stored in var/bench/media_forwarding.json.
Nothing asserts on timings.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import itertools
import json
import multiprocessing
import random
import resource
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

import aioice.ice
import av
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaRelay

from meetings.media import MediaRoom, aiortc_tap
from meetings.media.ice import build_configuration

from . import Report, Result

N_VALUES: tuple[int, ...] = (1, 4, 8, 16)
MODES: tuple[str, ...] = ("forward", "reencode")
WIDTH, HEIGHT, FPS = 640, 480, 30
BITRATE = 1_000_000
CLIP_SECONDS = 10
GOP_FRAMES = 60
CONNECT_TIMEOUT_S = 20.0  # until every subscriber has its first frame
WARMUP_S = 3.0
WINDOW_S = 10.0
# A run where a subscriber got less than this share of FPS means the server saturated: the
# per-subscriber slope is fitted on the unsaturated runs (all runs are still reported).
HEALTHY_FPS_SHARE = 0.95

VIDEO_CLOCK = 90_000


# --- the pre-encoded clip --------------------------------------------------------------


def encode_clip() -> list[bytes]:
    """CLIP_SECONDS of a scrolling noisy gradient, VP8 at BITRATE (CBR, realtime)."""
    rows = HEIGHT + 480
    gradient = [((x + y) // 3) & 0xFF for y in range(rows) for x in range(WIDTH)]
    noise = random.Random(7).randbytes(WIDTH * rows)
    luma = bytes((g + n % 8) & 0xFF for g, n in zip(gradient, noise, strict=True))
    chroma = bytes([128]) * (WIDTH // 2 * HEIGHT // 2)
    codec = av.CodecContext.create("libvpx", "w")
    codec.width, codec.height, codec.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    codec.time_base = fractions.Fraction(1, FPS)
    codec.framerate = FPS
    codec.bit_rate = BITRATE
    codec.gop_size = GOP_FRAMES
    codec.options = {
        "deadline": "realtime",
        "cpu-used": "8",
        "lag-in-frames": "0",
        "minrate": str(BITRATE),
        "maxrate": str(BITRATE),
        "bufsize": str(BITRATE),
        "auto-alt-ref": "0",
    }
    packets: list[bytes] = []
    for i in range(CLIP_SECONDS * FPS):
        frame = av.VideoFrame(WIDTH, HEIGHT, "yuv420p")
        offset = (i * 5 % 480) * WIDTH
        frame.planes[0].update(luma[offset : offset + WIDTH * HEIGHT])
        frame.planes[1].update(chroma)
        frame.planes[2].update(chroma)
        frame.pts = i
        frame.time_base = fractions.Fraction(1, FPS)
        packets += [bytes(p) for p in codec.encode(frame)]
    packets += [bytes(p) for p in codec.encode(None)]
    return packets


# --- shared helpers --------------------------------------------------------------------


def _loopback_only() -> None:
    """ICE host candidates on 127.0.0.1 only (hermetic; one candidate pair per peer)."""
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _line(message: dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode() + b"\n"


def _slope(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Least-squares line through (x, y) points: (slope, intercept)."""
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    sxx = sum((x - mean_x) ** 2 for x, _ in points)
    if not sxx:
        return 0.0, mean_y
    slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / sxx
    return slope, mean_y - slope * mean_x


# --- the server process ----------------------------------------------------------------


class ReencodeRoom:
    """The same signalling contract as MediaRoom, through aiortc's decode/encode path.

    The publisher's receiver decodes normally; each subscriber's sender encodes the decoded
    frames again (``MediaRelay`` fans the decoded frames out). Subscribers offer a recvonly
    video m-line and get the track in the answer.
    """

    def __init__(self) -> None:
        self.relay = MediaRelay()
        self.source: Any = None
        self.source_ready = asyncio.Event()
        self.pcs: dict[str, Any] = {}
        self.signals: dict[str, Callable[[dict[str, Any]], Awaitable[Any]]] = {}

    async def add_peer(self, peer_id: str, on_signal: Any) -> None:
        pc = RTCPeerConnection(build_configuration())
        self.pcs[peer_id] = pc
        self.signals[peer_id] = on_signal

        @pc.on("track")
        def on_track(track: Any) -> None:
            if track.kind == "video" and self.source is None:
                self.source = track
                self.source_ready.set()

    async def handle_signal(self, peer_id: str, message: dict[str, Any]) -> None:
        pc = self.pcs[peer_id]
        description = message["description"]
        await pc.setRemoteDescription(RTCSessionDescription(**description))
        if description["type"] != "offer":
            return
        if not any(t.receiver.track for t in pc.getTransceivers()):  # a subscriber
            await self.source_ready.wait()
            pc.addTrack(self.relay.subscribe(self.source, buffered=False))
        await pc.setLocalDescription(await pc.createAnswer())
        await self.signals[peer_id](
            {"type": "sdp", "description": {"type": "answer", "sdp": pc.localDescription.sdp}}
        )

    def stats(self) -> dict[str, Any]:
        return {"peers": len(self.pcs)}

    async def close(self) -> None:
        await asyncio.gather(*(pc.close() for pc in self.pcs.values()))


def _server_main(mode: str, ready: Connection) -> None:
    asyncio.run(_serve(mode, ready))


async def _serve(mode: str, ready: Connection) -> None:
    _loopback_only()
    room: Any = MediaRoom("bench") if mode == "forward" else ReencodeRoom()
    done = asyncio.Event()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        def signal_to(peer_id: str) -> Callable[[dict[str, Any]], Awaitable[None]]:
            async def on_signal(message: dict[str, Any]) -> None:
                writer.write(_line({"op": "signal", "peer": peer_id, "msg": message}))

            return on_signal

        while line := await reader.readline():
            request = json.loads(line)
            op = request["op"]
            if op == "join":
                await room.add_peer(request["peer"], signal_to(request["peer"]))
            elif op == "signal":
                await room.handle_signal(request["peer"], request["msg"])
            elif op == "cpu":
                reply = {"cpu": _cpu_seconds(), "t": time.monotonic()}
                writer.write(_line({"op": "reply", "id": request["id"], **reply}))
            elif op == "stats":
                stats = room.stats()
                stats.pop("by_peer", None)
                writer.write(_line({"op": "reply", "id": request["id"], "stats": stats}))
            elif op == "quit":
                break
        await room.close()
        writer.close()
        done.set()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    ready.send(server.sockets[0].getsockname()[1])
    async with server:
        await done.wait()


# --- the clients (this process) ----------------------------------------------------------


class Control:
    """The JSON-lines connection to the server process."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.handlers: dict[str, Callable[[dict[str, Any]], Awaitable[None]]] = {}
        self.queues: dict[str, asyncio.Queue[dict[str, Any]]] = {}
        self.replies: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.next_id = 0
        self.tasks: list[asyncio.Task[None]] = [asyncio.create_task(self._read())]

    def send(self, message: dict[str, Any]) -> None:
        self.writer.write(_line(message))

    async def request(self, op: str) -> dict[str, Any]:
        self.next_id += 1
        future = asyncio.get_running_loop().create_future()
        self.replies[self.next_id] = future
        self.send({"op": op, "id": self.next_id})
        return await asyncio.wait_for(future, 10)

    def register(self, peer_id: str, handler: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.queues[peer_id] = queue
        self.handlers[peer_id] = handler

        async def dispatch() -> None:  # one peer's messages in order
            while True:
                await handler(await queue.get())

        self.tasks.append(asyncio.create_task(dispatch()))

    async def _read(self) -> None:
        while line := await self.reader.readline():
            message = json.loads(line)
            if message["op"] == "reply":
                self.replies.pop(message["id"]).set_result(message)
            elif message["op"] == "signal" and message["peer"] in self.queues:
                self.queues[message["peer"]].put_nowait(message["msg"])

    async def close(self) -> None:
        self.send({"op": "quit"})
        with contextlib.suppress(ConnectionError):
            await self.writer.drain()
        for task in self.tasks:
            task.cancel()
        self.writer.close()


class ReplayTrack(MediaStreamTrack):
    """Returns the pre-encoded clip's packets at FPS, in a loop (no encoder involved)."""

    kind = "video"

    def __init__(self, packets: list[bytes]) -> None:
        super().__init__()
        self.packets = packets
        self.count = 0
        self.start: float | None = None

    async def recv(self) -> av.Packet:
        if self.start is None:
            self.start = time.monotonic()
        else:
            delay = self.start + self.count / FPS - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        data = self.packets[self.count % len(self.packets)]
        packet = aiortc_tap.make_packet(data, self.count * (VIDEO_CLOCK // FPS), VIDEO_CLOCK)
        self.count += 1
        return packet


@dataclass
class Subscriber:
    peer_id: str
    pc: Any
    arrivals: list[float] = field(default_factory=list)


async def _client_peer(
    control: Control, peer_id: str, *, publish: list[bytes] | None
) -> Subscriber:
    pc = RTCPeerConnection(build_configuration())
    peer = Subscriber(peer_id, pc)

    @pc.on("track")
    def on_track(track: Any) -> None:
        if track.kind != "video":
            return
        transceiver = next(t for t in pc.getTransceivers() if t.receiver.track is track)
        # count whole frames, never decode
        aiortc_tap.tap_receiver(
            transceiver.receiver, lambda frame: peer.arrivals.append(time.monotonic())
        )

    answered = asyncio.Event()

    async def handle(message: dict[str, Any]) -> None:
        if message.get("type") != "sdp":
            return  # the forwarding room's "tracks" list
        description = message["description"]
        await pc.setRemoteDescription(RTCSessionDescription(**description))
        if description["type"] == "offer":
            await pc.setLocalDescription(await pc.createAnswer())
            control.send(
                {
                    "op": "signal",
                    "peer": peer_id,
                    "msg": {
                        "type": "sdp",
                        "description": {"type": "answer", "sdp": pc.localDescription.sdp},
                    },
                }
            )
        answered.set()

    control.register(peer_id, handle)
    control.send({"op": "join", "peer": peer_id})
    if publish is not None:
        pc.addTransceiver(ReplayTrack(publish), direction="sendonly")
    else:
        pc.addTransceiver("video", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    control.send(
        {
            "op": "signal",
            "peer": peer_id,
            "msg": {
                "type": "sdp",
                "description": {"type": "offer", "sdp": pc.localDescription.sdp},
            },
        }
    )
    await asyncio.wait_for(answered.wait(), CONNECT_TIMEOUT_S)
    return peer


@dataclass
class Measurement:
    mode: str
    subscribers: int
    server_cpu_pct: float
    client_cpu_pct: float
    fps: list[float]
    gaps_ns: list[int]
    frames: int
    window_s: float
    server_stats: dict[str, Any]
    connected: bool


async def _drive(mode: str, subscribers: int, clip: list[bytes], port: int) -> Measurement:
    _loopback_only()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    control = Control(reader, writer)
    peers: list[Subscriber] = []
    try:
        peers.append(await _client_peer(control, "publisher", publish=clip))
        subs = await asyncio.gather(
            *(_client_peer(control, f"sub{i}", publish=None) for i in range(subscribers))
        )
        peers += subs
        loop = asyncio.get_running_loop()
        deadline = loop.time() + CONNECT_TIMEOUT_S
        while not all(s.arrivals for s in subs) and loop.time() < deadline:
            await asyncio.sleep(0.1)
        connected = all(s.arrivals for s in subs)
        await asyncio.sleep(WARMUP_S)

        start = await control.request("cpu")
        client_start = _cpu_seconds()
        t0 = time.monotonic()
        await asyncio.sleep(WINDOW_S)
        end = await control.request("cpu")
        t1 = time.monotonic()
        client_cpu = _cpu_seconds() - client_start
        stats = (await control.request("stats"))["stats"]

        elapsed = end["t"] - start["t"]
        fps, gaps, frames = [], [], 0
        for sub in subs:
            inside = [t for t in sub.arrivals if t0 <= t < t1]
            frames += len(inside)
            fps.append(len(inside) / (t1 - t0))
            gaps += [int((b - a) * 1e9) for a, b in itertools.pairwise(inside)]
        return Measurement(
            mode=mode,
            subscribers=subscribers,
            server_cpu_pct=100 * (end["cpu"] - start["cpu"]) / elapsed,
            client_cpu_pct=100 * client_cpu / (t1 - t0),
            fps=fps,
            gaps_ns=gaps,
            frames=frames,
            window_s=t1 - t0,
            server_stats=stats,
            connected=connected,
        )
    finally:
        await control.close()
        await asyncio.gather(*(p.pc.close() for p in peers), return_exceptions=True)


def measure(mode: str, subscribers: int, clip: list[bytes]) -> Measurement:
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    server = context.Process(
        target=_server_main, args=(mode, child), name=f"media-server-{mode}", daemon=True
    )
    server.start()
    try:
        if not parent.poll(60):
            raise RuntimeError("the media server process did not start")
        port = parent.recv()
        return asyncio.run(_drive(mode, subscribers, clip, port))
    finally:
        server.join(10)
        if server.is_alive():
            server.terminate()
            server.join(5)


# --- the report ------------------------------------------------------------------------


def run() -> Report:
    started = time.monotonic()
    clip = encode_clip()
    clip_kbps = sum(len(p) for p in clip) * 8 / CLIP_SECONDS / 1000
    print(f"clip: {len(clip)} packets, {clip_kbps:.0f} kbps", flush=True)

    measurements: list[Measurement] = []
    for mode in MODES:
        for n in N_VALUES:
            m = measure(mode, n, clip)
            measurements.append(m)
            print(
                f"  {mode:8} N={n:2}: server {m.server_cpu_pct:5.1f}% of a core, "
                f"subscribers {min(m.fps):4.1f}-{max(m.fps):4.1f} fps"
                + ("" if m.connected else "  (not every subscriber got a frame)"),
                flush=True,
            )

    def healthy(m: Measurement) -> bool:
        return m.connected and min(m.fps) >= HEALTHY_FPS_SHARE * FPS

    fits: dict[str, tuple[float, float]] = {}
    fitted_on: dict[str, list[int]] = {}
    for mode in MODES:
        runs = [m for m in measurements if m.mode == mode]
        usable = [m for m in runs if healthy(m)]
        if len(usable) < 2:
            usable = runs
        fitted_on[mode] = [m.subscribers for m in usable]
        fits[mode] = _slope([(m.subscribers, m.server_cpu_pct) for m in usable])
    by_key = {(m.mode, m.subscribers): m for m in measurements}
    ratio_slope = fits["reencode"][0] / fits["forward"][0] if fits["forward"][0] > 0 else None
    print()
    print(
        f"{'N':>3}  {'forward %core':>13}  {'reencode %core':>14}  {'ratio':>6}  "
        f"{'forward fps (min/mean)':>22}  {'reencode fps (min/mean)':>23}"
    )
    for n in N_VALUES:
        f, r = by_key[("forward", n)], by_key[("reencode", n)]
        ratio = r.server_cpu_pct / f.server_cpu_pct if f.server_cpu_pct > 0 else float("nan")
        print(
            f"{n:>3}  {f.server_cpu_pct:>13.1f}  {r.server_cpu_pct:>14.1f}  {ratio:>6.1f}  "
            f"{min(f.fps):>10.1f} / {sum(f.fps) / len(f.fps):>9.1f}  "
            f"{min(r.fps):>11.1f} / {sum(r.fps) / len(r.fps):>9.1f}"
        )
    for mode in MODES:
        slope, intercept = fits[mode]
        print(
            f"{mode}: {slope:.2f}% of a core per extra subscriber (intercept {intercept:.1f}%, "
            f"fitted on N={','.join(map(str, fitted_on[mode]))})"
        )
    for m in measurements:
        if not healthy(m):
            print(f"  {m.mode} N={m.subscribers}: saturated (slowest: {min(m.fps):.1f} fps)")
    if ratio_slope is not None:
        print(f"re-encode / forward, per extra subscriber: {ratio_slope:.1f}x")
    print(f"(bench took {time.monotonic() - started:.0f} s)", flush=True)

    results = [
        Result.from_timings(f"{m.mode} N={m.subscribers} (frame gaps)", m.gaps_ns, m.window_s)
        if m.gaps_ns
        else Result(f"{m.mode} N={m.subscribers} (no frames)", 0, m.window_s, 0.0, 0.0, 0.0)
        for m in measurements
    ]
    return Report(
        results=results,
        context={
            "subscribers": list(N_VALUES),
            "video": f"{WIDTH}x{HEIGHT} {FPS} fps VP8, clip {clip_kbps:.0f} kbps",
            "warmup_s": WARMUP_S,
            "window_s": WINDOW_S,
            "cpu_pct_of_one_core": {
                mode: {
                    m.subscribers: round(m.server_cpu_pct, 2)
                    for m in measurements
                    if m.mode == mode
                }
                for mode in MODES
            },
            "per_extra_subscriber_pct": {mode: round(fits[mode][0], 3) for mode in MODES},
            "intercept_pct": {mode: round(fits[mode][1], 2) for mode in MODES},
            "fitted_on_subscribers": fitted_on,
            "saturated": [f"{m.mode} N={m.subscribers}" for m in measurements if not healthy(m)],
            "reencode_over_forward_per_subscriber": round(ratio_slope, 2) if ratio_slope else None,
            "subscriber_fps": {
                mode: {
                    m.subscribers: [round(x, 1) for x in m.fps]
                    for m in measurements
                    if m.mode == mode
                }
                for mode in MODES
            },
            "client_process_cpu_pct": {
                mode: {
                    m.subscribers: round(m.client_cpu_pct, 1)
                    for m in measurements
                    if m.mode == mode
                }
                for mode in MODES
            },
            "forward_server_stats": {
                m.subscribers: m.server_stats for m in measurements if m.mode == "forward"
            },
        },
    )


if __name__ == "__main__":
    from .__main__ import main

    sys.exit(main(["media_forwarding"]))
