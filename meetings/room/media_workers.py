"""Media workers: meetings pinned to worker processes by a lease in Redis.

With ``REDIS_URL`` set, media rooms do not live in the web processes. ``manage.py
media_worker`` runs a ``MediaWorker``: an asyncio loop that hosts ``MediaRoom``s. Web
processes reach them through ``WorkerMediaGateway`` over the channel layer
(channels_redis), so participants of one meeting may be connected to different web
processes and still share one ``MediaRoom``.

Keys in Redis (``<p>`` is ``settings.MEDIA_WORKERS_KEY_PREFIX``, default ``media``)::

    <p>:lease:<room>     STRING  the holder's channel name, SET NX PX ttl      (the lease)
    <p>:members:<room>   HASH    peer_id -> reply_channel                     (gateways write)
    <p>:hosted:<room>    SET     peer_ids the holder has a connection for     (holder writes)
    <p>:rooms            SET     rooms some worker hosts or hosted            (holders write)
    <p>:worker:<channel> STRING  a live worker's heartbeat, PX ttl
    <p>:seen:<id>        STRING  de-duplicates requests taken from the shared channel
    <p>:ack:<id>         LIST    a claim's acknowledgement, for the waiting gateway

Routing. A gateway reads ``lease:<room>``. If a holder is live it ``send``s the request to
that worker's own channel (``media-worker.<hex>``). If none, it sends a *claim* (the request
itself, with an ``ack`` key and an expiry) to the shared channel ``media-workers``, from
which channels_redis hands each message to one waiting receiver, and blocks on the ``ack``
list (``BLPOP``, ``MEDIA_CLAIM_TIMEOUT_SECONDS``). The receiving worker runs
``SET lease NX PX ttl``: exactly one worker wins however many gateways and workers race
(Redis decides); a loser reads the holder and forwards the request to it. The worker pushes
the ack only once the request sits in the owner's queue, and the gateway sends nothing
more for that room before the ack, so a participant's messages keep their order even
across a claim. channels_redis can deliver a message from a shared channel twice (another
receiver's clean-up may restore it from the in-flight backup); requests therefore carry a
unique id and a worker ignores one it has seen. A request sent to a holder in the moment
it dies is lost with it; the reset below makes up for it.

Holding. The holder renews every lease it holds every ttl/3 with a compare-and-PEXPIRE
script. A lease it finds gone or taken (the process stalled for longer than ttl) is
fenced off: the room is closed locally and never touched again, since the new holder has
restored it. Before acting on a room whose last renewal is older than its ttl, a worker
checks with Redis first. Within a worker, each participant has its own queue (its messages
are applied in order; participants do not wait for each other). A room whose last
participant left is closed and its lease, ``hosted`` set and ``rooms`` entry are dropped
together, atomically, and only if the lease is still ours.

Failover. Every worker sweeps ``rooms`` every ttl/3 for rooms with no lease, and claims
them. A worker also claims on the next request for such a room. The new holder
*restores* the room: every participant that the dead holder had a connection for
(``hosted``) and that is still a member (gateways drop members on ``leave``) gets a fresh
server-side peer, and is sent ``{"type": "reset"}``; so is a member whose signal reaches a
holder that has no peer for it (its join went to a holder that died). A kill -9 is thus
repaired within about ttl + ttl/3 without anyone signalling. A clean shutdown
(SIGTERM/SIGINT) closes the worker's rooms, deletes its leases, keeps ``hosted`` and posts
an ``adopt`` request per room to the shared channel, so another worker takes the room over
at once and resets its participants.

Protocol addition (server to client, inside a ``media`` message)::

    {"type": "media", "signal": {"type": "reset"}}

It tells the participant that its connection to the media server is gone (its media
worker died or shut down): close the current ``RTCPeerConnection``, create a fresh one,
publish again and send a new offer with plain ``media`` ``sdp`` messages. There is no need
to re-join or reconnect the websocket; the new media server already expects the peer. An
offer whose ICE ufrag differs from the peer's previous offer is taken as such a fresh
connection too: the server replaces its peer before answering (aiortc has no ICE restart,
so a new ufrag can only mean a new ``RTCPeerConnection``).

Requests (channel-layer messages, ``type`` ``media.request``)::

    {"op": "join", "room", "peer_id", "reply_channel"}    {"op": "leave", "room", "peer_id"}
    {"op": "signal", "room", "peer_id", "message"}         {"op": "close", "room"}
    {"op": "adopt", "room"}                                {"op": "stats", "reply_channel"}
    {"op": "record_start", "room", "recording", "directory", "consented": [peer_id, ...]}
    {"op": "record_consent", "room", "recording", "participant", "accepted"}
    {"op": "record_stop", "room", "recording"}

(recording requests carry ``peer_id`` ``~recording``: one lane per room keeps them in
order; a recording dies with its worker, whose files and journal stay for processing)

plus ``id`` (unique), ``hops`` (forwards so far) and, for claims, ``ack`` and ``expires``
(unix time). Media signals go back as ``{"type": "media.signal", "signal": {...}}`` to
each participant's ``reply_channel``; ``stats`` is answered with ``{"type":
"media.stats", "worker": <channel>, "rooms": {room: [peer_id, ...]}}``.

Settings: ``MEDIA_LEASE_TTL_SECONDS`` (10), ``MEDIA_CLAIM_TIMEOUT_SECONDS`` (5),
``MEDIA_WORKERS_KEY_PREFIX`` ("media"); ``manage.py media_worker --lease-ttl`` overrides
the first. The worker never uses the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import re
import socket
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis
from channels.exceptions import ChannelFull
from channels.layers import BaseChannelLayer, get_channel_layer
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from meetings.media.sfu import MediaRoom, SignalError

from .media_gateway import media_signal_event

logger = logging.getLogger(__name__)

SHARED_CHANNEL = "media-workers"
REQUEST = "media.request"
DEFAULT_LEASE_TTL_SECONDS = 10.0
DEFAULT_CLAIM_TIMEOUT_SECONDS = 5.0
MEMBERS_TTL_SECONDS = 24 * 3600
SEEN_TTL_MS = 120_000
ADOPT_EXPIRY_SECONDS = 60.0
MAX_FORWARDS = 3
SEND_RETRY_SECONDS = 1.0
# As meetings.media.sfu checks it: the peer id must be an SDP token.
_PEER_ID = re.compile(r"[A-Za-z0-9!#$%&'*+\-.^_`{|}~]{1,64}")
_UFRAG = re.compile(r"^a=ice-ufrag:(\S+)", re.MULTILINE)

# KEYS[1] lease; ARGV[1] our channel, ARGV[2] ttl in ms.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
# KEYS[1] lease, KEYS[2] hosted, KEYS[3] rooms; ARGV[1] our channel, ARGV[2] room.
# The room is over: forget it entirely, but only while the lease is still ours.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[2])
  redis.call('SREM', KEYS[3], ARGV[2])
  return redis.call('DEL', KEYS[1])
end
return 0
"""
# KEYS[1] lease; ARGV[1] our channel. Hand the room over: hosted/rooms stay for the next
# holder, which restores the participants and resets them.
_HAND_OVER = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


def lease_ttl_seconds() -> float:
    return float(getattr(settings, "MEDIA_LEASE_TTL_SECONDS", DEFAULT_LEASE_TTL_SECONDS))


def claim_timeout_seconds() -> float:
    return float(getattr(settings, "MEDIA_CLAIM_TIMEOUT_SECONDS", DEFAULT_CLAIM_TIMEOUT_SECONDS))


@dataclass(frozen=True)
class Keys:
    prefix: str = "media"

    @classmethod
    def from_settings(cls) -> Keys:
        return cls(str(getattr(settings, "MEDIA_WORKERS_KEY_PREFIX", "media")))

    def lease(self, room: str) -> str:
        return f"{self.prefix}:lease:{room}"

    def members(self, room: str) -> str:
        return f"{self.prefix}:members:{room}"

    def hosted(self, room: str) -> str:
        return f"{self.prefix}:hosted:{room}"

    @property
    def rooms(self) -> str:
        return f"{self.prefix}:rooms"

    def worker(self, channel: str) -> str:
        return f"{self.prefix}:worker:{channel}"

    def workers_pattern(self) -> str:
        return f"{self.prefix}:worker:*"

    def seen(self, request_id: str) -> str:
        return f"{self.prefix}:seen:{request_id}"

    def ack(self, request_id: str) -> str:
        return f"{self.prefix}:ack:{request_id}"


class _RedisPerLoop:
    """One redis.asyncio client per event loop (a client's connections belong to a loop).

    ``socket_timeout`` must outlast the longest blocking command sent (the gateway's
    BLPOP): redis-py 8 defaults it to 5 s, which would cut a longer BLPOP off.
    """

    def __init__(self, url: str, *, socket_timeout: float = 30.0) -> None:
        if not url:
            raise ImproperlyConfigured("media workers need REDIS_URL")
        self.url = url
        self.socket_timeout = socket_timeout
        self._clients: dict[int, tuple[asyncio.AbstractEventLoop, aioredis.Redis]] = {}

    def get(self) -> aioredis.Redis:
        loop = asyncio.get_running_loop()
        entry = self._clients.get(id(loop))
        if entry is not None and entry[0] is loop:
            return entry[1]
        for key, (other, _client) in list(self._clients.items()):
            if other.is_closed():
                del self._clients[key]
        client = aioredis.Redis.from_url(
            self.url, decode_responses=True, socket_timeout=self.socket_timeout
        )
        self._clients[id(loop)] = (loop, client)
        return client


def worker_channel_layer() -> BaseChannelLayer:
    """The default channel layer, made safe for a process that blocks in ``receive``.

    channels_redis's ``receive`` blocks in BZPOPMIN for up to 5 s; redis-py 8's default
    ``socket_timeout`` is also 5 s, so an idle receive fails with ``TimeoutError`` (and may
    lose the message popped at that instant; django/channels_redis#422). Unless the
    settings choose a socket timeout, the worker's layer has none.
    """
    config: dict[str, Any] = settings.CHANNEL_LAYERS.get("default", {})
    if config.get("BACKEND") != "channels_redis.core.RedisChannelLayer":
        layer = get_channel_layer()
        if layer is None:
            raise ImproperlyConfigured("media workers need a channel layer")
        return layer
    from channels_redis.core import RedisChannelLayer

    options: dict[str, Any] = dict(config.get("CONFIG") or {})
    hosts = []
    for host in options.get("hosts") or [("localhost", 6379)]:
        if isinstance(host, dict):
            entry = dict(host)
        elif isinstance(host, list | tuple):
            entry = {"host": host[0], "port": host[1]}
        else:
            entry = {"address": host}
        entry.setdefault("socket_timeout", None)
        hosts.append(entry)
    options["hosts"] = hosts
    return RedisChannelLayer(**options)


def _new_request(op: str, room: str, **fields: Any) -> dict[str, Any]:
    return {"type": REQUEST, "op": op, "room": room, "id": uuid.uuid4().hex, "hops": 0, **fields}


async def _send(layer: BaseChannelLayer, channel: str, message: dict[str, Any]) -> bool:
    """``layer.send``, retried for up to SEND_RETRY_SECONDS while the channel is full."""
    deadline = time.monotonic() + SEND_RETRY_SECONDS
    delay = 0.01
    while True:
        try:
            await layer.send(channel, message)
            return True
        except ChannelFull:
            if time.monotonic() > deadline:
                logger.warning("channel %s is full; %s dropped", channel, message.get("op"))
                return False
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.2)


# --- the gateway (web processes) ---------------------------------------------------------


class WorkerMediaGateway:
    """``MediaGateway`` for web processes: requests go to the worker holding the room's lease.

    Calls return once the request is on its way (or, for a claim, once the owning worker
    has queued it); answers arrive later on the participant's ``reply_channel``. Malformed
    signals are logged by the worker, not raised here.
    """

    def __init__(
        self,
        *,
        channel_layer: BaseChannelLayer | None = None,
        redis_url: str | None = None,
        claim_timeout: float | None = None,
        keys: Keys | None = None,
    ) -> None:
        self._layer = channel_layer
        self.claim_timeout = claim_timeout if claim_timeout is not None else claim_timeout_seconds()
        self._redis = _RedisPerLoop(
            redis_url or settings.REDIS_URL, socket_timeout=max(30.0, self.claim_timeout + 10)
        )
        self.keys = keys or Keys.from_settings()

    @property
    def layer(self) -> BaseChannelLayer:
        layer = self._layer or get_channel_layer()
        if layer is None:
            raise ImproperlyConfigured("media workers need a channel layer")
        return layer

    async def join(self, *, room: str, peer_id: str, reply_channel: str) -> None:
        if not isinstance(peer_id, str) or not _PEER_ID.fullmatch(peer_id):
            raise ValueError("peer_id must be 1-64 token characters (no spaces, no ':')")
        r = self._redis.get()
        members = self.keys.members(room)
        async with r.pipeline(transaction=True) as pipe:
            pipe.hset(members, peer_id, reply_channel)
            pipe.expire(members, MEMBERS_TTL_SECONDS)
            await pipe.execute()
        await self._route(
            room, _new_request("join", room, peer_id=peer_id, reply_channel=reply_channel)
        )

    async def signal(self, *, room: str, peer_id: str, message: dict[str, Any]) -> None:
        await self._route(room, _new_request("signal", room, peer_id=peer_id, message=message))

    async def leave(self, *, room: str, peer_id: str) -> None:
        await self._redis.get().hdel(self.keys.members(room), peer_id)
        await self._route(room, _new_request("leave", room, peer_id=peer_id), claim=False)

    async def close_room(self, *, room: str) -> None:
        await self._redis.get().delete(self.keys.members(room))
        await self._route(room, _new_request("close", room), claim=False)

    async def start_recording(
        self, *, room: str, recording_id: str, directory: str, consented: list[str]
    ) -> None:
        request = _new_request(
            "record_start",
            room,
            peer_id=RECORDING_LANE,
            recording=recording_id,
            directory=directory,
            consented=consented,
        )
        await self._route(room, request)

    async def recording_consent(
        self, *, room: str, recording_id: str, peer_id: str, accepted: bool
    ) -> None:
        request = _new_request(
            "record_consent",
            room,
            peer_id=RECORDING_LANE,
            recording=recording_id,
            participant=peer_id,
            accepted=accepted,
        )
        await self._route(room, request)

    async def stop_recording(self, *, room: str, recording_id: str) -> None:
        request = _new_request("record_stop", room, peer_id=RECORDING_LANE, recording=recording_id)
        await self._route(room, request, claim=False)

    async def holder(self, room: str) -> str | None:
        """The channel of the worker holding ``room``'s lease, if any."""
        return _text(await self._redis.get().get(self.keys.lease(room)))

    async def _route(self, room: str, request: dict[str, Any], *, claim: bool = True) -> None:
        r = self._redis.get()
        holder = _text(await r.get(self.keys.lease(room)))
        if holder:
            await _send(self.layer, holder, request)
            return
        if not claim:
            return  # nobody hosts the room: nothing to leave or close
        ack = self.keys.ack(request["id"])
        request["ack"] = ack
        request["expires"] = time.time() + self.claim_timeout
        if not await _send(self.layer, SHARED_CHANNEL, request):
            return
        if await r.blpop([ack], timeout=self.claim_timeout) is None:
            logger.warning(
                "no media worker took room %s within %.1fs (is `manage.py media_worker` up?)",
                room,
                self.claim_timeout,
            )


# --- the worker ----------------------------------------------------------------------------


@dataclass(eq=False)
class _Lane:
    """One participant's requests, applied in order by one task."""

    queue: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    task: asyncio.Task[None] | None = None
    busy: bool = False


@dataclass(eq=False)
class _HostedRoom:
    room: str
    media: MediaRoom
    valid_until: float  # loop time until which the lease is surely ours
    lanes: dict[str, _Lane] = field(default_factory=dict)
    ufrags: dict[str, str] = field(default_factory=dict)  # peer_id -> ICE ufrag of its offers
    closing: bool = False

    def idle(self) -> bool:
        return not self.media.peers and all(
            not lane.busy and lane.queue.empty() for lane in self.lanes.values()
        )


class MediaWorker:
    """Hosts media rooms for the rooms whose leases it holds (see the module docstring)."""

    def __init__(
        self,
        *,
        channel_layer: BaseChannelLayer | None = None,
        redis_url: str | None = None,
        lease_ttl: float | None = None,
        keys: Keys | None = None,
        room_factory: Callable[[str], MediaRoom] = MediaRoom,
    ) -> None:
        self._layer = channel_layer or worker_channel_layer()
        self._redis = _RedisPerLoop(redis_url or settings.REDIS_URL)
        self.ttl = lease_ttl if lease_ttl is not None else lease_ttl_seconds()
        if self.ttl <= 0:
            raise ValueError("the lease ttl must be positive")
        self.ttl_ms = max(1, int(self.ttl * 1000))
        # Renewal and time-outs are measured locally, from before the Redis call: keep a margin.
        self.margin = min(0.5, self.ttl / 10)
        self.keys = keys or Keys.from_settings()
        self.channel = f"media-worker.{uuid.uuid4().hex}"
        self._room_factory = room_factory
        self._rooms: dict[str, _HostedRoom] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._background: set[asyncio.Task[Any]] = set()

    @property
    def layer(self) -> BaseChannelLayer:
        return self._layer

    def rooms(self) -> dict[str, list[str]]:
        return {name: sorted(hosted.media.peers) for name, hosted in self._rooms.items()}

    # --- life cycle ----------------------------------------------------------------------

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._receive_loop(self.channel, shared=False), name="media-own"),
            loop.create_task(self._receive_loop(SHARED_CHANNEL, shared=True), name="media-shared"),
            loop.create_task(self._maintenance_loop(), name="media-leases"),
        ]
        await self._heartbeat()
        logger.info("media worker %s up (lease ttl %.1fs)", self.channel, self.ttl)

    async def run(self, stop: asyncio.Event) -> None:
        await self.start()
        try:
            await stop.wait()
        finally:
            await self.shutdown()

    async def shutdown(self) -> None:
        """Stop receiving, close every room and hand it over to another worker."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        r = self._redis.get()
        for name in list(self._rooms):
            hosted = self._rooms.pop(name)
            participants = len(hosted.media.peers)
            await self._close_local(hosted)
            lease = self.keys.lease(name)
            if not participants:
                await r.eval(
                    _RELEASE, 3, lease, self.keys.hosted(name), self.keys.rooms, self.channel, name
                )
                continue
            if await r.eval(_HAND_OVER, 1, lease, self.channel):
                adopt = _new_request("adopt", name, expires=time.time() + ADOPT_EXPIRY_SECONDS)
                await _send(self.layer, SHARED_CHANNEL, adopt)
                logger.info("room %s handed over (%d participants)", name, participants)
        for task in list(self._background):
            task.cancel()
        await r.delete(self.keys.worker(self.channel))
        logger.info("media worker %s stopped", self.channel)

    async def _heartbeat(self) -> None:
        info = {"pid": os.getpid(), "host": socket.gethostname(), "rooms": len(self._rooms)}
        await self._redis.get().set(
            self.keys.worker(self.channel), json.dumps(info), px=self.ttl_ms
        )

    async def _receive_loop(self, channel: str, *, shared: bool) -> None:
        while True:
            try:
                message = await self.layer.receive(channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("media worker: receiving on %s failed; retrying", channel)
                await asyncio.sleep(1.0)
                continue
            try:
                await self._dispatch(message, shared=shared)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("media worker: request %r failed", _describe(message))

    async def _maintenance_loop(self) -> None:
        """Every ttl/3: renew our leases, refresh the heartbeat, sweep for orphaned rooms."""
        while True:
            await asyncio.sleep(self.ttl / 3 * random.uniform(0.9, 1.0))
            try:
                await self._renew_all()
                await self._heartbeat()
                await self._sweep()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("media worker: lease maintenance failed")

    # --- leases ----------------------------------------------------------------------------

    def _lock(self, room: str) -> asyncio.Lock:
        lock = self._locks.get(room)
        if lock is None:
            lock = self._locks[room] = asyncio.Lock()
        return lock

    def _forget_lock(self, room: str) -> None:
        lock = self._locks.get(room)
        if lock is not None and not lock.locked() and room not in self._rooms:
            del self._locks[room]

    async def _renew_all(self) -> None:
        names = list(self._rooms)
        if not names:
            return
        started = asyncio.get_running_loop().time()
        async with self._redis.get().pipeline(transaction=False) as pipe:
            for name in names:
                pipe.eval(_RENEW, 1, self.keys.lease(name), self.channel, self.ttl_ms)
            results = await pipe.execute()
        for name, renewed in zip(names, results, strict=True):
            hosted = self._rooms.get(name)
            if hosted is None:
                continue
            if renewed:
                hosted.valid_until = started + self.ttl - self.margin
            else:
                await self._drop(name, "its lease was lost")

    async def _renew_one(self, hosted: _HostedRoom) -> bool:
        started = asyncio.get_running_loop().time()
        renewed = await self._redis.get().eval(
            _RENEW, 1, self.keys.lease(hosted.room), self.channel, self.ttl_ms
        )
        if renewed:
            hosted.valid_until = started + self.ttl - self.margin
        return bool(renewed)

    async def _sweep(self) -> None:
        """Claim rooms that some worker hosted and whose lease is gone (the holder died)."""
        r = self._redis.get()
        candidates = [name async for name in r.sscan_iter(self.keys.rooms, count=500)]
        candidates = [name for name in candidates if name not in self._rooms]
        random.shuffle(candidates)
        for start in range(0, len(candidates), 500):
            batch = candidates[start : start + 500]
            async with r.pipeline(transaction=False) as pipe:
                for name in batch:
                    pipe.exists(self.keys.lease(name))
                alive = await pipe.execute()
            for name, exists in zip(batch, alive, strict=True):
                if not exists:
                    await self._adopt(name)

    async def _adopt(self, room: str) -> None:
        owner = await self._ensure(room, "adopt")
        if isinstance(owner, _HostedRoom) and owner.idle():
            await self._release(owner)

    async def _ensure(self, room: str, op: str) -> _HostedRoom | str | None:
        """The room if we hold its lease (claiming it if nobody does), else the holder's
        channel, else None (a leave/close for a room nobody hosts)."""
        hosted = self._rooms.get(room)
        now = asyncio.get_running_loop().time()
        if hosted is not None and not hosted.closing and hosted.valid_until > now:
            return hosted
        async with self._lock(room):
            hosted = self._rooms.get(room)
            if hosted is not None and not hosted.closing:
                if hosted.valid_until > asyncio.get_running_loop().time():
                    return hosted
                if await self._renew_one(hosted):
                    return hosted
                await self._drop(room, "its lease was lost")
            r = self._redis.get()
            lease = self.keys.lease(room)
            for _attempt in range(3):
                if op not in _NO_CLAIM_OPS:
                    started = asyncio.get_running_loop().time()
                    if await r.set(lease, self.channel, nx=True, px=self.ttl_ms):
                        return await self._open(room, started + self.ttl - self.margin)
                holder = _text(await r.get(lease))
                if holder is None:
                    if op in _NO_CLAIM_OPS:
                        return None
                    continue  # expired between SET and GET
                if holder != self.channel:
                    return holder
                # Ours in Redis but not here (should not happen): take it back properly.
                if await r.eval(_HAND_OVER, 1, lease, self.channel) and op in _NO_CLAIM_OPS:
                    return None
            return None

    async def _open(self, room: str, valid_until: float) -> _HostedRoom:
        """We have just taken the lease: host the room, restoring whoever a dead holder had.

        Called with the room's lock held; the room is visible to other requests only once
        it is restored (they wait for the lock)."""
        r = self._redis.get()
        hosted = _HostedRoom(room=room, media=self._room_factory(room), valid_until=valid_until)
        hosted_key = self.keys.hosted(room)
        async with r.pipeline(transaction=False) as pipe:
            pipe.sadd(self.keys.rooms, room)
            pipe.smembers(hosted_key)
            pipe.hgetall(self.keys.members(room))
            _, previous, members = await pipe.execute()
        restored: dict[str, str] = {}
        for peer_id in previous:
            reply_channel = members.get(peer_id)
            if reply_channel is None:
                continue  # left while nobody hosted the room
            try:
                await hosted.media.add_peer(peer_id, self._deliverer(reply_channel))
            except ValueError:
                logger.warning("room %s: cannot restore peer %r", room, peer_id)
                continue
            restored[peer_id] = reply_channel
        if previous:
            async with r.pipeline(transaction=True) as pipe:
                pipe.delete(hosted_key)
                if restored:
                    pipe.sadd(hosted_key, *restored)
                await pipe.execute()
            logger.info(
                "room %s taken over: %d participant(s) reset, %d gone",
                room,
                len(restored),
                len(previous) - len(restored),
            )
        for reply_channel in restored.values():
            await self._reset(reply_channel)
        self._rooms[room] = hosted
        return hosted

    async def _release(self, hosted: _HostedRoom) -> None:
        """The room is over here (empty or closed): close it and give up every key of it."""
        async with self._lock(hosted.room):
            if self._rooms.get(hosted.room) is not hosted:
                return
            if not hosted.idle() and not hosted.closing:
                return  # someone joined meanwhile
            del self._rooms[hosted.room]
            await self._close_local(hosted)
            await self._redis.get().eval(
                _RELEASE,
                3,
                self.keys.lease(hosted.room),
                self.keys.hosted(hosted.room),
                self.keys.rooms,
                self.channel,
                hosted.room,
            )
        self._forget_lock(hosted.room)

    async def _drop(self, room: str, why: str) -> None:
        """Fence: forget the room locally and leave Redis alone (someone else holds it)."""
        hosted = self._rooms.pop(room, None)
        if hosted is not None:
            logger.warning("room %s dropped: %s", room, why)
            await self._close_local(hosted)

    async def _close_local(self, hosted: _HostedRoom) -> None:
        hosted.closing = True
        current = asyncio.current_task()
        for lane in hosted.lanes.values():
            if lane.task is not None and lane.task is not current:
                lane.task.cancel()
        try:
            await hosted.media.close()
        except Exception:
            logger.exception("room %s: close failed", hosted.room)

    # --- requests --------------------------------------------------------------------------

    async def _dispatch(self, message: Any, *, shared: bool) -> None:
        if not isinstance(message, dict) or message.get("type") != REQUEST:
            logger.warning("media worker: ignoring %r", _describe(message))
            return
        op = message.get("op")
        if op == "stats":
            await _send(
                self.layer,
                message["reply_channel"],
                {"type": "media.stats", "worker": self.channel, "rooms": self.rooms()},
            )
            return
        room = message.get("room")
        if not isinstance(room, str) or not room or op not in _OPS:
            logger.warning("media worker: malformed request %r", _describe(message))
            return
        r = self._redis.get()
        if shared:
            if float(message.get("expires") or 0) < time.time():
                logger.warning("media worker: claim for room %s expired before pick-up", room)
                return
            if not await r.set(self.keys.seen(str(message.get("id"))), 1, nx=True, px=SEEN_TTL_MS):
                return  # delivered twice by the shared channel
        if op == "adopt":
            await self._adopt(room)
        else:
            owner = await self._ensure(room, op)
            if isinstance(owner, _HostedRoom):
                if op == "close":
                    owner.closing = True
                    await self._release(owner)
                else:
                    self._enqueue(owner, message)
            elif isinstance(owner, str):
                hops = int(message.get("hops") or 0)
                if hops >= MAX_FORWARDS:
                    logger.warning("room %s: %s dropped after %d forwards", room, op, hops)
                else:
                    await _send(self.layer, owner, message | {"hops": hops + 1})
        ack = message.get("ack")
        if isinstance(ack, str) and ack:
            async with r.pipeline(transaction=False) as pipe:
                pipe.rpush(ack, self.channel)
                pipe.pexpire(ack, SEEN_TTL_MS)
                await pipe.execute()

    def _enqueue(self, hosted: _HostedRoom, message: dict[str, Any]) -> None:
        peer_id = message.get("peer_id")
        if not isinstance(peer_id, str):
            logger.warning("room %s: %s without a peer_id", hosted.room, message.get("op"))
            return
        lane = hosted.lanes.get(peer_id)
        if lane is None:
            lane = hosted.lanes[peer_id] = _Lane()
            lane.task = asyncio.get_running_loop().create_task(
                self._lane_loop(hosted, peer_id, lane), name=f"media-lane-{peer_id}"
            )
        lane.queue.put_nowait(message)

    async def _lane_loop(self, hosted: _HostedRoom, peer_id: str, lane: _Lane) -> None:
        while True:
            message = await lane.queue.get()
            lane.busy = True
            try:
                await self._apply(hosted, peer_id, message)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("room %s: %s from %s failed", hosted.room, message["op"], peer_id)
            finally:
                lane.busy = False
            if lane.queue.empty() and peer_id not in hosted.media.peers:
                if hosted.lanes.get(peer_id) is lane:
                    del hosted.lanes[peer_id]
                if hosted.idle() and not hosted.closing:
                    self._spawn(self._release(hosted))
                return

    async def _apply(self, hosted: _HostedRoom, peer_id: str, message: dict[str, Any]) -> None:
        if hosted.closing:
            return
        media = hosted.media
        r = self._redis.get()
        op = message["op"]
        if op == "join":
            reply_channel = message.get("reply_channel")
            if not isinstance(reply_channel, str) or not reply_channel:
                return
            if peer_id in media.peers:
                await media.remove_peer(peer_id)  # a reconnect starts a fresh connection
            hosted.ufrags.pop(peer_id, None)
            await media.add_peer(peer_id, self._deliverer(reply_channel))
            await r.sadd(self.keys.hosted(hosted.room), peer_id)
        elif op == "leave":
            hosted.ufrags.pop(peer_id, None)
            if peer_id in media.peers:
                await media.remove_peer(peer_id)
                await r.srem(self.keys.hosted(hosted.room), peer_id)
        elif op == "signal":
            await self._apply_signal(hosted, peer_id, message.get("message"))
        elif op in ("record_start", "record_consent", "record_stop"):
            await _apply_recording(media, message)

    async def _apply_signal(self, hosted: _HostedRoom, peer_id: str, signal: Any) -> None:
        media = hosted.media
        if peer_id not in media.peers:
            # Its join went to a holder that died first: a member still, so give it a
            # peer and have it start over; what it sent was meant for the old connection.
            reply_channel = _text(
                await self._redis.get().hget(self.keys.members(hosted.room), peer_id)
            )
            if reply_channel is None:
                return
            await media.add_peer(peer_id, self._deliverer(reply_channel))
            await self._redis.get().sadd(self.keys.hosted(hosted.room), peer_id)
            await self._reset(reply_channel)
            return
        ufrag = _offer_ufrag(signal)
        if ufrag is not None:
            previous = hosted.ufrags.get(peer_id)
            if previous is not None and previous != ufrag:
                # A fresh RTCPeerConnection (after a reset, or the client's own restart).
                peer = media.peers[peer_id]
                await media.remove_peer(peer_id)
                await media.add_peer(peer_id, peer.on_signal)
            hosted.ufrags[peer_id] = ufrag
        try:
            await media.handle_signal(peer_id, signal)
        except SignalError as exc:
            logger.info("room %s: signal from %s refused: %s", hosted.room, peer_id, exc)

    def _deliverer(self, reply_channel: str) -> Callable[[dict[str, Any]], Awaitable[None]]:
        layer = self.layer

        async def deliver(signal: dict[str, Any]) -> None:
            await layer.send(reply_channel, media_signal_event(signal))

        return deliver

    async def _reset(self, reply_channel: str) -> None:
        await _send(self.layer, reply_channel, media_signal_event({"type": "reset"}))

    def _spawn(self, coroutine: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)


_OPS = frozenset(
    {"join", "signal", "leave", "close", "adopt", "record_start", "record_consent", "record_stop"}
)
# Requests that never claim a room nobody hosts (there is nothing to act on).
_NO_CLAIM_OPS = frozenset({"leave", "close", "record_stop"})
# Recording requests share one lane per room, named like no participant can be.
RECORDING_LANE = "~recording"


async def _apply_recording(media: MediaRoom, message: dict[str, Any]) -> None:
    """A recording request, applied in order on the room's recording lane."""
    recording = message.get("recording")
    if not isinstance(recording, str) or not recording:
        logger.warning("recording request without a recording id: %r", _describe(message))
        return
    op = message["op"]
    if op == "record_start":
        consented = [p for p in message.get("consented") or () if isinstance(p, str)]
        media.start_recording(recording, str(message.get("directory")), consented)
    elif op == "record_consent":
        participant = message.get("participant")
        if isinstance(participant, str):
            media.set_recording_consent(recording, participant, bool(message.get("accepted")))
    else:
        await media.stop_recording(recording)


def _text(value: str | bytes | None) -> str | None:
    """What redis-py returns (str with decode_responses, which our clients use)."""
    return value.decode() if isinstance(value, bytes) else value


def _offer_ufrag(signal: Any) -> str | None:
    if not isinstance(signal, dict) or signal.get("type") != "sdp":
        return None
    description = signal.get("description")
    if not isinstance(description, dict) or description.get("type") != "offer":
        return None
    sdp = description.get("sdp")
    match = _UFRAG.search(sdp) if isinstance(sdp, str) else None
    return match.group(1) if match else None


def _describe(message: Any) -> Any:
    """A request without its SDP, for logs."""
    if isinstance(message, dict):
        return {k: v for k, v in message.items() if k != "message"}
    return type(message).__name__


async def run_worker(*, lease_ttl: float | None = None, stop: asyncio.Event | None = None) -> None:
    """``manage.py media_worker``: run until SIGTERM/SIGINT (or ``stop``), then hand over."""
    import signal as signals

    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    # Signal handlers belong to the main thread (tests may run a worker in another one).
    if threading.current_thread() is threading.main_thread():
        for signum in (signals.SIGTERM, signals.SIGINT):
            loop.add_signal_handler(signum, stop.set)
    worker = MediaWorker(lease_ttl=lease_ttl)
    await worker.run(stop)
