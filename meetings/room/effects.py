"""What a room action means outside the database, carried out once it commits.

An action (``actions.py``) writes, then hands ``queue`` the ``Effects`` of its write:
messages for the room and for single participants (with the documented close codes) and
commands for the media server. ``queue`` runs them on commit, so a rolled-back write
announces nothing, and whichever door called the action (socket, page, API, task) the
same things happen. Delivery is best-effort, as fan-out on Redis is: a failure is logged,
and clients that miss an event see the gap in ``seq`` and resync.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial
from typing import Any

from asgiref.sync import async_to_sync, sync_to_async
from django.db import transaction

from recordings import services as recording_services

from . import broadcast
from .media_gateway import ModeratedGateway, get_gateway

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RoomEvent:
    """A room-wide event; it gets its ``seq`` when it is sent. ``close`` closes every
    connection that receives it, with that code, right after the message."""

    message: dict[str, Any]
    close: int | None = None


@dataclass(frozen=True)
class Direct:
    """A message for every connection of one participant, then a close with ``close``."""

    participant_id: str
    message: dict[str, Any]
    close: int | None = None


@dataclass(frozen=True)
class MediaCommand:
    """What the media server must do: ``leave`` (drop a peer and its tracks), ``mute``
    (silence the peer's microphone at the media server, or with ``muted`` False let it
    through again: Janus only, elsewhere the muted client mutes itself),
    ``start_recording``, ``recording_consent`` or ``stop_recording`` (then the recording
    goes to processing, once the media server has closed its files, or failed to)."""

    op: str
    peer_id: str = ""
    recording_id: str = ""
    recording_pk: int = 0
    directory: str = ""
    consented: tuple[str, ...] = ()
    accepted: bool = False
    muted: bool = False


@dataclass(frozen=True)
class Effects:
    """Carried out in this order: direct messages, room events, the hosts' lobby queue,
    media commands, and last the media room's close."""

    occurrence_id: int
    room: str  # the media room's name: the occurrence's public id
    direct: tuple[Direct, ...] = ()
    media: tuple[MediaCommand, ...] = ()
    events: tuple[RoomEvent, ...] = ()
    lobby_changed: bool = False
    close_media_room: bool = False


def queue(effects: Effects) -> None:
    """Carry ``effects`` out once the current transaction commits (at once outside one)."""
    transaction.on_commit(partial(deliver, effects))


def deliver(effects: Effects) -> None:
    """Synchronous entry: reads what must be read now, then sends (from a worker thread of
    the server this runs on its event loop, beside the sockets and the local media rooms)."""
    from .snapshot import lobby_queue

    try:
        waiting = (
            lobby_queue(occurrence_id=effects.occurrence_id) if effects.lobby_changed else None
        )
        async_to_sync(carry_out)(effects, waiting)
    except Exception:
        # The write stands; clients catch up from their next snapshot.
        logger.exception("carrying out the room effects of occurrence %s", effects.occurrence_id)


async def carry_out(effects: Effects, waiting: list[dict[str, Any]] | None = None) -> None:
    occurrence_id = effects.occurrence_id
    for direct in effects.direct:
        await broadcast.send_direct(
            occurrence_id, direct.participant_id, direct.message, close=direct.close
        )
    # The room is told first: the media server may take seconds (closing a recording's
    # files), and a socket must not learn of an end from a refused heartbeat meanwhile.
    for event in effects.events:
        await broadcast.send_room_event(occurrence_id, event.message, close=event.close)
    if waiting is not None:
        await broadcast.send_to_hosts(occurrence_id, {"type": "lobby", "waiting": waiting})
    for command in effects.media:
        try:
            await _apply_media(effects.room, command)
        except Exception:
            # The media server going away must not undo what the room was told.
            logger.exception("media command %s in room %s", command.op, effects.room)
    if effects.close_media_room:
        try:
            await get_gateway().close_room(room=effects.room)
        except Exception:
            logger.exception("closing media room %s", effects.room)


async def _apply_media(room: str, command: MediaCommand) -> None:
    gateway = get_gateway()
    if command.op == "leave":
        await gateway.leave(room=room, peer_id=command.peer_id)
    elif command.op == "mute":
        if isinstance(gateway, ModeratedGateway):
            await gateway.mute(room=room, peer_id=command.peer_id, muted=command.muted)
    elif command.op == "start_recording":
        await gateway.start_recording(
            room=room,
            recording_id=command.recording_id,
            directory=command.directory,
            consented=list(command.consented),
        )
    elif command.op == "recording_consent":
        await gateway.recording_consent(
            room=room,
            recording_id=command.recording_id,
            peer_id=command.peer_id,
            accepted=command.accepted,
        )
    elif command.op == "stop_recording":
        try:
            await gateway.stop_recording(room=room, recording_id=command.recording_id)
        finally:
            await sync_to_async(recording_services.dispatch_processing)(
                recording_id=command.recording_pk
            )
    else:
        raise ValueError(f"unknown media command {command.op!r}")
