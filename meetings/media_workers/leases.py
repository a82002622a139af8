"""The Redis side of media workers: who holds each room, who is in it, who is hosted.

Every Redis command of the media workers is here, for the web processes' gateway and for
the workers alike. Keys (``<p>`` is ``settings.MEDIA_WORKERS_KEY_PREFIX``, default
``media``)::

    <p>:lease:<room>     STRING  the holder's channel name, SET NX PX ttl      (the lease)
    <p>:members:<room>   HASH    peer_id -> reply_channel                     (gateways write)
    <p>:hosted:<room>    SET     peer_ids the holder has a connection for     (holder writes)
    <p>:rooms            SET     rooms some worker hosts or hosted            (holders write)
    <p>:worker:<channel> STRING  a live worker's heartbeat, PX ttl
    <p>:seen:<id>        STRING  de-duplicates requests taken from the shared channel
    <p>:ack:<id>         LIST    a claim's acknowledgement, for the waiting gateway

A lease is taken with ``SET NX PX`` (Redis decides between racing workers), renewed with a
compare-and-PEXPIRE and given up with compare-and-delete scripts, so a worker that lost its
lease can never extend or drop its successor's.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator, Collection, Iterable
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

DEFAULT_LEASE_TTL_SECONDS = 10.0
DEFAULT_CLAIM_TIMEOUT_SECONDS = 5.0
MEMBERS_TTL_SECONDS = 24 * 3600
SEEN_TTL_MS = 120_000
SWEEP_BATCH = 500

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
# KEYS[1] members; ARGV[1] peer_id, ARGV[2] reply_channel. A connection's leave drops the
# member only if it is still that connection (not a reconnected successor).
_LEAVE_IF_CONNECTION = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  return redis.call('HDEL', KEYS[1], ARGV[1])
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


def _text(value: str | bytes | None) -> str | None:
    """What redis-py returns (str with decode_responses, which our clients use)."""
    return value.decode() if isinstance(value, bytes) else value


class LeaseStore:
    """The keys above, for a web process's gateway or a worker (see the module docstring)."""

    def __init__(
        self, redis_url: str, *, keys: Keys | None = None, socket_timeout: float = 30.0
    ) -> None:
        self._redis = _RedisPerLoop(redis_url, socket_timeout=socket_timeout)
        self.keys = keys or Keys.from_settings()

    # --- what gateways do --------------------------------------------------------------

    async def holder(self, room: str) -> str | None:
        """The channel of the worker holding ``room``'s lease, if any."""
        return _text(await self._redis.get().get(self.keys.lease(room)))

    async def add_member(self, room: str, peer_id: str, reply_channel: str) -> None:
        members = self.keys.members(room)
        async with self._redis.get().pipeline(transaction=True) as pipe:
            pipe.hset(members, peer_id, reply_channel)
            pipe.expire(members, MEMBERS_TTL_SECONDS)
            await pipe.execute()

    async def remove_member(
        self, room: str, peer_id: str, *, reply_channel: str | None = None
    ) -> bool:
        """Drop the member; with ``reply_channel``, only while that is its connection."""
        members = self.keys.members(room)
        r = self._redis.get()
        if reply_channel is None:
            return bool(await r.hdel(members, peer_id))
        return bool(await r.eval(_LEAVE_IF_CONNECTION, 1, members, peer_id, reply_channel))

    async def forget_members(self, room: str) -> None:
        await self._redis.get().delete(self.keys.members(room))

    async def wait_for_ack(self, ack: str, timeout: float) -> bool:
        """Block until a worker acknowledges a claim; False after ``timeout`` seconds."""
        return await self._redis.get().blpop([ack], timeout=timeout) is not None

    # --- what workers do with leases ---------------------------------------------------

    async def claim(self, room: str, channel: str, ttl_ms: int) -> bool:
        return bool(await self._redis.get().set(self.keys.lease(room), channel, nx=True, px=ttl_ms))

    async def renew(self, room: str, channel: str, ttl_ms: int) -> bool:
        return bool(await self._redis.get().eval(_RENEW, 1, self.keys.lease(room), channel, ttl_ms))

    async def renew_all(self, rooms: Iterable[str], channel: str, ttl_ms: int) -> list[bool]:
        """Renew several leases in one round trip; one answer per room, in order."""
        async with self._redis.get().pipeline(transaction=False) as pipe:
            for room in rooms:
                pipe.eval(_RENEW, 1, self.keys.lease(room), channel, ttl_ms)
            return [bool(renewed) for renewed in await pipe.execute()]

    async def release(self, room: str, channel: str) -> bool:
        """The room is over: drop its lease, ``hosted`` set and ``rooms`` entry, if ours."""
        keys = self.keys
        released = await self._redis.get().eval(
            _RELEASE, 3, keys.lease(room), keys.hosted(room), keys.rooms, channel, room
        )
        return bool(released)

    async def hand_over(self, room: str, channel: str) -> bool:
        """Drop our lease but keep ``hosted`` and ``rooms`` for the next holder."""
        return bool(await self._redis.get().eval(_HAND_OVER, 1, self.keys.lease(room), channel))

    async def orphaned_rooms(self, skip: Collection[str]) -> AsyncIterator[list[str]]:
        """Rooms some worker hosted whose lease is gone, in shuffled batches."""
        r = self._redis.get()
        candidates = [name async for name in r.sscan_iter(self.keys.rooms, count=SWEEP_BATCH)]
        candidates = [name for name in candidates if name not in skip]
        random.shuffle(candidates)
        for start in range(0, len(candidates), SWEEP_BATCH):
            batch = candidates[start : start + SWEEP_BATCH]
            async with r.pipeline(transaction=False) as pipe:
                for name in batch:
                    pipe.exists(self.keys.lease(name))
                alive = await pipe.execute()
            yield [name for name, exists in zip(batch, alive, strict=True) if not exists]

    # --- what workers do with the rooms they host --------------------------------------

    async def take_over(self, room: str) -> tuple[set[str], dict[str, str]]:
        """List the room as hosted; who the previous holder hosted, and the members."""
        async with self._redis.get().pipeline(transaction=False) as pipe:
            pipe.sadd(self.keys.rooms, room)
            pipe.smembers(self.keys.hosted(room))
            pipe.hgetall(self.keys.members(room))
            _, previous, members = await pipe.execute()
        return set(previous), dict(members)

    async def replace_hosted(self, room: str, peer_ids: Collection[str]) -> None:
        hosted = self.keys.hosted(room)
        async with self._redis.get().pipeline(transaction=True) as pipe:
            pipe.delete(hosted)
            if peer_ids:
                pipe.sadd(hosted, *peer_ids)
            await pipe.execute()

    async def add_hosted(self, room: str, peer_id: str) -> None:
        await self._redis.get().sadd(self.keys.hosted(room), peer_id)

    async def remove_hosted(self, room: str, peer_id: str) -> None:
        await self._redis.get().srem(self.keys.hosted(room), peer_id)

    async def member_channel(self, room: str, peer_id: str) -> str | None:
        """The reply channel a gateway joined ``peer_id`` with, if it is a member."""
        return _text(await self._redis.get().hget(self.keys.members(room), peer_id))

    # --- worker presence and request bookkeeping ----------------------------------------

    async def heartbeat(self, channel: str, info: dict[str, Any], ttl_ms: int) -> None:
        await self._redis.get().set(self.keys.worker(channel), json.dumps(info), px=ttl_ms)

    async def forget_worker(self, channel: str) -> None:
        await self._redis.get().delete(self.keys.worker(channel))

    async def first_delivery(self, request_id: str) -> bool:
        """True the first time a request id is seen (the shared channel may deliver twice)."""
        return bool(
            await self._redis.get().set(self.keys.seen(request_id), 1, nx=True, px=SEEN_TTL_MS)
        )

    async def acknowledge(self, ack: str, channel: str) -> None:
        async with self._redis.get().pipeline(transaction=False) as pipe:
            pipe.rpush(ack, channel)
            pipe.pexpire(ack, SEEN_TTL_MS)
            await pipe.execute()
