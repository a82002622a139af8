"""The meeting room's websocket: one consumer per participant connection.

Thin on purpose: who may connect, the room's state and the host's controls live in
``state``; reaching other connections in ``broadcast``; the media server behind the gateway.
The messages and close codes are ``protocol``'s.

A closed socket is not a departure. The participant's media connection goes at once, but
the attendance session stays open and the room hears nothing: after a network blip the
browser reconnects within ``lobby.HEARTBEAT_TIMEOUT`` and the room hears
``participant_updated``. If no heartbeat comes back, the session closes as timed out (this
process checks shortly after the timeout; the periodic ``close_stale_sessions`` task does
it anyway) and the room hears ``participant_left`` with reason "disconnected". Leaving on
purpose, removal and the end of the meeting close the session at once and say so.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from meetings import lobby, time_limit
from meetings.media.sfu import SignalError
from recordings import services as recording_services

from . import broadcast, protocol, state
from .media_gateway import MediaGateway, get_gateway
from .protocol import ProtocolError

logger = logging.getLogger(__name__)

# Per connection: bursts of 40 messages, 20 a second sustained (media candidates count).
BUCKET_CAPACITY = 40
BUCKET_REFILL_PER_SECOND = 20.0
# Three dropped messages within ten seconds close the connection.
VIOLATIONS_TO_CLOSE = 3
VIOLATION_WINDOW_SECONDS = 10.0
# When to look whether a lost connection came back (a heartbeat is due every 15 s).
TIMEOUT_CHECK_DELAY_SECONDS = lobby.HEARTBEAT_TIMEOUT.total_seconds() + 5


@dataclass
class TokenBucket:
    capacity: float = BUCKET_CAPACITY
    refill_per_second: float = BUCKET_REFILL_PER_SECOND
    tokens: float = BUCKET_CAPACITY
    updated: float = field(default_factory=time.monotonic)

    def take(self) -> bool:
        now = time.monotonic()
        elapsed = now - self.updated
        self.tokens = min(self.capacity, self.tokens + elapsed * self.refill_per_second)
        self.updated = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


async def carry_out(effects: state.Effects, member: state.Member) -> None:
    """Do what a change in the room means for connections and media, in order."""
    occurrence_id = member.occurrence_id
    for direct in effects.direct:
        await broadcast.send_direct(
            occurrence_id, direct.participant_id, direct.message, close=direct.close
        )
    gateway = get_gateway()
    for participant_id in effects.leave_media:
        await gateway.leave(room=member.room, peer_id=participant_id)
    for command in effects.recording:
        await _carry_out_recording(gateway, member, command)
    for event in effects.events:
        await broadcast.send_room_event(occurrence_id, event)
    if effects.lobby_changed:
        await broadcast.send_lobby(occurrence_id)
    if effects.close_media_room:
        await gateway.close_room(room=member.room)


async def _carry_out_recording(
    gateway: MediaGateway, member: state.Member, command: state.RecordingCommand
) -> None:
    if command.action == "start":
        await gateway.start_recording(
            room=member.room,
            recording_id=command.recording_id,
            directory=command.directory,
            consented=list(command.consented),
        )
    elif command.action == "consent":
        await gateway.recording_consent(
            room=member.room,
            recording_id=command.recording_id,
            peer_id=command.participant_id,
            accepted=command.accepted,
        )
    else:
        # The media server closes its files first, then processing is enqueued.
        await gateway.stop_recording(room=member.room, recording_id=command.recording_id)
        stopped = await database_sync_to_async(recording_services.stop_recording_by_pk)(
            recording_pk=command.recording_pk
        )
        if stopped:
            await broadcast.send_room_event(
                member.occurrence_id, state.recording_stopped_event(command.recording_id)
            )


_timeout_checks: set[asyncio.Task[None]] = set()


async def _announce_if_timed_out(member: state.Member) -> None:
    try:
        effects = await database_sync_to_async(state.announce_if_timed_out)(member=member)
        await carry_out(effects, member)
    except Exception:
        logger.exception("checking whether participant %s timed out failed", member.id)


def _check_for_timeout_later(member: state.Member) -> None:
    loop = asyncio.get_running_loop()

    def start() -> None:
        task = loop.create_task(_announce_if_timed_out(member))
        _timeout_checks.add(task)
        task.add_done_callback(_timeout_checks.discard)

    loop.call_later(TIMEOUT_CHECK_DELAY_SECONDS, start)


async def _watch_time_limit(member: state.Member) -> None:
    """Warn and end the sitting on time (see ``meetings.time_limit``: every connection
    keeps one of these; the first to claim a threshold acts on it)."""
    while True:
        delay = await database_sync_to_async(time_limit.seconds_until_next)(
            occurrence_id=member.occurrence_id
        )
        if delay is None:
            return
        await asyncio.sleep(delay)
        try:
            effects = await database_sync_to_async(state.time_limit_effects)(
                occurrence_id=member.occurrence_id
            )
            await carry_out(effects, member)
        except Exception:
            # The periodic task is the backstop; a broken timer must not close the socket.
            logger.exception("time limit of occurrence %s", member.occurrence_id)
            return


def _query_param(scope: dict[str, Any], name: str) -> str | None:
    values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get(name)
    return values[0] if values else None


class RoomConsumer(AsyncJsonWebsocketConsumer):
    """``/ws/meetings/<join token>/?ticket=<ticket>``: see ``protocol`` for the messages."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.member: state.Member | None = None
        self.connection = 0  # see state.arrive
        self.closing = False  # closed by the server: ignore whatever still arrives
        self.session_over = False  # left, removed or ended: no reconnect to wait for
        self.bucket = TokenBucket()
        self.violations: deque[float] = deque()
        self.time_limit_timer: asyncio.Task[None] | None = None
        self.handlers: dict[str, Callable[[dict[str, Any]], Awaitable[None]]] = {
            "hello": self._on_snapshot_request,
            "resync": self._on_snapshot_request,
            "heartbeat": self._on_heartbeat,
            "chat": self._on_chat,
            "hand": self._on_hand,
            "media_state": self._on_media_state,
            "media": self._on_media,
            "host": self._on_host,
            "leave": self._on_leave,
            "recording": self._on_recording,
            "recording_consent": self._on_recording_consent,
        }

    # --- Connecting ------------------------------------------------------------------

    async def connect(self) -> None:
        # Accepted first, so that the browser sees the reason and the close code.
        await self.accept()
        try:
            member = await database_sync_to_async(state.authenticate)(
                token=self.scope["url_route"]["kwargs"]["token"],
                ticket=_query_param(self.scope, "ticket"),
                user=self.scope.get("user"),
            )
            arrival = await database_sync_to_async(state.arrive)(member=member)
        except state.NotAllowed as exc:
            await self._refuse(exc)
            return
        self.member, self.connection = member, arrival.connection
        await broadcast.replace_connections(member, by=self.channel_name)
        for group in broadcast.groups_of(member):
            await self.channel_layer.group_add(group, self.channel_name)
            self.groups.append(group)
        await self._send_snapshot()
        await carry_out(arrival.effects, member)
        await get_gateway().join(
            room=member.room, peer_id=member.id, reply_channel=self.channel_name
        )
        self.time_limit_timer = asyncio.create_task(_watch_time_limit(member))

    async def disconnect(self, code: int) -> None:
        if self.time_limit_timer is not None:
            self.time_limit_timer.cancel()
        member = self.member
        if member is None:
            return
        current = await database_sync_to_async(state.is_current_connection)(
            member=member, connection=self.connection
        )
        if not current:
            return  # a newer connection of the same participant took over its media
        await get_gateway().leave(room=member.room, peer_id=member.id)
        if not self.session_over:
            _check_for_timeout_later(member)

    async def _refuse(self, exc: state.NotAllowed) -> None:
        await self._close_with(exc.code, exc.message, protocol.CLOSE_NOT_ALLOWED)

    async def _close_with(self, code: str, message: str, close_code: int) -> None:
        self.closing = True
        await self.send_json(ProtocolError(code, message).as_message())
        await self.close(close_code)

    # --- From the browser ------------------------------------------------------------

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any
    ) -> None:
        if self.member is None or self.closing:
            return
        if not self.bucket.take():
            await self._over_the_limit()
            return
        try:
            message = protocol.decode(text_data)
            await self.handlers[message.type](message.data)
        except ProtocolError as exc:
            await self.send_json(exc.as_message())
        except state.NotAllowed as exc:
            await self._refuse(exc)

    async def _over_the_limit(self) -> None:
        now = time.monotonic()
        self.violations.append(now)
        while now - self.violations[0] > VIOLATION_WINDOW_SECONDS:
            self.violations.popleft()
        if len(self.violations) >= VIOLATIONS_TO_CLOSE:
            await self._close_with(
                "flooding",
                "Too many messages, too fast: this connection is closed.",
                protocol.CLOSE_FLOODING,
            )
            return
        await self.send_json(
            ProtocolError(
                "rate_limited", "Too many messages: this one was dropped. Slow down."
            ).as_message()
        )

    async def _carry_out(self, effects: state.Effects) -> None:
        assert self.member is not None
        await carry_out(effects, self.member)

    async def _on_snapshot_request(self, data: dict[str, Any]) -> None:
        await self._send_snapshot()

    async def _on_heartbeat(self, data: dict[str, Any]) -> None:
        await database_sync_to_async(state.heartbeat)(member=self.member)

    async def _on_chat(self, data: dict[str, Any]) -> None:
        assert self.member is not None
        await self._carry_out(state.chat(member=self.member, text=data["text"]))

    async def _on_hand(self, data: dict[str, Any]) -> None:
        effects = await database_sync_to_async(state.set_hand)(
            member=self.member, raised=data["raised"]
        )
        await self._carry_out(effects)

    async def _on_media_state(self, data: dict[str, Any]) -> None:
        effects = await database_sync_to_async(state.set_media_state)(
            member=self.member, changes=data
        )
        await self._carry_out(effects)

    async def _on_media(self, data: dict[str, Any]) -> None:
        assert self.member is not None
        try:
            await get_gateway().signal(
                room=self.member.room, peer_id=self.member.id, message=data["signal"]
            )
        except SignalError as exc:
            raise ProtocolError("invalid_signal", str(exc), "media") from exc

    async def _on_host(self, data: dict[str, Any]) -> None:
        effects = await database_sync_to_async(state.host_action)(
            member=self.member, action=data["action"], target=data.get("target")
        )
        await self._carry_out(effects)

    async def _on_recording(self, data: dict[str, Any]) -> None:
        effects = await database_sync_to_async(state.recording_action)(
            member=self.member, action=data["action"]
        )
        await self._carry_out(effects)

    async def _on_recording_consent(self, data: dict[str, Any]) -> None:
        effects = await database_sync_to_async(state.recording_consent)(
            member=self.member, recording_id=data["recording"], accepted=data["accepted"]
        )
        await self._carry_out(effects)

    async def _on_leave(self, data: dict[str, Any]) -> None:
        effects = await database_sync_to_async(state.leave)(member=self.member)
        self.closing = self.session_over = True
        await self._carry_out(effects)
        await self.close(1000)

    async def _send_snapshot(self) -> None:
        await self.send_json(await database_sync_to_async(state.snapshot)(member=self.member))

    # --- From the channel layer ------------------------------------------------------

    async def room_event(self, event: dict[str, Any]) -> None:
        """A sequenced room-wide event; some (the meeting ended) close every connection."""
        if self.closing:
            return
        await self.send_json(event["message"])
        if event.get("close"):
            self.closing = self.session_over = True
            await self.close(event["close"])

    async def room_hosts(self, event: dict[str, Any]) -> None:
        if not self.closing:
            await self.send_json(event["message"])

    async def room_direct(self, event: dict[str, Any]) -> None:
        """A message for this participant, or the notice that a newer connection of theirs
        replaced this one."""
        if self.closing:
            return
        replaced_by = event.get("replaced_by")
        if replaced_by:
            if replaced_by != self.channel_name:
                await self._close_with(
                    "replaced",
                    "You opened this meeting somewhere else, so this connection is closed.",
                    protocol.CLOSE_REPLACED,
                )
            return
        await self.send_json(event["message"])
        if event.get("close"):
            self.closing = self.session_over = True
            await self.close(event["close"])

    async def media_signal(self, event: dict[str, Any]) -> None:
        """The media server's answer, offer or track list for this participant."""
        if not self.closing:
            # The socket may have gone while the media server was answering.
            with contextlib.suppress(RuntimeError):
                await self.send_json({"type": "media", "signal": event["signal"]})
