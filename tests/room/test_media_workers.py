"""Media workers with real Redis and real `manage.py media_worker` processes.

Each test gets Redis database REDIS_DB to itself (flushed before and after), starts its
workers as subprocesses with a 2 s lease, and plays web processes with
``WorkerMediaGateway`` instances, each on a channel layer of its own (its own reply
channels). Participants are aiortc clients (tests/media) whose signalling goes through a
gateway instead of straight into a MediaRoom. Every wait has a time-out; every worker is
killed at the end.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis
import redis.asyncio as aioredis
from aiortc import RTCPeerConnection
from channels_redis.core import RedisChannelLayer

from meetings.media_workers.leases import Keys
from meetings.media_workers.messages import REQUEST, SHARED_CHANNEL
from meetings.room.gateways.workers import WorkerMediaGateway
from meetings.room.media_gateway import get_gateway, reset_gateway
from tests.media import Client, wait_until

ROOT = Path(__file__).resolve().parents[2]
REDIS_DB = 13
REDIS_URL = os.environ.get("MEDIA_WORKERS_TEST_REDIS_URL", f"redis://127.0.0.1:6379/{REDIS_DB}")
TTL = 2.0
# A dead holder's lease runs out within TTL; a survivor's sweep (every TTL/3) claims it.
TAKEOVER_BOUND = TTL + TTL / 3
SLACK = 3.0
# -X faulthandler: a worker stuck at shutdown dumps its stacks on SIGABRT.
WORKER_COMMAND = (sys.executable, "-X", "faulthandler", "manage.py", "media_worker")
KEYS = Keys()
# Rarely (about one full-suite run in ten, never when this file runs alone) a test here
# waits forever on its event loop after other tests ran in the same process; the cause is
# not found yet. Each test gets 60 s, then fails with the traceback of that wait, and is
# run again once: a real fault fails twice.
GUARDS = [pytest.mark.timeout(60), pytest.mark.flaky(reruns=1)]
# redis-py 8 times a socket out after 5 s by default, as long as channels_redis's blocking
# receive waits: without this, an idle receive fails (django/channels_redis#422).
LAYER_HOST = {"address": REDIS_URL, "socket_timeout": None}


def _redis_available() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


pytestmark = [
    pytest.mark.skipif(not _redis_available(), reason=f"no Redis at {REDIS_URL}"),
    *GUARDS,
]


# --- worker processes -------------------------------------------------------------------


@dataclass
class Worker:
    proc: subprocess.Popen[bytes]
    log: Path
    channel: str = ""

    @property
    def pid(self) -> int:
        return self.proc.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


class Workers:
    """Starts `python manage.py media_worker` processes and always stops them."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        # A SQLite file that must never come to exist: the worker needs no database.
        self.database = tmp_path / "worker-must-not-open.sqlite3"
        self.started: list[Worker] = []
        self.sync_redis = redis.Redis.from_url(REDIS_URL, decode_responses=True)

    def start(self, count: int = 1, *, timeout: float = 30.0) -> list[Worker]:
        env = {
            **os.environ,
            "REDIS_URL": REDIS_URL,
            "DATABASE_URL": f"sqlite:///{self.database}",
            "DJANGO_SETTINGS_MODULE": "conferencing.settings",
            "MEDIA_GATEWAY": "meetings.room.gateways.workers.WorkerMediaGateway",
            "LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
        }
        batch = []
        for _ in range(count):
            log = self.tmp_path / f"worker-{len(self.started)}.log"
            with log.open("wb") as out:
                proc = subprocess.Popen(
                    [*WORKER_COMMAND, "--lease-ttl", str(TTL)],
                    cwd=ROOT,
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            worker = Worker(proc, log)
            self.started.append(worker)
            batch.append(worker)
        deadline = time.monotonic() + timeout
        while not all(w.channel for w in batch):
            for key in self.sync_redis.scan_iter(KEYS.workers_pattern()):
                info = self.sync_redis.get(key)
                for worker in batch:
                    if info and json.loads(info)["pid"] == worker.pid:
                        worker.channel = key.removeprefix(KEYS.worker(""))
            for worker in batch:
                if worker.proc.poll() is not None:
                    raise AssertionError(f"media worker exited early:\n{worker.output()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"media workers not up after {timeout}s")
            time.sleep(0.05)
        return batch

    def stop_all(self) -> None:
        for worker in self.started:
            if worker.proc.poll() is None:
                worker.proc.terminate()
        for worker in self.started:
            try:
                worker.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                print(f"media worker {worker.pid} ignored SIGTERM for 10 s")
                worker.proc.send_signal(signal.SIGABRT)
                try:
                    worker.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    worker.proc.kill()
                    worker.proc.wait(timeout=10)
        for worker in self.started:  # shown by pytest when the test fails
            print(f"--- media worker {worker.pid} {worker.channel}\n{worker.output()}")
        self.sync_redis.close()


@pytest.fixture
def media_redis(settings) -> Iterator[str]:
    """This test's Redis database, and settings that make this process a web process
    with media workers."""
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    settings.REDIS_URL = REDIS_URL
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [LAYER_HOST]},
        }
    }
    settings.MEDIA_GATEWAY = "meetings.room.gateways.workers.WorkerMediaGateway"
    reset_gateway()
    yield REDIS_URL
    reset_gateway()
    client.flushdb()
    client.close()


@pytest.fixture
def workers(media_redis: str, tmp_path: Path) -> Iterator[Workers]:
    manager = Workers(tmp_path)
    try:
        yield manager
    finally:
        manager.stop_all()
    assert not manager.database.exists(), "a media worker opened the database"


@pytest.fixture
async def r(media_redis: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(media_redis, decode_responses=True)
    yield client
    await client.aclose()


# --- web processes and participants ---------------------------------------------------


class WebProcess:
    """A web process: its own channel layer (so its own reply channels) and gateway."""

    def __init__(self, *, claim_timeout: float = 10.0) -> None:
        self.layer = RedisChannelLayer(hosts=[LAYER_HOST])
        self.gateway = WorkerMediaGateway(
            channel_layer=self.layer, redis_url=REDIS_URL, claim_timeout=claim_timeout
        )

    async def close(self) -> None:
        await self.layer.close_pools()


@dataclass
class GatewayRoom:
    """What tests.media.Client expects of a room (add_peer, handle_signal, remove_peer),
    implemented by a web process's gateway: its answers come back on reply channels."""

    web: WebProcess
    room: str
    resets: collections.Counter[str] = field(default_factory=collections.Counter)
    received: collections.Counter[str] = field(default_factory=collections.Counter)
    reply_channels: dict[str, str] = field(default_factory=dict)
    _targets: dict[str, Callable[[dict[str, Any]], Any]] = field(default_factory=dict)
    _pumps: list[asyncio.Task[None]] = field(default_factory=list)

    async def add_peer(self, peer_id: str, on_signal: Callable[[dict[str, Any]], Any]) -> None:
        self._targets[peer_id] = on_signal
        if peer_id in self.reply_channels:
            return  # starting over after a reset: a fresh connection, no new join
        channel = await self.web.layer.new_channel()
        self.reply_channels[peer_id] = channel
        self._pumps.append(asyncio.create_task(self._pump(peer_id, channel)))
        await self.web.gateway.join(room=self.room, peer_id=peer_id, reply_channel=channel)

    async def handle_signal(self, peer_id: str, message: dict[str, Any]) -> None:
        await self.web.gateway.signal(room=self.room, peer_id=peer_id, message=message)

    async def remove_peer(self, peer_id: str) -> None:
        await self.web.gateway.leave(room=self.room, peer_id=peer_id)

    async def _pump(self, peer_id: str, channel: str) -> None:
        while True:
            event = await self.web.layer.receive(channel)
            assert event["type"] == "media.signal", event
            self.received[peer_id] += 1
            if event["signal"] == {"type": "reset"}:
                self.resets[peer_id] += 1
                continue
            await self._targets[peer_id](event["signal"])

    async def close(self) -> None:
        for task in self._pumps:
            task.cancel()
        for task in self._pumps:
            with contextlib.suppress(asyncio.CancelledError):
                await task


@pytest.fixture
async def web() -> AsyncIterator[Callable[..., WebProcess]]:
    made: list[WebProcess] = []

    def make(**kwargs: Any) -> WebProcess:
        made.append(WebProcess(**kwargs))
        return made[-1]

    yield make
    for process in made:
        await process.close()


@pytest.fixture
async def participants() -> AsyncIterator[Callable[[GatewayRoom, str], Client]]:
    """aiortc clients (VP8 video + Opus audio) joined through a GatewayRoom."""
    clients: list[Client] = []
    rooms: list[GatewayRoom] = []

    def make(room: GatewayRoom, peer_id: str) -> Client:
        client = Client(room, peer_id)  # type: ignore[arg-type]
        clients.append(client)
        if room not in rooms:
            rooms.append(room)
        return client

    yield make
    for client in clients:
        await client.close()
    for room in rooms:
        await room.close()


async def stats(layer: RedisChannelLayer, workers: list[Worker]) -> dict[str, dict[str, list]]:
    """Each worker's rooms and their peers, asked over the channel layer."""
    reply = await layer.new_channel()
    for worker in workers:
        await layer.send(worker.channel, {"type": REQUEST, "op": "stats", "reply_channel": reply})
    answers = {}
    async with asyncio.timeout(10):
        while len(answers) < len(workers):
            event = await layer.receive(reply)
            answers[event["worker"]] = event["rooms"]
    return answers


def hosts_of(answers: dict[str, dict[str, list]], room: str) -> dict[str, list]:
    return {worker: rooms[room] for worker, rooms in answers.items() if room in rooms}


async def media_flows(a: Client, b: Client, *, timeout: float = 20.0) -> None:
    """Both connected, each decoding the other's video and audio."""
    for client, other in ((a, b), (b, a)):
        await wait_until(
            lambda c=client, o=other: (
                c.frames_from(o.peer_id, "video") > 5 and c.frames_from(o.peer_id, "audio") > 5
            ),
            timeout=timeout,
            message=f"{client.peer_id} receives {other.peer_id}'s media",
        )
    assert not a.errors and not b.errors, (a.errors, b.errors)


# --- tests ------------------------------------------------------------------------------


def test_settings_select_the_worker_gateway(media_redis):
    assert isinstance(get_gateway(), WorkerMediaGateway)


async def test_join_rejects_a_peer_id_that_is_not_an_sdp_token(media_redis, web):
    with pytest.raises(ValueError):
        await web().gateway.join(room="r", peer_id="has space", reply_channel="x.y!z")


async def test_participants_on_two_web_processes_share_one_worker(workers, web, participants, r):
    """Two web processes, two workers: both participants' answers come from the worker that
    holds the lease, and they receive each other's media there."""
    started = workers.start(2)
    web1, web2 = web(), web()
    room1, room2 = GatewayRoom(web1, "meeting-a"), GatewayRoom(web2, "meeting-a")
    alice, bob = participants(room1, "alice"), participants(room2, "bob")
    await asyncio.gather(alice.join(), bob.join())

    await media_flows(alice, bob)
    holder = await r.get(KEYS.lease("meeting-a"))
    assert holder in {w.channel for w in started}
    answers = await stats(web1.layer, started)
    assert hosts_of(answers, "meeting-a") == {holder: ["alice", "bob"]}
    assert await r.hgetall(KEYS.members("meeting-a")) == {
        "alice": room1.reply_channels["alice"],
        "bob": room2.reply_channels["bob"],
    }
    assert await r.smembers(KEYS.hosted("meeting-a")) == {"alice", "bob"}
    assert not room1.resets and not room2.resets

    # Leaving empties the room: the worker closes it and gives up its lease and keys.
    await alice.leave()
    await bob.leave()
    await wait_until_async(
        lambda: r.exists(KEYS.lease("meeting-a")), False, timeout=5, what="lease released"
    )
    assert not await r.exists(KEYS.hosted("meeting-a"), KEYS.members("meeting-a"))
    assert not await r.sismember(KEYS.rooms, "meeting-a")
    assert hosts_of(await stats(web1.layer, started), "meeting-a") == {}


async def test_two_rooms_at_once_each_have_one_owner(workers, web, participants, r):
    started = workers.start(2)
    webs = [web(), web()]
    clients = []
    for name in ("room-1", "room-2"):
        rooms = [GatewayRoom(process, name) for process in webs]
        clients.append((participants(rooms[0], f"{name}-x"), participants(rooms[1], f"{name}-y")))
    await asyncio.gather(*(client.join() for pair in clients for client in pair))
    await asyncio.gather(*(media_flows(a, b) for a, b in clients))

    answers = await stats(webs[0].layer, started)
    for name in ("room-1", "room-2"):
        holder = await r.get(KEYS.lease(name))
        assert hosts_of(answers, name) == {holder: [f"{name}-x", f"{name}-y"]}


async def test_concurrent_claims_elect_exactly_one_owner(workers, web, r):
    """Four web processes join four participants each into six fresh rooms, all at once,
    with three workers taking the claims: every room ends up on one worker with all of its
    participants, and that worker holds the lease."""
    started = workers.start(3)
    webs = [web() for _ in range(4)]
    rooms = [f"race-{i}" for i in range(6)]
    replies = {id(w): await w.layer.new_channel() for w in webs}

    await asyncio.gather(
        *(
            w.gateway.join(room=room, peer_id=f"p{i}", reply_channel=replies[id(w)])
            for room in rooms
            for i, w in enumerate(webs)
        )
    )
    everyone = [f"p{i}" for i in range(len(webs))]

    async def settled() -> bool:
        answers = await stats(webs[0].layer, started)
        return all(
            sorted(peer for peers in hosts_of(answers, room).values() for peer in peers) == everyone
            for room in rooms
        )

    await wait_until_async(settled, True, timeout=10, what="every join applied")
    answers = await stats(webs[0].layer, started)
    for room in rooms:
        holder = await r.get(KEYS.lease(room))
        assert hosts_of(answers, room) == {holder: everyone}, room
    # Every claim was acknowledged and none is left waiting on the shared channel.
    assert not await r.zcard(f"asgi{SHARED_CHANNEL}")


async def test_killed_owner_room_moves_and_participants_reset(workers, web, participants, r):
    started = workers.start(2)
    web1, web2 = web(), web()
    room1, room2 = GatewayRoom(web1, "meeting-k"), GatewayRoom(web2, "meeting-k")
    alice, bob = participants(room1, "alice"), participants(room2, "bob")
    await asyncio.gather(alice.join(), bob.join())
    await media_flows(alice, bob)

    holder = await r.get(KEYS.lease("meeting-k"))
    (victim,) = [w for w in started if w.channel == holder]
    (survivor,) = [w for w in started if w is not victim]
    victim.proc.send_signal(signal.SIGKILL)
    killed_at = time.monotonic()
    victim.proc.wait(timeout=5)

    # Nobody signals: the survivor's sweep finds the orphaned room and resets everyone.
    await wait_until(
        lambda: room1.resets["alice"] == 1 and room2.resets["bob"] == 1,
        timeout=TAKEOVER_BOUND + SLACK,
        message="both participants reset by the new owner",
    )
    took = time.monotonic() - killed_at
    assert took <= TAKEOVER_BOUND + SLACK, took
    assert await r.get(KEYS.lease("meeting-k")) == survivor.channel
    assert hosts_of(await stats(web1.layer, [survivor]), "meeting-k") == {
        survivor.channel: ["alice", "bob"]
    }

    # What the client does on "reset": a fresh RTCPeerConnection and a new offer, no join.
    await alice.close()
    await bob.close()
    alice2, bob2 = participants(room1, "alice"), participants(room2, "bob")
    await asyncio.gather(alice2.join(), bob2.join())
    await media_flows(alice2, bob2)
    assert room1.resets["alice"] == 1 and room2.resets["bob"] == 1


async def test_signal_for_a_room_whose_owner_died_is_claimed_by_another(workers, web, r):
    """The next request for an orphaned room (before any sweep) is claimed and resets."""
    started = workers.start(2)
    process = web()
    reply = await process.layer.new_channel()
    await process.gateway.join(room="meeting-s", peer_id="carol", reply_channel=reply)
    await wait_until_async(
        lambda: r.smembers(KEYS.hosted("meeting-s")), {"carol"}, timeout=5, what="joined"
    )
    holder = await r.get(KEYS.lease("meeting-s"))
    (victim,) = [w for w in started if w.channel == holder]
    (survivor,) = [w for w in started if w is not victim]
    victim.proc.send_signal(signal.SIGKILL)
    victim.proc.wait(timeout=5)
    # As if the lease had just run out, and out of the sweep's sight: the request claims it.
    await r.srem(KEYS.rooms, "meeting-s")
    await r.delete(KEYS.lease("meeting-s"))

    await process.gateway.signal(
        room="meeting-s", peer_id="carol", message={"type": "candidate", "candidate": None}
    )
    async with asyncio.timeout(5):
        event = await process.layer.receive(reply)
    assert event == {"type": "media.signal", "signal": {"type": "reset"}}
    assert await r.get(KEYS.lease("meeting-s")) == survivor.channel


async def test_a_member_whose_join_was_lost_is_reset_on_its_next_signal(workers, web, r):
    """A join sent to a holder in the moment it died is lost; the member's next signal
    gets it a peer on the new holder and a reset."""
    workers.start(1)
    process = web()
    reply = await process.layer.new_channel()
    await r.hset(KEYS.members("meeting-l"), "erin", reply)  # joined, but the join was lost
    await process.gateway.signal(
        room="meeting-l", peer_id="erin", message={"type": "candidate", "candidate": None}
    )
    async with asyncio.timeout(5):
        event = await process.layer.receive(reply)
    assert event == {"type": "media.signal", "signal": {"type": "reset"}}
    assert await r.smembers(KEYS.hosted("meeting-l")) == {"erin"}
    # A stranger's signal is dropped.
    await process.gateway.signal(
        room="meeting-l", peer_id="mallory", message={"type": "candidate", "candidate": None}
    )
    await asyncio.sleep(0.5)
    assert await r.smembers(KEYS.hosted("meeting-l")) == {"erin"}


async def test_an_offer_from_a_fresh_connection_replaces_the_peer(workers, web, participants):
    """A client that starts over on its own (new RTCPeerConnection, new ICE ufrag) without
    re-joining gets a fresh server-side peer: aiortc could not restart ICE on the old one."""
    workers.start(1)
    room = GatewayRoom(web(), "meeting-f")
    first = participants(room, "frank")
    await first.join()
    await wait_until(
        lambda: first.pc.connectionState == "connected", timeout=15, message="connected"
    )
    await first.close()
    again = participants(room, "frank")
    await again.join()  # the same reply channel: an offer only, no join
    await wait_until(
        lambda: again.pc.connectionState == "connected", timeout=15, message="reconnected"
    )
    assert not room.resets


async def test_clean_shutdown_hands_the_room_to_the_next_worker(workers, web, participants, r):
    (first,) = workers.start(1)
    room = GatewayRoom(web(), "meeting-c")
    alice = participants(room, "alice")
    await alice.join()
    await wait_until(
        lambda: alice.pc.connectionState == "connected", timeout=15, message="connected"
    )
    assert await r.get(KEYS.lease("meeting-c")) == first.channel

    first.proc.send_signal(signal.SIGTERM)
    assert first.proc.wait(timeout=10) == 0, first.output()
    assert not await r.exists(KEYS.lease("meeting-c")), "the lease was not released"
    assert not await r.exists(KEYS.worker(first.channel)), "the heartbeat was not removed"
    assert await r.smembers(KEYS.hosted("meeting-c")) == {"alice"}  # kept for the next one
    assert "handed over" in first.output()

    # The next worker picks the hand-over up and has the participant start over.
    (second,) = workers.start(1)
    await wait_until(lambda: room.resets["alice"] == 1, timeout=TTL + SLACK, message="reset")
    assert await r.get(KEYS.lease("meeting-c")) == second.channel
    await alice.close()
    alice2 = participants(room, "alice")
    await alice2.join()
    await wait_until(
        lambda: alice2.pc.connectionState == "connected", timeout=15, message="reconnected"
    )


async def test_a_claim_nobody_takes_times_out_and_expires(workers, web, r):
    process = web(claim_timeout=0.5)
    reply = await process.layer.new_channel()
    warnings: list[str] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: warnings.append(record.getMessage())  # type: ignore[method-assign]
    logging.getLogger("meetings.room.gateways.workers").addHandler(handler)
    try:
        started = time.monotonic()
        await process.gateway.join(room="meeting-x", peer_id="dave", reply_channel=reply)
        assert 0.4 < time.monotonic() - started < 3
    finally:
        logging.getLogger("meetings.room.gateways.workers").removeHandler(handler)
    assert any("no media worker took room meeting-x" in w for w in warnings), warnings

    # A worker that starts later drops the stale claim instead of acting on it.
    workers.start(1)
    await asyncio.sleep(1.0)
    assert not await r.exists(KEYS.lease("meeting-x"))
    assert not await r.zcard(f"asgi{SHARED_CHANNEL}")


async def test_close_room_releases_it(workers, web, r):
    started = workers.start(1)
    process = web()
    reply = await process.layer.new_channel()
    for peer in ("p1", "p2"):
        await process.gateway.join(room="meeting-e", peer_id=peer, reply_channel=reply)
    await wait_until_async(
        lambda: r.smembers(KEYS.hosted("meeting-e")), {"p1", "p2"}, timeout=5, what="joined"
    )
    await process.gateway.close_room(room="meeting-e")
    await wait_until_async(
        lambda: r.exists(KEYS.lease("meeting-e")), False, timeout=5, what="lease released"
    )
    assert not await r.exists(KEYS.hosted("meeting-e"), KEYS.members("meeting-e"))
    assert hosts_of(await stats(process.layer, started), "meeting-e") == {}


async def test_a_late_leave_of_an_old_connection_keeps_its_reconnected_successor(workers, web, r):
    """Ada joins on connection A and reconnects on B: A's late leave leaves B's peer in
    place (her next offer, queued behind that leave, is answered on B); B's leave removes
    it, and the room with it."""
    (worker,) = workers.start(1)
    process = web()
    room = "meeting-reconnect"
    old, new = await process.layer.new_channel(), await process.layer.new_channel()
    await process.gateway.join(room=room, peer_id="ada", reply_channel=old)
    await process.gateway.join(room=room, peer_id="ada", reply_channel=new)

    await process.gateway.leave(room=room, peer_id="ada", reply_channel=old)

    pc = RTCPeerConnection()
    try:
        pc.addTransceiver("audio", direction="sendonly")
        await pc.setLocalDescription(await pc.createOffer())
        offer = {"type": "offer", "sdp": pc.localDescription.sdp}
        await process.gateway.signal(
            room=room, peer_id="ada", message={"type": "sdp", "description": offer}
        )
        async with asyncio.timeout(10):
            event = await process.layer.receive(new)
    finally:
        await pc.close()
    assert event["signal"]["type"] == "sdp", event  # not a reset: the peer was never removed
    assert event["signal"]["description"]["type"] == "answer"
    assert await r.hgetall(KEYS.members(room)) == {"ada": new}
    assert hosts_of(await stats(process.layer, [worker]), room) == {worker.channel: ["ada"]}

    await process.gateway.leave(room=room, peer_id="ada", reply_channel=new)

    await wait_until_async(
        lambda: r.exists(KEYS.lease(room)), False, timeout=5, what="the room closed"
    )
    assert not await r.exists(KEYS.hosted(room), KEYS.members(room))


async def wait_until_async(
    probe: Callable[[], Any], expected: Any, *, timeout: float, what: str
) -> None:
    """Poll an async ``probe`` until it returns ``expected`` (compared by truth for bools)."""
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if (bool(value) is expected) if isinstance(expected, bool) else value == expected:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s: {what} (last: {value!r})")
        await asyncio.sleep(0.05)


async def test_a_recording_runs_on_the_worker_that_holds_the_room(
    workers, web, participants, tmp_path
):
    """Recording requests reach the lease holder in order; it writes the consented
    participant's tracks and closes the journal on stop."""
    from recordings.journal import read_journal

    workers.start(2)
    gateway = web()
    room = GatewayRoom(gateway, "meeting-r")
    alice, bob = participants(room, "alice"), participants(room, "bob")
    await asyncio.gather(alice.join(), bob.join())
    await media_flows(alice, bob)

    directory = tmp_path / "recording-tracks"
    await gateway.gateway.start_recording(
        room="meeting-r", recording_id="rec-1", directory=str(directory), consented=["alice"]
    )
    await gateway.gateway.recording_consent(
        room="meeting-r", recording_id="rec-1", peer_id="bob", accepted=False
    )
    await asyncio.sleep(1.5)
    await gateway.gateway.stop_recording(room="meeting-r", recording_id="rec-1")
    await wait_until(lambda: read_journal(directory).complete, timeout=10, message="stopped")

    journal = read_journal(directory)
    assert journal.recording == "rec-1"
    assert sorted((t.peer_id, t.kind) for t in journal.tracks) == [
        ("alice", "audio"),
        ("alice", "video"),
    ]
    assert all(t.frames > 0 for t in journal.tracks)
