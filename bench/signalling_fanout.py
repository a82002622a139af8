"""Signalling fan-out (Benchmark 2): how fast a chat message reaches everyone in a room.

The real ASGI application runs under uvicorn in a subprocess, on a throwaway database that
this process creates (``django_test_database``) and fills: a meeting, a live occurrence
and admitted guest sessions, each with a signed join ticket, exactly as the join flow
leaves them. Clients are ``websockets`` connections from this process, over loopback.

- fan-out: CLIENTS participants open the room's websocket (and each gets its snapshot);
  one of them sends MESSAGES chat messages, one at a time. Timed: from just before the
  send until the last of the other CLIENTS - 1 clients has read it. Against, in the same
  server run and the same way, a bare Channels consumer (``EchoConsumer``: join a group,
  group_send what arrives) at ``/ws/echo/`` of the same uvicorn process, with CLIENTS
  connections of its own. The two rooms' messages alternate, one each, paced under the
  room's rate limit, so that drift in the machine's load hits both alike. Goal: the
  room's p99 within 1.2x of the bare consumer's. Twice: embedded (one process, in-memory
  layer) and scale-out (Redis: channels_redis, the shared cache, a media worker; the
  clients split over two uvicorn processes).
- big room: BIG_ROOM participants connect (CONNECT_CONCURRENCY at a time) to the scale-out
  stack; each must get its snapshot; then BIG_ROOM_MESSAGES chat messages must each reach
  all of them. Reported: connect-to-snapshot per client, the time until the join
  announcements (one ``participant_joined`` to everyone per arrival: N^2/2 messages) have
  drained, the chats' time to all, and the servers' memory (RSS) and CPU. Not embedded:
  the in-memory layer scans every channel and group on every receive, so a room of a
  thousand costs it a thousand times a thousand steps per message.

Rows: count = messages (or clients), total s = the loop's wall time including pacing (so
"per second" is the pace, not a capacity), p50/p99 = time to all others.

Everything listens on 127.0.0.1 and stops by itself; each phase has a time-out. The
client side is one asyncio process: its own cost is in every number, the bare consumer's
and the room's alike. RLIMIT_NOFILE is raised to its hard limit first.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import resource
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from . import ROOT, Report, Result, django_test_database

CLIENTS = 200
BIG_ROOM = 1_000
MESSAGES = 100
WARMUP_MESSAGES = 5
BIG_ROOM_MESSAGES = 5
# The room allows 20 messages a second per connection (bursts of 40): stay under it.
MESSAGE_INTERVAL_S = 0.06
MESSAGE_TIMEOUT_S = 10.0
CONNECT_CONCURRENCY = 50
CONNECT_TIMEOUT_S = 240.0
SETTLE_QUIET_S = 1.0
SETTLE_TIMEOUT_S = 120.0
SERVER_START_TIMEOUT_S = 60.0
REDIS_URL_FOR_BENCH = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
ECHO_GROUP = "bench-echo"
_SEQ = re.compile(r'"seq": (\d+)')


# --- the server side: the bare consumer and the app uvicorn serves ---------------------


class EchoConsumer(AsyncJsonWebsocketConsumer):
    """The bare baseline: every connection in one group, every message sent to the group."""

    groups = [ECHO_GROUP]

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        await self.channel_layer.group_send(
            ECHO_GROUP, {"type": "echo.message", "message": content}
        )

    async def echo_message(self, event: dict[str, Any]) -> None:
        await self.send_json(event["message"])


def make_application() -> Any:
    """``uvicorn --factory bench.signalling_fanout:make_application``: the project's ASGI
    application, and the bare consumer at /ws/echo/, in one process."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "conferencing.settings")
    from conferencing.asgi import application as project

    _without_socket_timeout()
    echo = EchoConsumer.as_asgi()

    async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "websocket" and scope["path"].startswith("/ws/echo/"):
            await echo(scope, receive, send)
        else:
            await project(scope, receive, send)

    return application


def _without_socket_timeout() -> None:
    """redis-py 8 gives sockets a 5 s time-out, as long as channels_redis's blocking
    receive: an idle consumer then dies of TimeoutError (django/channels_redis#422). The
    settings do not set one yet; the bench does, before the layer exists."""
    from django.conf import settings

    config = settings.CHANNEL_LAYERS.get("default", {})
    for host in (config.get("CONFIG") or {}).get("hosts", []):
        if isinstance(host, dict):
            host.setdefault("socket_timeout", None)


# --- processes ---------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _rss_kib(pid: int) -> dict[str, int]:
    values = {}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            name, _, rest = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                values[name] = int(rest.split()[0])
    return values


def _cpu_seconds(pid: int) -> float:
    with contextlib.suppress(OSError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return 0.0


@dataclass
class Servers:
    """uvicorn processes (and a media worker with Redis), always stopped on the way out."""

    env: dict[str, str]
    logs: Path
    count: int = 1
    media_worker: bool = False
    ports: list[int] = field(default_factory=list)
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def __enter__(self) -> Servers:
        try:
            if self.media_worker:
                self._spawn("media-worker", [sys.executable, "manage.py", "media_worker"])
            for index in range(self.count):
                port = _free_port()
                self.ports.append(port)
                self._spawn(
                    f"uvicorn-{index}",
                    [
                        sys.executable,
                        "-m",
                        "uvicorn",
                        "bench.signalling_fanout:make_application",
                        "--factory",
                        "--host",
                        "127.0.0.1",
                        "--port",
                        str(port),
                        "--ws",
                        "websockets",
                        "--lifespan",
                        "off",
                        "--log-level",
                        "warning",
                        "--no-access-log",
                        "--backlog",
                        "4096",
                    ],
                )
            for port in self.ports:
                self._wait_up(port)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _spawn(self, name: str, argv: list[str]) -> None:
        with (self.logs / f"{name}.log").open("wb") as out:
            self.procs.append(
                subprocess.Popen(argv, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT)
            )

    def _wait_up(self, port: int) -> None:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while True:
            for proc in self.procs:
                if proc.poll() is not None:
                    raise RuntimeError(f"a server exited early:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server on {port} is not up:\n{self.log_tail()}")
            time.sleep(0.2)

    @property
    def web_pids(self) -> list[int]:
        return [p.pid for p in self.procs[-self.count :]]

    def log_tail(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}"
            for path in sorted(self.logs.glob("*.log"))
        )

    def __exit__(self, *exc: object) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=15)


# --- clients -----------------------------------------------------------------------------


@dataclass
class Tracker:
    """Which client has read which of the sender's messages."""

    sender: int
    receivers: int
    remaining: dict[str, int] = field(default_factory=dict)
    done: dict[str, asyncio.Event] = field(default_factory=dict)
    done_at: dict[str, int] = field(default_factory=dict)
    last_frame_at: float = 0.0
    frames: int = 0
    errors: list[str] = field(default_factory=list)
    closed: list[tuple[int, Any]] = field(default_factory=list)
    # Room events (``seq``) each client read: see ``gaps``.
    seqs: dict[int, set[int]] = field(default_factory=dict)
    bases: dict[int, int] = field(default_factory=dict)  # client -> its snapshot's seq
    out_of_order: int = 0

    def gaps(self) -> dict[str, int]:
        """Events a client never got after its snapshot (channels_redis drops from full
        channels), and events that came after a later one (two web processes' events
        cross on the way). A browser asks for a resync, a whole snapshot, on either."""
        missing = clients = 0
        for index, base in self.bases.items():
            after = {seq for seq in self.seqs.get(index, ()) if seq > base}
            lost = (max(after) - base - len(after)) if after else 0
            missing += lost
            clients += lost > 0
        return {
            "missing_events": missing,
            "clients_missing_events": clients,
            "events_out_of_order": self.out_of_order,
        }

    def expect(self, text: str) -> asyncio.Event:
        self.remaining[text] = self.receivers
        self.done[text] = asyncio.Event()
        return self.done[text]

    def seen(self, index: int, text: str) -> None:
        if index == self.sender or text not in self.remaining:
            return
        self.remaining[text] -= 1
        if self.remaining[text] == 0:
            self.done_at[text] = time.perf_counter_ns()
            self.done[text].set()


class Client:
    def __init__(self, index: int, url: str, origin: str, tracker: Tracker) -> None:
        self.index = index
        self.url = url
        # A browser's page comes from the server it connects to: the origin check compares
        # scheme, host and port, so a client of the second server carries that one's port.
        self.origin = f"{urlsplit(origin).scheme}://{urlsplit(url).netloc}"
        self.tracker = tracker
        self.ws: Any = None
        self.snapshot_at: float | None = None
        self.snapshot = asyncio.Event()
        self.max_seq = 0
        self.task: asyncio.Task[None] | None = None

    async def connect(self) -> float:
        from websockets.asyncio.client import connect

        started = time.perf_counter()
        self.ws = await connect(
            self.url,
            origin=self.origin,  # type: ignore[arg-type]
            open_timeout=60,
            ping_interval=None,
            max_size=None,
            compression=None,
            max_queue=None,
        )
        self.task = asyncio.create_task(self._read())
        return started

    async def _read(self) -> None:
        tracker = self.tracker
        try:
            async for raw in self.ws:
                tracker.frames += 1
                tracker.last_frame_at = time.monotonic()
                seq = _SEQ.search(raw)
                if seq is not None:
                    number = int(seq.group(1))
                    tracker.seqs.setdefault(self.index, set()).add(number)
                    if number < self.max_seq and self.index in tracker.bases:
                        tracker.out_of_order += 1
                    self.max_seq = max(self.max_seq, number)
                # Most frames are other people's joins: parse only what is looked at.
                if '"chat"' in raw or '"snapshot"' in raw or '"error"' in raw:
                    message = json.loads(raw)
                    kind = message.get("type")
                    if kind == "chat":
                        tracker.seen(self.index, message.get("text", ""))
                    elif kind == "snapshot" and self.snapshot_at is None:
                        self.snapshot_at = time.perf_counter()
                        tracker.bases[self.index] = int(message.get("seq") or 0)
                        self.snapshot.set()
                    elif kind == "error":
                        tracker.errors.append(message.get("code", "?"))
        except Exception as exc:
            tracker.closed.append((self.index, repr(exc)))
        else:
            tracker.closed.append((self.index, getattr(self.ws, "close_code", None)))

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(message))

    async def close(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.ws.close(), 5)
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task


async def _connect_all(clients: list[Client], *, wait_snapshot: bool) -> list[int]:
    """Connect every client (CONNECT_CONCURRENCY at a time); per client, ns from the start
    of its connect to its snapshot (or to the open socket)."""
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    durations: list[int] = []

    async def one(client: Client) -> None:
        async with gate:
            started = await client.connect()
            if wait_snapshot:
                await asyncio.wait_for(client.snapshot.wait(), 60)
                assert client.snapshot_at is not None
                durations.append(int((client.snapshot_at - started) * 1e9))
            else:
                durations.append(int((time.perf_counter() - started) * 1e9))

    async with asyncio.timeout(CONNECT_TIMEOUT_S):
        await asyncio.gather(*(one(client) for client in clients))
    return durations


async def _settle(tracker: Tracker) -> None:
    """Wait until no frame has arrived for SETTLE_QUIET_S (the join storm is over)."""
    async with asyncio.timeout(SETTLE_TIMEOUT_S):
        while time.monotonic() - tracker.last_frame_at < SETTLE_QUIET_S:
            await asyncio.sleep(0.1)


async def _send_one(sender: Client, tracker: Tracker, text: str) -> int | None:
    """One chat message from ``sender``: ns until every other client had it, or None if
    some had not within MESSAGE_TIMEOUT_S."""
    done = tracker.expect(text)
    sent_at = time.perf_counter_ns()
    await sender.send({"type": "chat", "text": text})
    try:
        await asyncio.wait_for(done.wait(), MESSAGE_TIMEOUT_S)
    except TimeoutError:
        return None
    return tracker.done_at[text] - sent_at


async def _chat_round(
    clients: list[Client], tracker: Tracker, *, label: str, count: int
) -> tuple[list[int], int]:
    """``count`` messages one by one, paced; their times to all, and how many got lost."""
    timings: list[int] = []
    lost = 0
    for i in range(count):
        started = time.perf_counter()
        took = await _send_one(clients[tracker.sender], tracker, f"bench {label} {i}")
        if took is None:
            lost += 1
        else:
            timings.append(took)
        await asyncio.sleep(max(0.0, MESSAGE_INTERVAL_S - (time.perf_counter() - started)))
    return timings, lost


@dataclass
class _Side:
    label: str
    tracker: Tracker
    clients: list[Client]
    timings: list[int] = field(default_factory=list)
    lost: int = 0
    connect_s: float = 0.0

    def summary(self, total_s: float) -> dict[str, Any]:
        return {
            "timings": self.timings,
            "total_s": total_s,
            "lost": self.lost,
            "connect_s": self.connect_s,
            "errors": sorted(set(self.tracker.errors)),
            "closed_early": len([c for c in self.tracker.closed if c[1] not in (1000, None)]),
            **self.tracker.gaps(),
        }


async def _fanout(
    echo_urls: list[str], room_urls: list[str], origin: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Both sets of clients connected at once; their messages interleaved one for one (the
    one going first alternates), so drift in the machine's load hits both alike."""
    sides = []
    for label, urls in (("echo", echo_urls), ("room", room_urls)):
        tracker = Tracker(sender=0, receivers=len(urls) - 1)
        sides.append(
            _Side(label, tracker, [Client(i, url, origin, tracker) for i, url in enumerate(urls)])
        )
    try:
        for side in sides:
            started = time.perf_counter()
            await _connect_all(side.clients, wait_snapshot=side.label == "room")
            side.connect_s = time.perf_counter() - started
        for side in sides:
            await _settle(side.tracker)
        loop_started = time.perf_counter()
        for i in range(WARMUP_MESSAGES + MESSAGES):
            started = time.perf_counter()
            for side in sides if i % 2 else sides[::-1]:
                took = await _send_one(side.clients[0], side.tracker, f"bench {side.label} {i}")
                if took is None:
                    side.lost += 1
                elif i >= WARMUP_MESSAGES:
                    side.timings.append(took)
            pause = 2 * MESSAGE_INTERVAL_S - (time.perf_counter() - started)
            await asyncio.sleep(max(0.0, pause))
        total_s = time.perf_counter() - loop_started
    finally:
        await asyncio.gather(*(c.close() for side in sides for c in side.clients))
    return sides[0].summary(total_s), sides[1].summary(total_s)


async def _big_room(urls: list[str], origin: str, pids: dict[str, int]) -> dict[str, Any]:
    tracker = Tracker(sender=0, receivers=len(urls) - 1)
    clients = [Client(i, url, origin, tracker) for i, url in enumerate(urls)]
    cpu_before = {name: _cpu_seconds(pid) for name, pid in pids.items()}
    rss_before = {name: _rss_kib(pid).get("VmRSS", 0) / 1024 for name, pid in pids.items()}
    try:
        started = time.perf_counter()
        durations = await _connect_all(clients, wait_snapshot=True)
        connect_s = time.perf_counter() - started
        await _settle(tracker)
        settle_s = time.perf_counter() - started - connect_s
        rss_connected = {name: _rss_kib(pid).get("VmRSS", 0) / 1024 for name, pid in pids.items()}
        chat_started = time.perf_counter()
        timings, lost = await _chat_round(clients, tracker, label="big", count=BIG_ROOM_MESSAGES)
        chat_s = time.perf_counter() - chat_started
        cpu = {name: round(_cpu_seconds(pid) - cpu_before[name], 1) for name, pid in pids.items()}
    finally:
        await asyncio.gather(*(client.close() for client in clients))
    return {
        "durations": durations,
        "chat_timings": timings,
        "clients": len(clients),
        "snapshots": sum(1 for c in clients if c.snapshot_at is not None),
        "connect_s": round(connect_s, 1),
        "join_storm_s": round(settle_s, 1),
        "chat_s": chat_s,
        "chats_lost": lost,
        "server_rss_mib_before": {k: round(v) for k, v in rss_before.items()},
        "server_rss_mib_all_connected": {k: round(v) for k, v in rss_connected.items()},
        "server_cpu_s": cpu,
        "errors": sorted(set(tracker.errors)),
        "closed_early": len([c for c in tracker.closed if c[1] not in (1000, None)]),
        **tracker.gaps(),
    }


# --- data ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RoomData:
    token: str
    session_ids: list[int]


def _create_room(participants: int) -> RoomData:
    from django.utils import timezone

    from accounts.models import User
    from meetings.models import Meeting, Occurrence, ParticipantSession

    now = timezone.now()
    host = User.objects.create_user(
        email="bench-host@example.com", password=secrets.token_hex(16), full_name="Bench Host"
    )
    meeting = Meeting.objects.create(
        host=host,
        title="Signalling fan-out",
        time_zone="UTC",
        starts_on=now.date(),
        start_time=now.time().replace(microsecond=0),
        duration_minutes=240,
        join_token=secrets.token_urlsafe(24),
        lobby_enabled=False,
    )
    occurrence = Occurrence.objects.create(
        meeting=meeting,
        original_start=now - timedelta(minutes=1),
        starts_at=now - timedelta(minutes=1),
        duration_minutes=240,
        status=Occurrence.Status.LIVE,
        started_at=now,
    )
    ParticipantSession.objects.bulk_create(
        [
            ParticipantSession(
                occurrence=occurrence,
                email=f"guest{i}@bench.example",
                display_name=f"Guest {i}",
                state=ParticipantSession.State.ADMITTED,
                requested_at=now,
                admitted_at=now,
                last_seen_at=now,
            )
            for i in range(participants)
        ],
        batch_size=500,
    )
    ids = list(
        ParticipantSession.objects.filter(occurrence=occurrence)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return RoomData(token=meeting.join_token, session_ids=ids)


def _room_urls(data: RoomData, port: int | list[int], count: int) -> list[str]:
    """Fresh tickets for the first ``count`` sessions (seen just now, so none is stale)."""
    from django.utils import timezone

    from meetings.models import ParticipantSession
    from meetings.tickets import issue_ticket

    ids = data.session_ids[:count]
    ParticipantSession.objects.filter(pk__in=ids).update(last_seen_at=timezone.now())
    public_ids = dict(ParticipantSession.objects.filter(pk__in=ids).values_list("pk", "public_id"))
    ports = port if isinstance(port, list) else [port]
    return [
        f"ws://127.0.0.1:{ports[i % len(ports)]}/ws/meetings/{data.token}/"
        f"?ticket={quote(issue_ticket(session_public_id=str(public_ids[pk])))}"
        for i, pk in enumerate(ids)
    ]


def _echo_urls(port: int | list[int], count: int) -> list[str]:
    ports = port if isinstance(port, list) else [port]
    return [f"ws://127.0.0.1:{ports[i % len(ports)]}/ws/echo/" for i in range(count)]


# --- the run -------------------------------------------------------------------------------


def _raise_nofile() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else 65536
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def _server_env(database_url: str, *, redis_url: str | None) -> dict[str, str]:
    from django.conf import settings

    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("REDIS_URL", "MEDIA_GATEWAY", "DATABASE_URL", "PRODUCTION")
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "conferencing.settings",
            "DATABASE_URL": database_url,
            "SECRET_KEY": settings.SECRET_KEY,  # the tickets are signed here
            "DEBUG": "0",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
    )
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


def _database_url() -> str:
    from django.db import connection

    config = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{config['NAME']}"
    if connection.vendor == "postgresql":
        auth = config["USER"] + (f":{config['PASSWORD']}" if config.get("PASSWORD") else "")
        where = f"{config['HOST'] or '127.0.0.1'}:{config['PORT'] or 5432}"
        return f"postgres://{auth}@{where}/{config['NAME']}"
    raise RuntimeError(f"no DATABASE_URL for {connection.vendor}")


def _redis_available(url: str) -> bool:
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=1)
        client.flushdb()
        client.close()
        return True
    except redis.RedisError:
        return False


def _fanout_results(
    label: str, echo: dict[str, Any], room: dict[str, Any], context: dict[str, Any]
) -> list[Result]:
    results = [
        Result.from_timings(f"{label}: bare echo consumer", echo["timings"], echo["total_s"]),
        Result.from_timings(f"{label}: room consumer", room["timings"], room["total_s"]),
    ]
    echo_p99 = results[0].p99_ms
    context[label] = {
        "clients": CLIENTS,
        "messages": MESSAGES,
        "p99_ratio_room_to_bare": round(results[1].p99_ms / echo_p99, 3) if echo_p99 else None,
        "p50_ratio_room_to_bare": round(results[1].p50_ms / results[0].p50_ms, 3)
        if results[0].p50_ms
        else None,
        "echo": {k: v for k, v in echo.items() if k != "timings"},
        "room": {k: v for k, v in room.items() if k != "timings"},
    }
    return results


def _wait_for_consumer() -> None:
    consumer = ROOT / "meetings" / "room" / "consumer.py"
    if not consumer.exists():
        raise RuntimeError("meetings/room/consumer.py does not exist yet: nothing to measure")


def run() -> Report:
    _wait_for_consumer()
    nofile = _raise_nofile()
    results: list[Result] = []
    context: dict[str, Any] = {"rlimit_nofile": nofile, "cpus": os.cpu_count()}
    with (
        django_test_database("signalling_fanout") as vendor,
        tempfile.TemporaryDirectory(prefix="bench-fanout-") as scratch,
    ):
        context["database"] = vendor
        data = _create_room(BIG_ROOM)
        database_url = _database_url()
        logs = Path(scratch)

        # 1. Embedded: one process, in-memory channel layer, media rooms in the process.
        (logs / "embedded").mkdir()
        with Servers(_server_env(database_url, redis_url=None), logs / "embedded") as servers:
            port = servers.ports[0]
            echo, room = asyncio.run(
                _fanout(
                    _echo_urls(port, CLIENTS),
                    _room_urls(data, port, CLIENTS),
                    f"http://127.0.0.1:{port}",
                )
            )
        results += _fanout_results(f"{CLIENTS} clients, in-memory", echo, room, context)

        if not _redis_available(REDIS_URL_FOR_BENCH):
            context["redis"] = f"skipped: no Redis at {REDIS_URL_FOR_BENCH}"
            _print_summary(context)
            return Report(results=results, context=context)
        env = _server_env(database_url, redis_url=REDIS_URL_FOR_BENCH)
        try:
            # 2. Scale-out: Redis, two web processes (clients split), a media worker.
            (logs / "redis").mkdir()
            with Servers(env, logs / "redis", count=2, media_worker=True) as servers:
                echo, room = asyncio.run(
                    _fanout(
                        _echo_urls(servers.ports, CLIENTS),
                        _room_urls(data, servers.ports, CLIENTS),
                        f"http://127.0.0.1:{servers.ports[0]}",
                    )
                )
            results += _fanout_results(
                f"{CLIENTS} clients, Redis, 2 web procs", echo, room, context
            )

            # 3. A thousand in one room, on fresh servers of the same kind (nobody seen yet).
            _redis_available(REDIS_URL_FOR_BENCH)
            (logs / "big").mkdir()
            with Servers(env, logs / "big", count=2, media_worker=True) as servers:
                pids = {f"web{i}": pid for i, pid in enumerate(servers.web_pids)}
                pids["media_worker"] = servers.procs[0].pid
                big = asyncio.run(
                    _big_room(
                        _room_urls(data, servers.ports, BIG_ROOM),
                        f"http://127.0.0.1:{servers.ports[0]}",
                        pids,
                    )
                )
        finally:
            _redis_available(REDIS_URL_FOR_BENCH)  # flushes what the run left
        label = f"{BIG_ROOM:,} clients, Redis, 2 web procs"
        results.append(
            Result.from_timings(f"{label}: connect to snapshot", big["durations"], big["connect_s"])
        )
        if big["chat_timings"]:
            results.append(
                Result.from_timings(f"{label}: chat to all", big["chat_timings"], big["chat_s"])
            )
        context["big_room"] = {
            k: v for k, v in big.items() if k not in ("durations", "chat_timings")
        }
    _print_summary(context)
    return Report(results=results, context=context)


def _print_summary(context: dict[str, Any]) -> None:
    for key, value in context.items():
        if isinstance(value, dict) and "p99_ratio_room_to_bare" in value:
            print(
                f"{key}: room/bare p99 = {value['p99_ratio_room_to_bare']}x "
                f"(goal <= 1.2x), p50 = {value['p50_ratio_room_to_bare']}x, "
                f"lost: room {value['room']['lost']}, bare {value['echo']['lost']}"
            )
    big = context.get("big_room")
    if big:
        print(
            f"{big['clients']:,} clients in one room: {big['snapshots']:,} snapshots; all "
            f"connected in {big['connect_s']} s, join announcements drained "
            f"{big['join_storm_s']} s later; chats lost {big['chats_lost']}; "
            f"{big['clients_missing_events']} clients missed {big['missing_events']} room "
            f"events, {big['events_out_of_order']} came out of order; "
            f"server RSS MiB "
            f"{big['server_rss_mib_before']} -> {big['server_rss_mib_all_connected']}; "
            f"server CPU s {big['server_cpu_s']}"
        )
