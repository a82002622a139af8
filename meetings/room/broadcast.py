"""Sending to the room's connections through the channel layer.

Three groups per occurrence: ``room.<pk>`` (every connection), ``room.<pk>.hosts`` (the
hosts' connections) and ``room.<pk>.p.<participant id>`` (every connection of one
participant: direct messages, and the notice that a newer connection replaced it).

Only ``effects.carry_out`` sends room events: actions reach the room through it.

Room-wide events carry ``seq`` from ``sequence.next_seq``. Within one process the number
is drawn and the event handed to the layer under one lock per room, so they leave in
order; across processes two events may still cross on the way, and Redis may drop some
under load (a client that sees a gap asks for a resync).
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator
from typing import Any

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer

from .auth import Member
from .sequence import next_seq

# Channel-layer event types; the consumer's handlers are named after them.
ROOM_EVENT = "room.event"
HOSTS_EVENT = "room.hosts"
DIRECT_EVENT = "room.direct"


def room_group(occurrence_id: int) -> str:
    return f"room.{occurrence_id}"


def hosts_group(occurrence_id: int) -> str:
    return f"room.{occurrence_id}.hosts"


def participant_group(occurrence_id: int, participant_id: str) -> str:
    return f"room.{occurrence_id}.p.{participant_id}"


def groups_of(member: Member) -> list[str]:
    groups = [room_group(member.occurrence_id), participant_group(member.occurrence_id, member.id)]
    if member.is_host:
        groups.append(hosts_group(member.occurrence_id))
    return groups


class _RoomLock:
    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0


# asyncio locks belong to one event loop (async_to_sync may run on another).
_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[int, _RoomLock]] = (
    weakref.WeakKeyDictionary()
)


@contextlib.asynccontextmanager
async def _in_order(occurrence_id: int) -> AsyncIterator[None]:
    locks = _locks.setdefault(asyncio.get_running_loop(), {})
    entry = locks.setdefault(occurrence_id, _RoomLock())
    entry.users += 1
    try:
        async with entry.lock:
            yield
    finally:
        entry.users -= 1
        if entry.users == 0 and locks.get(occurrence_id) is entry:
            del locks[occurrence_id]


async def send_room_event(
    occurrence_id: int, message: dict[str, Any], *, close: int | None = None
) -> dict[str, Any]:
    """Number the event and send it to everyone in the room; returns the message sent."""
    layer = get_channel_layer()
    draw = sync_to_async(next_seq, thread_sensitive=False)
    async with _in_order(occurrence_id):
        numbered = message | {"seq": await draw(occurrence_id=occurrence_id)}
        await layer.group_send(
            room_group(occurrence_id), {"type": ROOM_EVENT, "message": numbered, "close": close}
        )
    return numbered


async def send_to_hosts(occurrence_id: int, message: dict[str, Any]) -> None:
    """An unsequenced message for the hosts' connections only."""
    await get_channel_layer().group_send(
        hosts_group(occurrence_id), {"type": HOSTS_EVENT, "message": message}
    )


async def send_direct(
    occurrence_id: int, participant_id: str, message: dict[str, Any], *, close: int | None = None
) -> None:
    """A message for every connection of one participant, then a close if ``close``."""
    await get_channel_layer().group_send(
        participant_group(occurrence_id, participant_id),
        {"type": DIRECT_EVENT, "message": message, "close": close, "replaced_by": None},
    )


async def replace_connections(member: Member, *, by: str) -> None:
    """Tell the member's older connections that the connection ``by`` replaces them.

    Sent before ``by`` joins the participant's group, so only the older ones hear it.
    """
    await get_channel_layer().group_send(
        participant_group(member.occurrence_id, member.id),
        {"type": DIRECT_EVENT, "message": None, "close": None, "replaced_by": by},
    )
