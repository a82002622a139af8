"""Django's control of the VideoRoom plugin: one room per sitting, and its moderation.

``VideoRoomControl.open`` gives Django a session of its own on a token it adds for itself
(``token_auth`` is on); participants' handles use their own tokens (``JanusAdmin``).
Rooms are never permanent: Janus forgets them on restart, and the sitting recreates them.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from .admin import JanusAdmin
from .client import VIDEOROOM, JanusClient, JanusHandle, JanusSession
from .transport import JanusError, JsonObject

# VideoRoom error codes (src/plugins/janus_videoroom.c).
NO_SUCH_ROOM = 426
ROOM_EXISTS = 427
NO_SUCH_FEED = 428

# Below 2**53: room and participant ids stay exact in any JSON reader.
MAX_ID = 2**53 - 1
# The cap Janus puts on each publisher's bandwidth estimate: room for three simulcast
# layers (1280x720 + 640x360 + 320x180 is about 1.7 Mbit/s in browsers).
PUBLISHER_BITRATE = 2_500_000
# A keyframe request to every publisher this often, so that a new subscriber or layer
# switch never waits long for a picture.
FIR_FREQ_SECONDS = 10
# A quarter of Janus's session_timeout (60 s in deploy/janus/janus.jcfg).
KEEPALIVE_SECONDS = 15.0


def random_id() -> int:
    return secrets.randbelow(MAX_ID) + 1


@dataclass(frozen=True)
class JanusRoom:
    """A VideoRoom room: ``secret`` moderates and destroys it, ``pin`` joins it."""

    room_id: int
    secret: str
    pin: str
    publishers: int


@dataclass(frozen=True)
class JanusParticipant:
    participant_id: int
    display: str
    publisher: bool
    talking: bool | None


class VideoRoomControl:
    """Django's handle on the VideoRoom plugin, for room management only."""

    def __init__(self, handle: JanusHandle, admin: JanusAdmin) -> None:
        self.handle = handle
        self.admin = admin
        # The plugin's admin_key is the admin secret (deploy/janus/entrypoint.sh).
        self.admin_key = admin.secret

    @classmethod
    async def open(
        cls, client: JanusClient, admin: JanusAdmin, keepalive: float = KEEPALIVE_SECONDS
    ) -> VideoRoomControl:
        """A session on a fresh token of Django's, kept alive until ``close()``."""
        token = secrets.token_urlsafe(24)
        await admin.add_token(token, [VIDEOROOM])
        try:
            session = await client.create_session(token)
            session.keep_alive(keepalive)
            handle = await session.attach(VIDEOROOM, opaque_id="conferencing-control")
        except BaseException:
            await admin.remove_token(token)
            raise
        return cls(handle, admin)

    @property
    def session(self) -> JanusSession:
        return self.handle.session

    async def close(self) -> None:
        try:
            await self.session.destroy()
        finally:
            await self.admin.remove_token(self.session.token)

    async def create_room(self, publishers: int, description: str = "") -> JanusRoom:
        """A private room for a sitting: random id, secret and pin; VP8 and Opus."""
        if publishers < 1:
            raise ValueError("a room needs room for at least one publisher")
        secret, pin = secrets.token_urlsafe(24), secrets.token_urlsafe(12)
        body = self._room_settings(secret, pin, publishers, description)
        for _attempt in range(3):
            room_id = random_id()
            try:
                data = await self.handle.request({**body, "room": room_id})
            except JanusError as exc:
                if exc.code == ROOM_EXISTS:
                    continue
                raise
            return JanusRoom(int(data["room"]), secret, pin, publishers)
        raise JanusError(ROOM_EXISTS, "no free room id after three random picks")

    def _room_settings(
        self, secret: str, pin: str, publishers: int, description: str
    ) -> JsonObject:
        return {
            "request": "create",
            "admin_key": self.admin_key,
            "permanent": False,
            "is_private": True,
            "description": description[:100],
            "secret": secret,
            "pin": pin,
            "publishers": publishers,
            "audiocodec": "opus",
            "videocodec": "vp8",
            "bitrate": PUBLISHER_BITRATE,
            "fir_freq": FIR_FREQ_SECONDS,
            # Subscriptions name the private id of the subscriber's own publisher handle.
            "require_pvtid": True,
            # Talking events drive the active speaker and last-N.
            "audiolevel_event": True,
            "notify_joining": True,
            # Transport-wide congestion control lets Janus pick each subscriber's layer.
            "transport_wide_cc_ext": True,
            "lock_record": True,
        }

    async def recreate_room(self, room: JanusRoom, description: str = "") -> None:
        """The same room again (id, secret, pin) after a Janus restart forgot it; a room
        that exists already (another process recreated it first) is fine."""
        body = self._room_settings(room.secret, room.pin, room.publishers, description)
        try:
            await self.handle.request({**body, "room": room.room_id})
        except JanusError as exc:
            if exc.code != ROOM_EXISTS:
                raise

    async def destroy_room(self, room: JanusRoom) -> None:
        """Ends the room and hangs up everyone in it; a room already gone is fine."""
        try:
            await self.handle.request(
                {"request": "destroy", "room": room.room_id, "secret": room.secret}
            )
        except JanusError as exc:
            if exc.code != NO_SUCH_ROOM:
                raise

    async def exists(self, room_id: int) -> bool:
        data = await self.handle.request({"request": "exists", "room": room_id})
        return bool(data["exists"])

    async def list_participants(self, room: JanusRoom) -> list[JanusParticipant]:
        data = await self.handle.request({"request": "listparticipants", "room": room.room_id})
        return [
            JanusParticipant(
                participant_id=int(item["id"]),
                display=str(item.get("display") or ""),
                publisher=bool(item.get("publisher")),
                talking=item.get("talking"),
            )
            for item in data["participants"]
        ]

    async def kick(self, room: JanusRoom, participant_id: int) -> None:
        await self.handle.request(
            {"request": "kick", "room": room.room_id, "secret": room.secret, "id": participant_id}
        )

    async def moderate(self, room: JanusRoom, participant_id: int, mid: str, mute: bool) -> None:
        """Stop (or allow again) forwarding one published stream, by its SDP mid."""
        await self.handle.request(
            {
                "request": "moderate",
                "room": room.room_id,
                "secret": room.secret,
                "id": participant_id,
                "mid": mid,
                "mute": mute,
            }
        )
