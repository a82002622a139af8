"""How signalling reaches the media server.

The consumer never holds a media room itself: it asks a gateway. The media server answers
through the channel layer, by sending ``{"type": "media.signal", "signal": {...}}`` to the
participant connection's ``reply_channel``, wherever that connection lives.

- ``LocalMediaGateway``: the embedded default. Rooms live in this process, beside the web
  server (one process, in-memory channel layer).
- With ``REDIS_URL`` set, media worker processes (``manage.py media_worker``) own the rooms,
  each pinned to one worker by a lease in Redis; see ``media_workers.py``.
"""

import asyncio
import logging
from typing import Any, Protocol

from channels.layers import get_channel_layer
from django.conf import settings
from django.utils.module_loading import import_string

from meetings.media.sfu import MediaRoom

logger = logging.getLogger(__name__)


class MediaGateway(Protocol):
    async def join(self, *, room: str, peer_id: str, reply_channel: str) -> None: ...

    async def signal(self, *, room: str, peer_id: str, message: dict[str, Any]) -> None: ...

    async def leave(self, *, room: str, peer_id: str) -> None: ...

    async def close_room(self, *, room: str) -> None: ...

    async def start_recording(
        self, *, room: str, recording_id: str, directory: str, consented: list[str]
    ) -> None: ...

    async def recording_consent(
        self, *, room: str, recording_id: str, peer_id: str, accepted: bool
    ) -> None: ...

    async def stop_recording(self, *, room: str, recording_id: str) -> None: ...


def media_signal_event(signal: dict[str, Any]) -> dict[str, Any]:
    """The channel-layer event a consumer turns into a ``media`` message."""
    return {"type": "media.signal", "signal": signal}


class LocalMediaGateway:
    """Media rooms in this process, created on first join and closed when empty."""

    def __init__(self) -> None:
        self._rooms: dict[str, MediaRoom] = {}
        self._lock = asyncio.Lock()

    async def _room(self, room: str) -> MediaRoom:
        async with self._lock:
            if room not in self._rooms:
                self._rooms[room] = MediaRoom(room)
            return self._rooms[room]

    async def join(self, *, room: str, peer_id: str, reply_channel: str) -> None:
        layer = get_channel_layer()
        media_room = await self._room(room)

        async def deliver(signal: dict[str, Any]) -> None:
            await layer.send(reply_channel, media_signal_event(signal))

        if peer_id in media_room.peers:
            await media_room.remove_peer(peer_id)  # a reconnect starts a fresh connection
        await media_room.add_peer(peer_id, deliver)

    async def signal(self, *, room: str, peer_id: str, message: dict[str, Any]) -> None:
        media_room = self._rooms.get(room)
        if media_room is None or peer_id not in media_room.peers:
            return
        await media_room.handle_signal(peer_id, message)

    async def leave(self, *, room: str, peer_id: str) -> None:
        media_room = self._rooms.get(room)
        if media_room is None:
            return
        await media_room.remove_peer(peer_id)
        if not media_room.peers:
            async with self._lock:
                if self._rooms.get(room) is media_room and not media_room.peers:
                    del self._rooms[room]
                    await media_room.close()

    async def close_room(self, *, room: str) -> None:
        async with self._lock:
            media_room = self._rooms.pop(room, None)
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


_gateway: MediaGateway | None = None


def get_gateway() -> MediaGateway:
    """The gateway named by ``settings.MEDIA_GATEWAY``, one per process."""
    global _gateway
    if _gateway is None:
        _gateway = import_string(settings.MEDIA_GATEWAY)()
    return _gateway


def reset_gateway() -> None:
    """Forget the process's gateway (tests switch gateways between cases)."""
    global _gateway
    _gateway = None
