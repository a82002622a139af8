"""A room a media worker hosts: its ``MediaRoom`` and the requests applied to it.

Each participant has its own lane (a queue and the task that drains it): its requests are
applied in order, and participants do not wait for each other. Recording requests have a
lane of their own (``RECORDING_LANE``). The worker decides which rooms it hosts (leases);
a ``HostedRoom`` only applies what reaches it and keeps the ``hosted`` set in Redis.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from channels.layers import BaseChannelLayer

from meetings.media.sfu import MediaRoom, SignalError
from meetings.room.gateways.interface import media_signal_event

from .leases import LeaseStore
from .messages import describe, send

logger = logging.getLogger(__name__)

_UFRAG = re.compile(r"^a=ice-ufrag:(\S+)", re.MULTILINE)


@dataclass(eq=False)
class Lane:
    """One participant's requests, applied in order by one task."""

    queue: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    task: asyncio.Task[None] | None = None
    busy: bool = False


class HostedRoom:
    """A room whose lease this worker holds (see the module docstring)."""

    def __init__(
        self,
        room: str,
        media: MediaRoom,
        *,
        valid_until: float,
        layer: BaseChannelLayer,
        store: LeaseStore,
        on_idle: Callable[[HostedRoom], None],
    ) -> None:
        self.room = room
        self.media = media
        self.valid_until = valid_until  # loop time until which the lease is surely ours
        self.lanes: dict[str, Lane] = {}
        self.ufrags: dict[str, str] = {}  # peer_id -> ICE ufrag of its offers
        self.channels: dict[str, str] = {}  # peer_id -> reply channel of its connection
        self.closing = False
        self._layer = layer
        self._store = store
        self._on_idle = on_idle

    def idle(self) -> bool:
        return not self.media.peers and all(
            not lane.busy and lane.queue.empty() for lane in self.lanes.values()
        )

    def peer_ids(self) -> list[str]:
        return sorted(self.media.peers)

    async def restore(self, previous: set[str], members: dict[str, str]) -> None:
        """A new holder's first step: a fresh peer for everyone the previous holder had a
        connection for and who is still a member, each then told to start over."""
        restored: dict[str, str] = {}
        for peer_id in previous:
            reply_channel = members.get(peer_id)
            if reply_channel is None:
                continue  # left while nobody hosted the room
            try:
                await self._add_peer(peer_id, reply_channel)
            except ValueError:
                logger.warning("room %s: cannot restore peer %r", self.room, peer_id)
                continue
            restored[peer_id] = reply_channel
        if previous:
            await self._store.replace_hosted(self.room, restored)
            logger.info(
                "room %s taken over: %d participant(s) reset, %d gone",
                self.room,
                len(restored),
                len(previous) - len(restored),
            )
        for reply_channel in restored.values():
            await self._reset(reply_channel)

    def enqueue(self, message: dict[str, Any]) -> None:
        peer_id = message.get("peer_id")
        if not isinstance(peer_id, str):
            logger.warning("room %s: %s without a peer_id", self.room, message.get("op"))
            return
        lane = self.lanes.get(peer_id)
        if lane is None:
            lane = self.lanes[peer_id] = Lane()
            lane.task = asyncio.get_running_loop().create_task(
                self._lane_loop(peer_id, lane), name=f"media-lane-{peer_id}"
            )
        lane.queue.put_nowait(message)

    async def close(self) -> None:
        """Stop every lane and close the media room (Redis is the worker's business)."""
        self.closing = True
        current = asyncio.current_task()
        for lane in self.lanes.values():
            if lane.task is not None and lane.task is not current:
                lane.task.cancel()
        try:
            await self.media.close()
        except Exception:
            logger.exception("room %s: close failed", self.room)

    # --- applying requests ---------------------------------------------------------------

    async def _lane_loop(self, peer_id: str, lane: Lane) -> None:
        while True:
            message = await lane.queue.get()
            lane.busy = True
            try:
                await self._apply(peer_id, message)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("room %s: %s from %s failed", self.room, message["op"], peer_id)
            finally:
                lane.busy = False
            if lane.queue.empty() and peer_id not in self.media.peers:
                if self.lanes.get(peer_id) is lane:
                    del self.lanes[peer_id]
                if self.idle() and not self.closing:
                    self._on_idle(self)
                return

    async def _apply(self, peer_id: str, message: dict[str, Any]) -> None:
        if self.closing:
            return
        op = message["op"]
        if op == "join":
            reply_channel = message.get("reply_channel")
            if not isinstance(reply_channel, str) or not reply_channel:
                return
            if peer_id in self.media.peers:
                await self.media.remove_peer(peer_id)  # a reconnect starts a fresh connection
            self.ufrags.pop(peer_id, None)
            await self._add_peer(peer_id, reply_channel)
            await self._store.add_hosted(self.room, peer_id)
        elif op == "leave":
            await self._leave(peer_id, message.get("reply_channel"))
        elif op == "signal":
            await self._signal(peer_id, message.get("message"))
        elif op in ("record_start", "record_consent", "record_stop"):
            await self._record(message)

    async def _leave(self, peer_id: str, reply_channel: Any) -> None:
        if isinstance(reply_channel, str) and self.channels.get(peer_id) != reply_channel:
            return  # an older connection's leave: its successor stays
        self.ufrags.pop(peer_id, None)
        self.channels.pop(peer_id, None)
        if peer_id in self.media.peers:
            await self.media.remove_peer(peer_id)
            await self._store.remove_hosted(self.room, peer_id)

    async def _signal(self, peer_id: str, signal: Any) -> None:
        media = self.media
        if peer_id not in media.peers:
            # Its join went to a holder that died first: a member still, so give it a
            # peer and have it start over; what it sent was meant for the old connection.
            reply_channel = await self._store.member_channel(self.room, peer_id)
            if reply_channel is None:
                return
            await self._add_peer(peer_id, reply_channel)
            await self._store.add_hosted(self.room, peer_id)
            await self._reset(reply_channel)
            return
        ufrag = _offer_ufrag(signal)
        if ufrag is not None:
            previous = self.ufrags.get(peer_id)
            if previous is not None and previous != ufrag:
                # A fresh RTCPeerConnection (after a reset, or the client's own restart).
                peer = media.peers[peer_id]
                await media.remove_peer(peer_id)
                await media.add_peer(peer_id, peer.on_signal)
            self.ufrags[peer_id] = ufrag
        try:
            await media.handle_signal(peer_id, signal)
        except SignalError as exc:
            logger.info("room %s: signal from %s refused: %s", self.room, peer_id, exc)

    async def _record(self, message: dict[str, Any]) -> None:
        """A recording request, applied in order on the room's recording lane."""
        recording = message.get("recording")
        if not isinstance(recording, str) or not recording:
            logger.warning("recording request without a recording id: %r", describe(message))
            return
        op = message["op"]
        if op == "record_start":
            consented = [p for p in message.get("consented") or () if isinstance(p, str)]
            self.media.start_recording(recording, str(message.get("directory")), consented)
        elif op == "record_consent":
            participant = message.get("participant")
            if isinstance(participant, str):
                accepted = bool(message.get("accepted"))
                self.media.set_recording_consent(recording, participant, accepted)
        else:
            await self.media.stop_recording(recording)

    async def _add_peer(self, peer_id: str, reply_channel: str) -> None:
        await self.media.add_peer(peer_id, self._deliverer(reply_channel))
        self.channels[peer_id] = reply_channel

    def _deliverer(self, reply_channel: str) -> Callable[[dict[str, Any]], Awaitable[None]]:
        layer = self._layer

        async def deliver(signal: dict[str, Any]) -> None:
            await layer.send(reply_channel, media_signal_event(signal))

        return deliver

    async def _reset(self, reply_channel: str) -> None:
        await send(self._layer, reply_channel, media_signal_event({"type": "reset"}))


def _offer_ufrag(signal: Any) -> str | None:
    if not isinstance(signal, dict) or signal.get("type") != "sdp":
        return None
    description = signal.get("description")
    if not isinstance(description, dict) or description.get("type") != "offer":
        return None
    sdp = description.get("sdp")
    match = _UFRAG.search(sdp) if isinstance(sdp, str) else None
    return match.group(1) if match else None
