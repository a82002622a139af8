"""Sending to the room's connections through the channel layer.

Three groups per occurrence: ``room.<pk>`` (every connection), ``room.<pk>.hosts`` (the
hosts' connections) and ``room.<pk>.p.<participant id>`` (every connection of one
participant: direct messages, and the notice that a newer connection replaced it).

Room-wide events carry ``seq`` from ``state.next_seq``. Within one process the number is
drawn and the event handed to the layer under one lock per room, so they leave in order;
across processes two events may still cross on the way, and Redis may drop some under load
(a client that sees a gap asks for a resync). Async helpers for consumers; the ``_sync``
flavours for views and tasks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import AsyncIterator
from functools import partial
from typing import Any

from asgiref.sync import async_to_sync, sync_to_async
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.db import transaction

from meetings import time_limit

from . import state
from .protocol import CLOSE_ENDED

logger = logging.getLogger(__name__)

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


def groups_of(member: state.Member) -> list[str]:
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


async def send_room_event(occurrence_id: int, event: state.RoomEvent) -> dict[str, Any]:
    """Number the event and send it to everyone in the room; returns the message sent."""
    layer = get_channel_layer()
    next_seq = sync_to_async(state.next_seq, thread_sensitive=False)
    async with _in_order(occurrence_id):
        message = event.message | {"seq": await next_seq(occurrence_id=occurrence_id)}
        await layer.group_send(
            room_group(occurrence_id),
            {"type": ROOM_EVENT, "message": message, "close": event.close},
        )
    return message


def send_room_event_sync(occurrence_id: int, event: state.RoomEvent) -> dict[str, Any]:
    return async_to_sync(send_room_event)(occurrence_id, event)


async def send_to_hosts(occurrence_id: int, message: dict[str, Any]) -> None:
    """An unsequenced message for the hosts' connections only."""
    await get_channel_layer().group_send(
        hosts_group(occurrence_id), {"type": HOSTS_EVENT, "message": message}
    )


def send_to_hosts_sync(occurrence_id: int, message: dict[str, Any]) -> None:
    async_to_sync(send_to_hosts)(occurrence_id, message)


def _lobby_message(waiting: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "lobby", "waiting": waiting}


async def send_lobby(occurrence_id: int) -> None:
    """The hosts get the lobby's queue as it is now."""
    waiting = await database_sync_to_async(state.lobby_queue)(occurrence_id=occurrence_id)
    await send_to_hosts(occurrence_id, _lobby_message(waiting))


def send_lobby_sync(occurrence_id: int) -> None:
    send_to_hosts_sync(
        occurrence_id, _lobby_message(state.lobby_queue(occurrence_id=occurrence_id))
    )


def _send_lobby_logged(occurrence_id: int) -> None:
    try:
        send_lobby_sync(occurrence_id)
    except Exception:
        # The join itself succeeded; the hosts see the queue on their next snapshot.
        logger.exception("could not tell the hosts of occurrence %s about the lobby", occurrence_id)


def announce_lobby_changed(*, occurrence_id: int) -> None:
    """For views: once the current transaction commits, send the hosts the lobby's queue."""
    transaction.on_commit(partial(_send_lobby_logged, occurrence_id))


def _end_room_logged(occurrence_id: int) -> None:
    try:
        send_room_event_sync(
            occurrence_id, state.RoomEvent({"type": "meeting_ended"}, close=CLOSE_ENDED)
        )
    except Exception:
        # Sessions are closed already; connected clients learn it from their next heartbeat.
        logger.exception("could not tell occurrence %s that it ended", occurrence_id)


def announce_meeting_ended(*, occurrence_id: int) -> None:
    """For views: once committed, tell everyone in the room and close their sockets."""
    transaction.on_commit(partial(_end_room_logged, occurrence_id))


def enforce_time_limits() -> int:
    """For the periodic task: warn or end every live sitting past a threshold of its plan's
    time limit (see ``meetings.time_limit``); returns how many messages went out.

    As with the end from a page, the media rooms close as the ended connections go, and a
    running recording is stopped by ``recordings.tasks.stop_abandoned_recordings``.
    """
    sent = 0
    for occurrence_id in time_limit.due_sittings():
        try:
            outcome = time_limit.check(occurrence_id=occurrence_id)
            for message in outcome.messages:
                close = CLOSE_ENDED if outcome.ended else None
                send_room_event_sync(occurrence_id, state.RoomEvent(message, close=close))
                sent += 1
        except Exception:
            # One sitting's failure must not starve the others; the next run tries again.
            logger.exception("enforcing the time limit of occurrence %s failed", occurrence_id)
    return sent


async def send_direct(
    occurrence_id: int, participant_id: str, message: dict[str, Any], *, close: int | None = None
) -> None:
    """A message for every connection of one participant, then a close if ``close``."""
    await get_channel_layer().group_send(
        participant_group(occurrence_id, participant_id),
        {"type": DIRECT_EVENT, "message": message, "close": close, "replaced_by": None},
    )


async def replace_connections(member: state.Member, *, by: str) -> None:
    """Tell the member's older connections that the connection ``by`` replaces them.

    Sent before ``by`` joins the participant's group, so only the older ones hear it.
    """
    await get_channel_layer().group_send(
        participant_group(member.occurrence_id, member.id),
        {"type": DIRECT_EVENT, "message": None, "close": None, "replaced_by": by},
    )
