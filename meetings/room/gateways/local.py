"""The embedded media gateway: media rooms in this process, beside the web server.

For one process with the in-memory channel layer (``make run``, the tests). Rooms are
created on the first join and closed when their last peer leaves.
"""

from __future__ import annotations

import asyncio
from typing import Any

from channels.layers import get_channel_layer

from meetings.media.sfu import MediaRoom

from .interface import media_signal_event


class LocalMediaGateway:
    """``MediaGateway`` with the media rooms in this process."""

    def __init__(self) -> None:
        self._rooms: dict[str, MediaRoom] = {}
        # room -> peer_id -> the reply channel its current connection joined with
        self._connections: dict[str, dict[str, str]] = {}
        self._lock = asyncio.Lock()

    async def _room(self, room: str) -> MediaRoom:
        async with self._lock:
            if room not in self._rooms:
                self._rooms[room] = MediaRoom(room)
                self._connections[room] = {}
            return self._rooms[room]

    async def join(self, *, room: str, peer_id: str, reply_channel: str) -> None:
        layer = get_channel_layer()
        media_room = await self._room(room)

        async def deliver(signal: dict[str, Any]) -> None:
            await layer.send(reply_channel, media_signal_event(signal))

        # From here on, a leave from an older connection of this peer changes nothing.
        self._connections.setdefault(room, {})[peer_id] = reply_channel
        if peer_id in media_room.peers:
            await media_room.remove_peer(peer_id)  # a reconnect starts a fresh connection
        await media_room.add_peer(peer_id, deliver)

    async def signal(self, *, room: str, peer_id: str, message: dict[str, Any]) -> None:
        media_room = self._rooms.get(room)
        if media_room is None or peer_id not in media_room.peers:
            return
        await media_room.handle_signal(peer_id, message)

    async def leave(self, *, room: str, peer_id: str, reply_channel: str | None = None) -> None:
        media_room = self._rooms.get(room)
        if media_room is None:
            return
        connections = self._connections.get(room, {})
        if reply_channel is not None and connections.get(peer_id) != reply_channel:
            return  # an older connection's leave: its successor stays
        connections.pop(peer_id, None)
        await media_room.remove_peer(peer_id)
        if not media_room.peers:
            async with self._lock:
                if self._rooms.get(room) is media_room and not media_room.peers:
                    del self._rooms[room]
                    self._connections.pop(room, None)
                    await media_room.close()

    async def close_room(self, *, room: str) -> None:
        async with self._lock:
            media_room = self._rooms.pop(room, None)
            self._connections.pop(room, None)
        if media_room is not None:
            await media_room.close()

    async def start_recording(
        self, *, room: str, recording_id: str, directory: str, consented: list[str]
    ) -> None:
        media_room = await self._room(room)
        media_room.start_recording(recording_id, directory, consented)

    async def recording_consent(
        self, *, room: str, recording_id: str, peer_id: str, accepted: bool
    ) -> None:
        media_room = self._rooms.get(room)
        if media_room is not None:
            media_room.set_recording_consent(recording_id, peer_id, accepted)

    async def stop_recording(self, *, room: str, recording_id: str) -> None:
        media_room = self._rooms.get(room)
        if media_room is not None:
            await media_room.stop_recording(recording_id)

    def rooms(self) -> dict[str, MediaRoom]:
        return dict(self._rooms)
