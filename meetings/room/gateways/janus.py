"""The media gateway for sittings on Janus: Django drives a VideoRoom for each of them.

The sitting's room is created when its first participant joins (``publishers`` sized to
the host's plan cap, random id, secret and pin, stored on the occurrence so that every
process uses the same room). Each participant gets a one-time Janus token, added through
the admin API and bound to their connection, a Janus session kept alive on it, and a
publisher and a subscriber handle (``janus_peer``). On leave the session is destroyed and
the token removed; a removal by the host kicks them first, so their media stops at once.
The host's mute is Janus's ``moderate`` of their microphone's stream; the end of the
sitting destroys the room.

When a participant's Janus session is lost (Janus restarted), every peer of the room is
dropped, the gateway waits for Janus to answer again, and each participant is told to
start over (the ``reset`` media signal): their browser reconnects through our websocket,
and the first join recreates the room with its stored id, secret and pin.

Each participant's Janus session lives in the web process that holds their websocket
(Janus does the media: no media worker is involved), so with several web processes a
removal decided elsewhere kicks by the id Janus knows them by (their participant id),
and their own process cleans up as their socket closes. If Janus stays down past
``RECOVERY_TIMEOUT`` the clients are told to start over anyway, and their joins fail
with ``MediaUnavailable`` (the reason goes to the participant) until it is back.

Recording on Janus is not built yet: the room refuses it before it gets here (the
snapshot's ``recording_control`` says so), and ``start_recording`` raises.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any, Protocol

from channels.layers import get_channel_layer

from meetings.janus.admin import JanusAdmin
from meetings.janus.client import VIDEOROOM, JanusClient
from meetings.janus.health import janus_health
from meetings.janus.transport import JanusError, JanusUnavailable
from meetings.janus.videoroom import KEEPALIVE_SECONDS, JanusRoom, VideoRoomControl

from .interface import MediaUnavailable, media_signal_event
from .janus_peer import JanusPeer

logger = logging.getLogger(__name__)

# How long a room waits for a restarted Janus before telling its clients to start over.
RECOVERY_TIMEOUT = 30.0
RECOVERY_POLL = 0.5
_FAILURES = (JanusError, JanusUnavailable)


class JanusRoomStore(Protocol):
    async def room(self, name: str) -> JanusRoom | None: ...

    async def claim(self, name: str, room: JanusRoom) -> JanusRoom:
        """Store ``room`` unless one is stored already; the one stored."""
        ...

    async def capacity(self, name: str) -> int: ...

    async def forget(self, name: str) -> None: ...


@dataclass
class _Connection:
    reply_channel: str
    peer: JanusPeer


class JanusMediaGateway:
    """``MediaGateway`` (and ``ModeratedGateway``) for sittings that run on Janus."""

    def __init__(
        self,
        *,
        client: JanusClient | None = None,
        admin: JanusAdmin | None = None,
        store: JanusRoomStore | None = None,
        keepalive: float = KEEPALIVE_SECONDS,
    ) -> None:
        if store is None:
            from meetings.room.engine import SittingRooms

            store = SittingRooms()
        self.client = client or JanusClient.from_settings()
        self.admin = admin or JanusAdmin.from_settings()
        self.store = store
        self.keepalive = keepalive
        self._control: VideoRoomControl | None = None
        self._control_lock = asyncio.Lock()
        self._rooms: dict[str, JanusRoom] = {}
        self._connections: dict[str, dict[str, _Connection]] = {}
        self._room_locks: dict[str, asyncio.Lock] = {}
        self._recovering: dict[str, asyncio.Task[None]] = {}

    # --- the MediaGateway interface ------------------------------------------------------

    async def join(self, *, room: str, peer_id: str, reply_channel: str) -> None:
        layer = get_channel_layer()

        async def deliver(signal: dict[str, Any]) -> None:
            await layer.send(reply_channel, media_signal_event(signal))

        previous = self._connections.get(room, {}).pop(peer_id, None)
        if previous is not None:
            await self._drop(room, previous.peer)  # a reconnect starts a fresh session
        try:
            janus_room = await self._room(room)
            token = secrets.token_urlsafe(24)
            await self.admin.add_token(token, [VIDEOROOM])
        except _FAILURES as exc:
            raise MediaUnavailable(f"The media server is not reachable: {exc}") from exc
        try:
            session = await self.client.create_session(token)
            session.keep_alive(self.keepalive)
            peer = JanusPeer(
                peer_id=peer_id,
                room=janus_room,
                session=session,
                deliver=deliver,
                on_lost=lambda lost: self._lost(room, lost),
            )
            self._connections.setdefault(room, {})[peer_id] = _Connection(reply_channel, peer)
            await peer.open()
        except BaseException as exc:
            self._connections.get(room, {}).pop(peer_id, None)
            with contextlib.suppress(*_FAILURES):
                await self.admin.remove_token(token)
            if isinstance(exc, _FAILURES):
                raise MediaUnavailable(f"The media server refused the connection: {exc}") from exc
            raise

    async def signal(self, *, room: str, peer_id: str, message: dict[str, Any]) -> None:
        connection = self._connections.get(room, {}).get(peer_id)
        if connection is not None:
            await connection.peer.handle(message)

    async def leave(self, *, room: str, peer_id: str, reply_channel: str | None = None) -> None:
        """Without ``reply_channel`` (a removal) the participant is kicked from Janus first."""
        connections = self._connections.get(room, {})
        connection = connections.get(peer_id)
        if connection is None:
            if reply_channel is None:
                await self._kick_elsewhere(room, peer_id)
            return
        if reply_channel is not None and connection.reply_channel != reply_channel:
            return  # an older connection's leave: its successor stays
        del connections[peer_id]
        await self._drop(room, connection.peer, kick=reply_channel is None)

    async def close_room(self, *, room: str) -> None:
        """The sitting ended: everyone's session goes and the Janus room is destroyed."""
        for connection in list(self._connections.pop(room, {}).values()):
            await self._drop(room, connection.peer)
        janus_room = self._rooms.pop(room, None) or await self.store.room(room)
        if janus_room is not None:
            await self._with_control(lambda control: control.destroy_room(janus_room))
            await self.store.forget(room)

    async def start_recording(
        self, *, room: str, recording_id: str, directory: str, consented: list[str]
    ) -> None:
        raise MediaUnavailable("Recording is not yet available in large rooms.")

    async def recording_consent(
        self, *, room: str, recording_id: str, peer_id: str, accepted: bool
    ) -> None:
        return None  # no recording can run on Janus (start_recording refuses)

    async def stop_recording(self, *, room: str, recording_id: str) -> None:
        return None  # as above: nothing was started

    # --- moderation ---------------------------------------------------------------------

    async def mute(self, *, room: str, peer_id: str, muted: bool) -> None:
        """Stop (or let through again) the participant's microphone at Janus."""
        connection = self._connections.get(room, {}).get(peer_id)
        janus_room = self._rooms.get(room)
        if connection is None or janus_room is None:
            return
        peer = connection.peer
        mid = peer.mid_of("mic")
        if mid is None or not peer.participant_id:
            return
        await self._with_control(
            lambda control: control.moderate(janus_room, peer.participant_id, mid, muted)
        )

    # --- for tests and the server's shutdown -------------------------------------------

    def rooms(self) -> dict[str, JanusRoom]:
        return dict(self._rooms)

    def peer(self, room: str, peer_id: str) -> JanusPeer | None:
        connection = self._connections.get(room, {}).get(peer_id)
        return connection.peer if connection is not None else None

    async def aclose(self) -> None:
        for task in self._recovering.values():
            task.cancel()
        for room in list(self._connections):
            for connection in list(self._connections.pop(room).values()):
                await self._drop(room, connection.peer)
        if self._control is not None:
            with contextlib.suppress(*_FAILURES):
                await self._control.close()
            self._control = None
        await self.client.close()
        await self.admin.close()

    # --- internals ----------------------------------------------------------------------

    async def _room(self, name: str) -> JanusRoom:
        lock = self._room_locks.setdefault(name, asyncio.Lock())
        async with lock:
            if name in self._rooms:
                return self._rooms[name]
            stored = await self.store.room(name)
            if stored is None:
                publishers = await self.store.capacity(name)
                created = await self._with_control(
                    lambda control: control.create_room(publishers=publishers)
                )
                stored = await self.store.claim(name, created)
                if stored != created:  # another process created the sitting's room first
                    await self._with_control(lambda control: control.destroy_room(created))
            else:
                room = stored
                if not await self._with_control(lambda control: control.exists(room.room_id)):
                    await self._with_control(lambda control: control.recreate_room(room))
            self._rooms[name] = stored
            return stored

    async def _control_now(self) -> VideoRoomControl:
        async with self._control_lock:
            control = self._control
            if control is None or control.session.closed or control.session.lost.is_set():
                if control is not None:
                    with contextlib.suppress(*_FAILURES):
                        await control.close()
                self._control = await VideoRoomControl.open(
                    self.client, self.admin, keepalive=self.keepalive
                )
            assert self._control is not None
            return self._control

    async def _with_control(self, action: Any) -> Any:
        """Run ``action(control)``; once more on a fresh control session if Janus lost ours."""
        control = await self._control_now()
        try:
            return await action(control)
        except (JanusUnavailable, JanusError) as exc:
            if isinstance(exc, JanusError) and exc.code not in (403, 458, 459):
                raise
            control.session.lost.set()
        return await action(await self._control_now())

    async def _drop(self, room: str, peer: JanusPeer, *, kick: bool = False) -> None:
        janus_room = self._rooms.get(room)
        if kick and janus_room is not None and peer.participant_id:
            # Hangs their connections up at once; the session goes next.
            with contextlib.suppress(*_FAILURES):
                await self._with_control(
                    lambda control: control.kick(janus_room, peer.participant_id)
                )
        await peer.close()
        with contextlib.suppress(*_FAILURES):
            await self.admin.remove_token(peer.token)

    async def _kick_elsewhere(self, room: str, peer_id: str) -> None:
        """A removal decided in a process that does not hold the participant's session
        (a page, the API, another web process): kick them by the id Janus knows them by.
        Their own process then closes their session and token as their socket closes."""
        janus_room = self._rooms.get(room) or await self.store.room(room)
        if janus_room is None:
            return
        with contextlib.suppress(*_FAILURES):
            listed = await self._with_control(lambda control: control.list_participants(janus_room))
            for participant in listed:
                if participant.display == peer_id:
                    await self._with_control(
                        lambda control, pid=participant.participant_id: control.kick(
                            janus_room, pid
                        )
                    )

    async def _lost(self, room: str, peer: JanusPeer) -> None:
        connection = self._connections.get(room, {}).get(peer.peer_id)
        if connection is None or connection.peer is not peer:
            return
        if room not in self._recovering or self._recovering[room].done():
            self._recovering[room] = asyncio.create_task(self._recover(room))

    async def _recover(self, room: str) -> None:
        """Janus lost a session of this room: if it lost the room too (a restart), drop
        every peer, wait for Janus, and have every client start over; else only that one."""
        deadline = time.monotonic() + RECOVERY_TIMEOUT
        janus_room = self._rooms.get(room)
        room_alive = False
        with contextlib.suppress(*_FAILURES):
            if janus_room is not None:
                control = await self._control_now()
                room_alive = await control.exists(janus_room.room_id)
        connections = self._connections.get(room, {})
        lost = [
            (peer_id, connection)
            for peer_id, connection in connections.items()
            if not room_alive or connection.peer.session.lost.is_set()
        ]
        for peer_id, connection in lost:
            connections.pop(peer_id, None)
            await connection.peer.close()
        if not room_alive:
            self._rooms.pop(room, None)
            while time.monotonic() < deadline and not (await janus_health(self.admin)).up:
                await asyncio.sleep(RECOVERY_POLL)
        layer = get_channel_layer()
        for _peer_id, connection in lost:
            logger.warning("room %s: Janus lost a session; its client starts over", room)
            await layer.send(connection.reply_channel, media_signal_event({"type": "reset"}))
