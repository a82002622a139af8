"""Which media engine a sitting runs on, chosen once and recorded on the occurrence.

``settings.MEDIA_ENGINE``: ``aiortc`` (the default: in process, or media workers),
``janus``, or ``auto``, where sittings whose plan cap or expected size (the host and the
invitees) exceeds ``MEDIA_ENGINE_JANUS_THRESHOLD`` go to Janus. The choice is made when
the sitting's media first starts (``settle_engine``, from the room's websocket) and
recorded with a conditional UPDATE, so a running sitting never switches engine.

Janus is asked first (``janus_health``): when it is down, a small sitting (expected size
within the threshold) falls back to aiortc, and a larger one gets no media until Janus is
back, with a clear notice for the host, rather than an engine that cannot carry it.
"""

from __future__ import annotations

from dataclasses import dataclass

from asgiref.sync import sync_to_async
from django.conf import settings

from billing.entitlements import entitlements_for
from meetings.janus.health import janus_health
from meetings.janus.videoroom import JanusRoom
from meetings.models import Occurrence

AIORTC, JANUS = "aiortc", "janus"
ENGINES = (AIORTC, JANUS)

FELL_BACK = (
    "The media server for large meetings is down ({reason}), so this meeting runs on the "
    "built-in one, which suits meetings of up to {threshold} people."
)
REFUSED = (
    "Audio and video can't start: the media server for large meetings is down ({reason}). "
    "Chat still works. Rejoin in a few minutes; if it stays down, tell your administrator."
)


@dataclass(frozen=True)
class EngineChoice:
    """The sitting's engine, or None while it has none; ``notice`` is for the hosts."""

    engine: str | None
    notice: str | None = None


@dataclass(frozen=True)
class Sizing:
    recorded: str
    cap: int
    expected: int


def _sizing(occurrence_id: int) -> Sizing:
    occurrence = Occurrence.objects.select_related("meeting__host").get(pk=occurrence_id)
    if occurrence.media_engine:
        return Sizing(occurrence.media_engine, 0, 0)
    meeting = occurrence.meeting
    return Sizing(
        "",
        entitlements_for(meeting.host).max_participants,
        meeting.invitations.count() + 1,
    )


def wanted_engine(sizing: Sizing) -> str:
    mode = settings.MEDIA_ENGINE
    if mode == "auto":
        threshold = settings.MEDIA_ENGINE_JANUS_THRESHOLD
        return JANUS if max(sizing.cap, sizing.expected) > threshold else AIORTC
    return JANUS if mode == JANUS else AIORTC


def record_engine(*, occurrence_id: int, engine: str) -> str:
    """Record ``engine`` unless the sitting has one already; the engine it runs on."""
    if engine not in ENGINES:
        raise ValueError(f"unknown media engine {engine!r}")
    Occurrence.objects.filter(pk=occurrence_id, media_engine="").update(media_engine=engine)
    return Occurrence.objects.values_list("media_engine", flat=True).get(pk=occurrence_id)


def engine_of_room(room: str) -> str:
    """The engine recorded for the sitting whose media room is ``room``; "" if none yet."""
    recorded = Occurrence.objects.filter(public_id=room).values_list("media_engine", flat=True)
    return next(iter(recorded), "")


async def settle_engine(*, occurrence_id: int) -> EngineChoice:
    """The sitting's engine: the recorded one, or chosen and recorded now."""
    sizing = await sync_to_async(_sizing)(occurrence_id)
    if sizing.recorded:
        return EngineChoice(sizing.recorded)
    wanted = wanted_engine(sizing)
    record = sync_to_async(record_engine)
    if wanted == AIORTC:
        return EngineChoice(await record(occurrence_id=occurrence_id, engine=AIORTC))
    health = await janus_health()
    if health.up:
        return EngineChoice(await record(occurrence_id=occurrence_id, engine=JANUS))
    threshold = settings.MEDIA_ENGINE_JANUS_THRESHOLD
    if sizing.expected <= threshold:
        engine = await record(occurrence_id=occurrence_id, engine=AIORTC)
        notice = FELL_BACK.format(reason=health.reason, threshold=threshold)
        return EngineChoice(engine, notice if engine == AIORTC else None)
    return EngineChoice(None, REFUSED.format(reason=health.reason))


# --- the sitting's Janus room, shared by every process ------------------------------------


def _as_room(stored: object) -> JanusRoom | None:
    if not isinstance(stored, dict):
        return None
    return JanusRoom(
        int(stored["room_id"]), str(stored["secret"]), str(stored["pin"]), int(stored["publishers"])
    )


class SittingRooms:
    """``JanusRoomStore`` on the occurrence: the first process to create a room wins."""

    async def room(self, name: str) -> JanusRoom | None:
        stored = await sync_to_async(self._stored)(name)
        return _as_room(stored)

    async def claim(self, name: str, room: JanusRoom) -> JanusRoom:
        return await sync_to_async(self._claim)(name, room)

    async def capacity(self, name: str) -> int:
        return await sync_to_async(self._capacity)(name)

    async def forget(self, name: str) -> None:
        await sync_to_async(Occurrence.objects.filter(public_id=name).update)(janus_room=None)

    @staticmethod
    def _stored(name: str) -> object:
        return next(
            iter(Occurrence.objects.filter(public_id=name).values_list("janus_room", flat=True)),
            None,
        )

    @staticmethod
    def _claim(name: str, room: JanusRoom) -> JanusRoom:
        value = {
            "room_id": room.room_id,
            "secret": room.secret,
            "pin": room.pin,
            "publishers": room.publishers,
        }
        Occurrence.objects.filter(public_id=name, janus_room__isnull=True).update(janus_room=value)
        return _as_room(SittingRooms._stored(name)) or room

    @staticmethod
    def _capacity(name: str) -> int:
        occurrence = Occurrence.objects.select_related("meeting__host").get(public_id=name)
        return entitlements_for(occurrence.meeting.host).max_participants
