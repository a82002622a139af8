"""The meeting room's websocket: one consumer per participant connection.

Thin on purpose: who may connect is ``auth``'s, what the room shows ``snapshot``'s, every
change ``actions``' (which also tell the room and the media server), the budgets
``budget``'s; the messages and close codes are ``protocol``'s.

A closed socket is not a departure. The participant's media connection goes at once, but
the attendance session stays open and the room hears nothing: after a network blip the
browser reconnects within ``lobby.HEARTBEAT_TIMEOUT`` and the room hears
``participant_updated``. If no heartbeat comes back the session is closed as timed out,
and the room hears ``participant_left`` ("disconnected"), by whichever comes first: this
process's check shortly after the timeout, the watchdog of any other connection in the
sitting (every ``WATCH_INTERVAL_SECONDS``), or the periodic task.

The server enforces the heartbeat: a socket that stays open but goes silent, or whose
session some other door closed, is closed with 4001 within one watch interval, and
meanwhile chat and host actions re-check the session.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from meetings import lobby, time_limit
from meetings.media.sfu import SignalError

from . import auth, broadcast, budget, engine, presence, protocol, snapshot
from .actions import ActionRefused, Actor, moderation, participant, recording
from .actions import lobby as lobby_actions
from .gateways.interface import MediaUnavailable
from .media_gateway import get_gateway
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
# How often a connection checks its own heartbeat deadline and its session, and sweeps
# its sitting for silent sessions (once per sitting per interval): the heartbeat interval.
WATCH_INTERVAL_SECONDS = 15.0


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


_background: set[asyncio.Task[None]] = set()


def _spawn_later(delay: float, coroutine: Callable[[], Coroutine[Any, Any, None]]) -> None:
    loop = asyncio.get_running_loop()

    def start() -> None:
        task = loop.create_task(coroutine())
        _background.add(task)
        task.add_done_callback(_background.discard)

    loop.call_later(delay, start)


async def _close_stale(occurrence_id: int) -> None:
    try:
        await database_sync_to_async(participant.close_stale_sessions)(occurrence_id=occurrence_id)
    except Exception:
        logger.exception("closing the silent sessions of occurrence %s failed", occurrence_id)


async def _watch_time_limit(member: auth.Member) -> None:
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
            await database_sync_to_async(moderation.enforce_time_limit)(
                occurrence_id=member.occurrence_id, by=Actor.system(door="room")
            )
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
        self.member: auth.Member | None = None
        self.actor: Actor | None = None
        self.closing = False  # closed by the server: ignore whatever still arrives
        self.session_over = False  # left, removed or ended: no reconnect to wait for
        self.last_heartbeat = time.monotonic()
        self.bucket = TokenBucket()
        self.violations: deque[float] = deque()
        self.timers: list[asyncio.Task[None]] = []
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

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        # A channel layer that fails (Redis restarting) ends the application without a
        # disconnect: the server closes the socket and the browser reconnects. Our timers
        # and the media peer must not outlive it.
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self._cleanup()

    # --- Connecting ------------------------------------------------------------------

    async def connect(self) -> None:
        # Accepted first, so that the browser sees the reason and the close code.
        await self.accept()
        try:
            member = await database_sync_to_async(auth.authenticate)(
                token=self.scope["url_route"]["kwargs"]["token"],
                ticket=_query_param(self.scope, "ticket"),
                user=self.scope.get("user"),
            )
            if not await sync_to_async(budget.take_connection, thread_sensitive=False)(
                session_id=member.session_id
            ):
                await self._close_with(
                    "flooding",
                    "Reconnecting too often: wait a few seconds, then open the meeting again.",
                    protocol.CLOSE_FLOODING,
                )
                return
            arrival = await database_sync_to_async(presence.arrive)(member=member)
        except auth.NotAllowed as exc:
            await self._refuse(exc)
            return
        self.member = member
        self.actor = Actor.in_room(member)
        await broadcast.replace_connections(member, by=self.channel_name)
        for group in broadcast.groups_of(member):
            await self.channel_layer.group_add(group, self.channel_name)
            self.groups.append(group)
        # The engine first: the snapshot tells the client which one its media speaks to.
        choice = await engine.settle_engine(occurrence_id=member.occurrence_id)
        await self._send_snapshot()
        await database_sync_to_async(presence.announce)(member=member, arrival=arrival)
        if choice.notice:
            notice = ProtocolError("media_unavailable", choice.notice).as_message()
            await broadcast.send_to_hosts(member.occurrence_id, notice)
        if choice.engine is not None:
            await self._join_media(member)
        self.timers = [
            asyncio.create_task(_watch_time_limit(member)),
            asyncio.create_task(self._watch()),
        ]

    async def _join_media(self, member: auth.Member) -> None:
        try:
            await get_gateway().join(
                room=member.room, peer_id=member.id, reply_channel=self.channel_name
            )
        except MediaUnavailable as exc:
            # The room goes on without this participant's media; they are told why.
            logger.warning("media of participant %s: %s", member.id, exc)
            await self.send_json(ProtocolError("media_unavailable", str(exc)).as_message())

    async def disconnect(self, code: int) -> None:
        await self._cleanup()

    async def _cleanup(self) -> None:
        """Once per connection, however it ended: stop the timers, drop this connection's
        media, and look later whether the participant came back."""
        for timer in self.timers:
            timer.cancel()
        member, self.member = self.member, None
        if member is None:
            return
        occurrence_id = member.occurrence_id
        if not self.session_over:
            _spawn_later(TIMEOUT_CHECK_DELAY_SECONDS, lambda: _close_stale(occurrence_id))
        try:
            # Keyed by this connection: a late close cannot take its successor's media.
            await get_gateway().leave(
                room=member.room, peer_id=member.id, reply_channel=self.channel_name
            )
        except Exception:
            logger.exception("leaving the media room of participant %s", member.id)

    async def _refuse(self, exc: auth.NotAllowed) -> None:
        self.session_over = True
        await self._close_with(exc.code, exc.message, exc.close_code)

    async def _close_with(self, code: str, message: str, close_code: int) -> None:
        if self.closing:
            return
        self.closing = True
        with contextlib.suppress(RuntimeError):  # the socket may be gone already
            await self.send_json(ProtocolError(code, message).as_message())
            await self.close(close_code)

    async def _watch(self) -> None:
        """The server's side of the heartbeat: a silent socket, or one whose session is
        closed, is closed; and silent sessions in the sitting are closed and announced."""
        assert self.member is not None
        member = self.member
        timeout = lobby.HEARTBEAT_TIMEOUT.total_seconds()
        while not self.closing:
            await asyncio.sleep(WATCH_INTERVAL_SECONDS)
            try:
                due = await sync_to_async(presence.sweep_due, thread_sensitive=False)(
                    occurrence_id=member.occurrence_id, every_seconds=WATCH_INTERVAL_SECONDS
                )
                silent = time.monotonic() - self.last_heartbeat > timeout
                if due or silent:
                    await _close_stale(member.occurrence_id)
                if silent or not await database_sync_to_async(auth.is_admitted)(
                    session_id=member.session_id
                ):
                    refusal = await database_sync_to_async(auth.closed_session)(
                        session_id=member.session_id
                    )
                    await self._refuse(refusal)
                    return
            except Exception:
                logger.exception("watching the connection of participant %s", member.id)

    # --- From the browser ------------------------------------------------------------

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any
    ) -> None:
        if self.member is None or self.closing:
            return
        within_budget = await sync_to_async(budget.take_message, thread_sensitive=False)(
            session_id=self.member.session_id
        )
        if not (self.bucket.take() and within_budget):
            await self._over_the_limit()
            return
        message = None
        try:
            message = protocol.decode(text_data)
            await self.handlers[message.type](message.data)
        except ProtocolError as exc:
            await self.send_json(exc.as_message())
        except ActionRefused as exc:
            reply_to = message.type if message is not None else None
            await self.send_json(ProtocolError(exc.code, exc.message, reply_to).as_message())
        except auth.NotAllowed as exc:
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

    async def _on_snapshot_request(self, data: dict[str, Any]) -> None:
        await self._send_snapshot()

    async def _on_heartbeat(self, data: dict[str, Any]) -> None:
        await database_sync_to_async(presence.heartbeat)(member=self.member)
        self.last_heartbeat = time.monotonic()

    async def _on_chat(self, data: dict[str, Any]) -> None:
        await database_sync_to_async(participant.chat)(member=self.member, text=data["text"])

    async def _on_hand(self, data: dict[str, Any]) -> None:
        await database_sync_to_async(participant.set_hand)(
            member=self.member, raised=data["raised"]
        )

    async def _on_media_state(self, data: dict[str, Any]) -> None:
        await database_sync_to_async(participant.set_media_state)(member=self.member, changes=data)

    async def _on_media(self, data: dict[str, Any]) -> None:
        assert self.member is not None
        try:
            await get_gateway().signal(
                room=self.member.room, peer_id=self.member.id, message=data["signal"]
            )
        except SignalError as exc:
            raise ProtocolError("invalid_signal", str(exc), "media") from exc

    async def _on_host(self, data: dict[str, Any]) -> None:
        assert self.member is not None and self.actor is not None
        if not self.member.is_host:
            raise ProtocolError("not_host", "Only the host can do that.", "host")
        await database_sync_to_async(_host_action)(
            occurrence_id=self.member.occurrence_id, by=self.actor, data=data
        )

    async def _on_recording(self, data: dict[str, Any]) -> None:
        assert self.member is not None
        if not self.member.is_host:
            raise ProtocolError(
                "not_host", "Only the host can start or stop recording.", "recording"
            )
        act = recording.start if data["action"] == "start" else recording.stop
        await database_sync_to_async(act)(occurrence_id=self.member.occurrence_id, by=self.actor)

    async def _on_recording_consent(self, data: dict[str, Any]) -> None:
        await database_sync_to_async(recording.consent)(
            member=self.member, recording_id=data["recording"], accepted=data["accepted"]
        )

    async def _on_leave(self, data: dict[str, Any]) -> None:
        assert self.member is not None
        self.closing = self.session_over = True
        await database_sync_to_async(participant.leave)(session_id=self.member.session_id)
        await self.close(1000)

    async def _send_snapshot(self) -> None:
        await self.send_json(await database_sync_to_async(snapshot.snapshot)(member=self.member))

    # --- From the channel layer ------------------------------------------------------

    async def room_event(self, event: dict[str, Any]) -> None:
        """A sequenced room-wide event; some (the meeting ended) close every connection."""
        if self.closing:
            return
        # The socket may have closed after this event was sent to its group.
        with contextlib.suppress(RuntimeError):
            await self.send_json(event["message"])
        if event.get("close"):
            self.closing = self.session_over = True
            with contextlib.suppress(RuntimeError):
                await self.close(event["close"])

    async def room_hosts(self, event: dict[str, Any]) -> None:
        if not self.closing:
            with contextlib.suppress(RuntimeError):  # the socket may have just closed
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
        with contextlib.suppress(RuntimeError):  # the socket may have just closed
            await self.send_json(event["message"])
        if event.get("close"):
            self.closing = self.session_over = True
            with contextlib.suppress(RuntimeError):
                await self.close(event["close"])

    async def media_signal(self, event: dict[str, Any]) -> None:
        """The media server's answer, offer or track list for this participant."""
        if not self.closing:
            # The socket may have gone while the media server was answering.
            with contextlib.suppress(RuntimeError):
                await self.send_json({"type": "media", "signal": event["signal"]})


def _host_action(*, occurrence_id: int, by: Actor, data: dict[str, Any]) -> None:
    """The room's host controls, each one action."""
    action, target = data["action"], data.get("target", "")
    if action == "admit":
        lobby_actions.admit(occurrence_id=occurrence_id, target=target, by=by)
    elif action == "deny":
        lobby_actions.deny(occurrence_id=occurrence_id, target=target, by=by)
    elif action == "admit_all":
        lobby_actions.admit_all(occurrence_id=occurrence_id, by=by)
    elif action == "remove":
        moderation.remove(occurrence_id=occurrence_id, target=target, by=by)
    elif action == "mute":
        moderation.mute(occurrence_id=occurrence_id, target=target, by=by)
    elif action == "mute_all":
        moderation.mute_all(occurrence_id=occurrence_id, by=by, lock_unmute=data["lock_unmute"])
    elif action in ("lock_unmute", "unlock_unmute"):
        moderation.set_unmute_locked(
            occurrence_id=occurrence_id, locked=action == "lock_unmute", by=by
        )
    elif action in ("lock", "unlock"):
        moderation.set_locked(occurrence_id=occurrence_id, locked=action == "lock", by=by)
    elif action == "end":
        if not moderation.end(occurrence_id=occurrence_id, by=by):
            raise ActionRefused("meeting_over", "This meeting is over already.")
    else:
        raise ActionRefused("invalid_action", f"Unknown host action “{action}”.")
