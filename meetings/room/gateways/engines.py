"""The gateway when sittings may run on either engine: each room's requests go to the
engine recorded on its sitting (``meetings.room.engine``). A sitting without one yet (Janus
was down and it is too large for aiortc) has no media: its requests go nowhere.

Used when ``MEDIA_ENGINE`` is ``janus`` or ``auto``; with the default ``aiortc`` the
aiortc gateway is used directly, as before. The Janus gateway is created on first use.
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async

from .interface import MediaGateway, MediaUnavailable, ModeratedGateway


class EngineRouter:
    """``MediaGateway`` that routes each room to the gateway of its sitting's engine."""

    def __init__(self, aiortc: MediaGateway, janus: MediaGateway | None = None) -> None:
        self.aiortc = aiortc
        self._janus = janus
        self._engines: dict[str, str] = {}  # room -> engine, once recorded

    @property
    def janus(self) -> MediaGateway:
        if self._janus is None:
            from .janus import JanusMediaGateway

            self._janus = JanusMediaGateway()
        return self._janus

    async def engine_of(self, room: str) -> str:
        """The room's recorded engine ("" while it has none; only recorded ones are kept)."""
        engine = self._engines.get(room)
        if engine is None:
            from meetings.room.engine import engine_of_room

            engine = await sync_to_async(engine_of_room)(room)
            if engine:
                self._engines[room] = engine
        return engine

    async def gateway_of(self, room: str) -> MediaGateway | None:
        engine = await self.engine_of(room)
        if not engine:
            return None
        return self.janus if engine == "janus" else self.aiortc

    async def join(self, *, room: str, peer_id: str, reply_channel: str) -> None:
        if gateway := await self.gateway_of(room):
            await gateway.join(room=room, peer_id=peer_id, reply_channel=reply_channel)

    async def signal(self, *, room: str, peer_id: str, message: dict[str, Any]) -> None:
        if gateway := await self.gateway_of(room):
            await gateway.signal(room=room, peer_id=peer_id, message=message)

    async def leave(self, *, room: str, peer_id: str, reply_channel: str | None = None) -> None:
        if gateway := await self.gateway_of(room):
            await gateway.leave(room=room, peer_id=peer_id, reply_channel=reply_channel)

    async def close_room(self, *, room: str) -> None:
        try:
            if gateway := await self.gateway_of(room):
                await gateway.close_room(room=room)
        finally:
            self._engines.pop(room, None)

    async def start_recording(
        self, *, room: str, recording_id: str, directory: str, consented: list[str]
    ) -> None:
        gateway = await self.gateway_of(room)
        if gateway is None:
            raise MediaUnavailable("This meeting has no audio or video to record.")
        await gateway.start_recording(
            room=room, recording_id=recording_id, directory=directory, consented=consented
        )

    async def recording_consent(
        self, *, room: str, recording_id: str, peer_id: str, accepted: bool
    ) -> None:
        if gateway := await self.gateway_of(room):
            await gateway.recording_consent(
                room=room, recording_id=recording_id, peer_id=peer_id, accepted=accepted
            )

    async def stop_recording(self, *, room: str, recording_id: str) -> None:
        if gateway := await self.gateway_of(room):
            await gateway.stop_recording(room=room, recording_id=recording_id)

    async def mute(self, *, room: str, peer_id: str, muted: bool) -> None:
        gateway = await self.gateway_of(room)
        if isinstance(gateway, ModeratedGateway):
            await gateway.mute(room=room, peer_id=peer_id, muted=muted)

    async def aclose(self) -> None:
        """Close the Janus gateway's sessions and connections, if it was ever used."""
        aclose = getattr(self._janus, "aclose", None)
        if aclose is not None:
            await aclose()

    def rooms(self) -> dict[str, Any]:
        rooms: dict[str, Any] = dict(getattr(self.aiortc, "rooms", dict)())
        if self._janus is not None:
            rooms.update(getattr(self._janus, "rooms", dict)())
        return rooms
