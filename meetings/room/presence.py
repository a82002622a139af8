"""Who is connected: a participant's connections, numbered, and their heartbeats.

A participant may open the room again (a reload, a second tab, a reconnect after a blip):
each connection gets the next number of the session's counter, and only the newest is
current, so a late close of an older socket does not take the newer one's media with it.
The room hears of a first arrival as a join, of a later one as an update.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.cache import cache

from meetings import lobby
from meetings.models import ParticipantSession

from . import effects
from .auth import Member, session_closed
from .sequence import count
from .snapshot import participant_of

CONNECTION_TTL_SECONDS = 2 * 24 * 3600


def _connection_key(member: Member) -> str:
    return f"meetings.room.connection.{member.session_id}"


def _seen_key(member: Member) -> str:
    return f"meetings.room.seen.{member.session_id}"


def heartbeat(*, member: Member) -> None:
    """Keep the session open; a session closed meanwhile (by any door) refuses the socket."""
    if not lobby.heartbeat(session=ParticipantSession(pk=member.session_id)):
        reason = (
            ParticipantSession.objects.filter(pk=member.session_id)
            .values_list("leave_reason", flat=True)
            .first()
        )
        raise session_closed(reason or "")


@dataclass(frozen=True)
class Arrival:
    connection: int  # this connection's number among the member's connections
    first: bool  # the participant's first connection to this sitting


def arrive(*, member: Member) -> Arrival:
    """A connection of ``member`` opened: the session is seen now and the connection is
    their current one. The room hears of it from ``announce``, once the socket listens."""
    heartbeat(member=member)
    connection = count(_connection_key(member), ttl=CONNECTION_TTL_SECONDS)
    first = bool(cache.add(_seen_key(member), True, timeout=CONNECTION_TTL_SECONDS))
    return Arrival(connection, first)


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


def is_current_connection(*, member: Member, connection: int) -> bool:
    """Whether no newer connection of ``member`` has opened since ``connection``."""
    return cache.get(_connection_key(member)) == connection
