"""Who is connected: arrivals and heartbeats.

A participant may open the room again (a reload, a second tab, a reconnect after a blip):
the room hears of a first arrival as a join, of a later one as an update. (A late close of
an older socket cannot take the newer one's media: the media gateway's ``leave`` is keyed
by the connection's channel.)
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.cache import cache

from meetings import lobby
from meetings.models import ParticipantSession

from . import effects
from .auth import Member, closed_session
from .snapshot import participant_of

# A sitting lasts at most a day: the marker outlives it, then expires on its own.
SEEN_TTL_SECONDS = 2 * 24 * 3600


def _seen_key(member: Member) -> str:
    return f"meetings.room.seen.{member.session_id}"


def heartbeat(*, member: Member) -> None:
    """Keep the session open; a session closed meanwhile (by any door) refuses the socket."""
    if not lobby.heartbeat(session=ParticipantSession(pk=member.session_id)):
        raise closed_session(session_id=member.session_id)


@dataclass(frozen=True)
class Arrival:
    first: bool  # the participant's first connection to this sitting


def arrive(*, member: Member) -> Arrival:
    """A connection of ``member`` opened: the session is seen now. The room hears of it
    from ``announce``, once the socket listens."""
    heartbeat(member=member)
    return Arrival(first=bool(cache.add(_seen_key(member), True, timeout=SEEN_TTL_SECONDS)))


def announce(*, member: Member, arrival: Arrival) -> None:
    """The room hears of a first arrival as a join, of a later one as an update."""
    kind = "participant_joined" if arrival.first else "participant_updated"
    event = effects.RoomEvent(
        {"type": kind, "participant": participant_of(session_id=member.session_id)}
    )
    effects.queue(effects.Effects(member.occurrence_id, member.room, events=(event,)))


def sweep_due(*, occurrence_id: int, every_seconds: float) -> bool:
    """Whether this caller should sweep the sitting for silent sessions now: one caller
    per sitting per interval, across every connection and process."""
    key = f"meetings.room.sweep.{occurrence_id}"
    return bool(cache.add(key, True, timeout=max(int(every_seconds), 1)))
