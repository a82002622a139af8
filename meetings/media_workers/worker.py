"""The media worker process (``manage.py media_worker``): hosts the rooms whose leases it
holds, claims rooms nobody holds, and hands its rooms over when it stops.

Holding. The holder renews every lease it holds every ttl/3. A lease it finds gone or
taken (the process stalled for longer than ttl) is fenced off: the room is closed locally
and never touched again, since the new holder has restored it. Before acting on a room
whose last renewal is older than its ttl, a worker checks with Redis first. A room whose
last participant left is closed and its lease, ``hosted`` set and ``rooms`` entry are
dropped together, atomically, and only if the lease is still ours.

Claiming. A claim taken from the shared channel runs ``SET lease NX PX ttl``: exactly one
worker wins however many gateways and workers race; a loser forwards the request to the
holder. The worker acknowledges a claim only once the request sits in the owner's queue.
channels_redis can deliver a message from a shared channel twice (another receiver's
clean-up may restore it from the in-flight backup); a worker ignores a request id it has
seen. A request sent to a holder in the moment it dies is lost with it; the reset below
makes up for it.

Failover. Every worker sweeps ``rooms`` every ttl/3 for rooms with no lease, and claims
them; a worker also claims on the next request for such a room. The new holder restores
the room (``HostedRoom.restore``): every participant the dead holder had a connection for
and that is still a member gets a fresh server-side peer and is sent a reset; so is a
member whose signal reaches a holder that has no peer for it. A kill -9 is thus repaired
within about ttl + ttl/3 without anyone signalling. A clean shutdown (SIGTERM/SIGINT)
closes the worker's rooms, deletes its leases, keeps ``hosted`` and posts an ``adopt``
request per room to the shared channel, so another worker takes the room over at once.

The worker never uses the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from channels.layers import BaseChannelLayer, get_channel_layer
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from meetings.media.sfu import MediaRoom

from .hosting import HostedRoom
from .leases import Keys, LeaseStore, lease_ttl_seconds
from .messages import NO_CLAIM_OPS, OPS, REQUEST, SHARED_CHANNEL, describe, new_request, send

logger = logging.getLogger(__name__)

ADOPT_EXPIRY_SECONDS = 60.0
MAX_FORWARDS = 3


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
        self._store = LeaseStore(redis_url or settings.REDIS_URL, keys=keys)
        self.keys = self._store.keys
        self.ttl = lease_ttl if lease_ttl is not None else lease_ttl_seconds()
        if self.ttl <= 0:
            raise ValueError("the lease ttl must be positive")
        self.ttl_ms = max(1, int(self.ttl * 1000))
        # Renewal and time-outs are measured locally, from before the Redis call: keep a margin.
        self.margin = min(0.5, self.ttl / 10)
        self.channel = f"media-worker.{uuid.uuid4().hex}"
        self._room_factory = room_factory
        self._rooms: dict[str, HostedRoom] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._background: set[asyncio.Task[Any]] = set()

    @property
    def layer(self) -> BaseChannelLayer:
        return self._layer

    def rooms(self) -> dict[str, list[str]]:
        return {name: hosted.peer_ids() for name, hosted in self._rooms.items()}

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
        for name in list(self._rooms):
            hosted = self._rooms.pop(name)
            participants = len(hosted.media.peers)
            await hosted.close()
            if not participants:
                await self._store.release(name, self.channel)
                continue
            if await self._store.hand_over(name, self.channel):
                adopt = new_request("adopt", name, expires=time.time() + ADOPT_EXPIRY_SECONDS)
                await send(self.layer, SHARED_CHANNEL, adopt)
                logger.info("room %s handed over (%d participants)", name, participants)
        for task in list(self._background):
            task.cancel()
        await self._store.forget_worker(self.channel)
        logger.info("media worker %s stopped", self.channel)

    async def _heartbeat(self) -> None:
        info = {"pid": os.getpid(), "host": socket.gethostname(), "rooms": len(self._rooms)}
        await self._store.heartbeat(self.channel, info, self.ttl_ms)

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
                logger.exception("media worker: request %r failed", describe(message))

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
        results = await self._store.renew_all(names, self.channel, self.ttl_ms)
        for name, renewed in zip(names, results, strict=True):
            hosted = self._rooms.get(name)
            if hosted is None:
                continue
            if renewed:
                hosted.valid_until = started + self.ttl - self.margin
            else:
                await self._drop(name, "its lease was lost")

    async def _renew_one(self, hosted: HostedRoom) -> bool:
        started = asyncio.get_running_loop().time()
        renewed = await self._store.renew(hosted.room, self.channel, self.ttl_ms)
        if renewed:
            hosted.valid_until = started + self.ttl - self.margin
        return renewed

    async def _sweep(self) -> None:
        """Claim rooms that some worker hosted and whose lease is gone (the holder died)."""
        async for orphans in self._store.orphaned_rooms(skip=self._rooms):
            for name in orphans:
                await self._adopt(name)

    async def _adopt(self, room: str) -> None:
        owner = await self._ensure(room, "adopt")
        if isinstance(owner, HostedRoom) and owner.idle():
            await self._release(owner)

    async def _ensure(self, room: str, op: str) -> HostedRoom | str | None:
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
            for _attempt in range(3):
                if op not in NO_CLAIM_OPS:
                    started = asyncio.get_running_loop().time()
                    if await self._store.claim(room, self.channel, self.ttl_ms):
                        return await self._open(room, started + self.ttl - self.margin)
                holder = await self._store.holder(room)
                if holder is None:
                    if op in NO_CLAIM_OPS:
                        return None
                    continue  # expired between SET and GET
                if holder != self.channel:
                    return holder
                # Ours in Redis but not here (should not happen): take it back properly.
                if await self._store.hand_over(room, self.channel) and op in NO_CLAIM_OPS:
                    return None
            return None

    async def _open(self, room: str, valid_until: float) -> HostedRoom:
        """We have just taken the lease: host the room, restoring whoever a dead holder had.

        Called with the room's lock held; the room is visible to other requests only once
        it is restored (they wait for the lock)."""
        hosted = HostedRoom(
            room,
            self._room_factory(room),
            valid_until=valid_until,
            layer=self.layer,
            store=self._store,
            on_idle=lambda idle: self._spawn(self._release(idle)),
        )
        previous, members = await self._store.take_over(room)
        await hosted.restore(previous, members)
        self._rooms[room] = hosted
        return hosted

    async def _release(self, hosted: HostedRoom) -> None:
        """The room is over here (empty or closed): close it and give up every key of it."""
        async with self._lock(hosted.room):
            if self._rooms.get(hosted.room) is not hosted:
                return
            if not hosted.idle() and not hosted.closing:
                return  # someone joined meanwhile
            del self._rooms[hosted.room]
            await hosted.close()
            await self._store.release(hosted.room, self.channel)
        self._forget_lock(hosted.room)

    async def _drop(self, room: str, why: str) -> None:
        """Fence: forget the room locally and leave Redis alone (someone else holds it)."""
        hosted = self._rooms.pop(room, None)
        if hosted is not None:
            logger.warning("room %s dropped: %s", room, why)
            await hosted.close()

    # --- requests --------------------------------------------------------------------------

    async def _dispatch(self, message: Any, *, shared: bool) -> None:
        if not isinstance(message, dict) or message.get("type") != REQUEST:
            logger.warning("media worker: ignoring %r", describe(message))
            return
        op = message.get("op")
        if op == "stats":
            await send(
                self.layer,
                message["reply_channel"],
                {"type": "media.stats", "worker": self.channel, "rooms": self.rooms()},
            )
            return
        room = message.get("room")
        if not isinstance(room, str) or not room or op not in OPS:
            logger.warning("media worker: malformed request %r", describe(message))
            return
        if shared:
            if float(message.get("expires") or 0) < time.time():
                logger.warning("media worker: claim for room %s expired before pick-up", room)
                return
            if not await self._store.first_delivery(str(message.get("id"))):
                return  # delivered twice by the shared channel
        if op == "adopt":
            await self._adopt(room)
        else:
            owner = await self._ensure(room, op)
            if isinstance(owner, HostedRoom):
                if op == "close":
                    owner.closing = True
                    await self._release(owner)
                else:
                    owner.enqueue(message)
            elif isinstance(owner, str):
                hops = int(message.get("hops") or 0)
                if hops >= MAX_FORWARDS:
                    logger.warning("room %s: %s dropped after %d forwards", room, op, hops)
                else:
                    await send(self.layer, owner, message | {"hops": hops + 1})
        ack = message.get("ack")
        if isinstance(ack, str) and ack:
            await self._store.acknowledge(ack, self.channel)

    def _spawn(self, coroutine: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)


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
