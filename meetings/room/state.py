"""The realtime room's state: who may connect, who is in, what they show, the host's controls.

Synchronous services and selectors; the consumer calls them through
``database_sync_to_async`` and carries out the ``Effects`` they return (events for the room,
messages for one participant, media to cut). Lobby moves go through ``meetings.lobby``; the
room's own columns (mute, camera, hand, screen) change by conditional UPDATEs here.

Room-wide events are numbered by one counter per occurrence, kept in the cache: an atomic
INCR on Redis, so every web process draws from the same sequence (``next_seq``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.utils import timezone

from meetings import lobby, tickets, time_limit
from meetings.errors import InvalidTransition, MeetingFull, NotJoinable
from meetings.media.ice import browser_ice_servers
from meetings.models import Occurrence, ParticipantSession
from recordings import services as recording_services
from recordings import storage as recording_storage
from recordings.errors import RecordingError
from recordings.models import Recording

from .protocol import CLOSE_ENDED, CLOSE_REMOVED, ProtocolError

State = ParticipantSession.State
Reason = ParticipantSession.LeaveReason
OPEN_OCCURRENCE = (Occurrence.Status.SCHEDULED, Occurrence.Status.LIVE)

# A sitting lasts at most a day; the counter outlives it, then expires on its own.
SEQ_TTL_SECONDS = 2 * 24 * 3600
CONNECTION_TTL_SECONDS = 2 * 24 * 3600


# --- Who is on the other end of a connection ------------------------------------------


@dataclass(frozen=True)
class Member:
    """The participant behind one websocket connection, as it was when they connected."""

    session_id: int
    id: str  # the participant session's public id: what the protocol calls a participant id
    occurrence_id: int
    room: str  # the occurrence's public id: the media room's name
    name: str
    is_host: bool


class NotAllowed(Exception):
    """This connection may not be in the room; the consumer sends the reason, then 4001."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class SessionClosed(NotAllowed):
    def __init__(self) -> None:
        super().__init__(
            "session_closed",
            "You are no longer in this meeting. Open the meeting link to join again.",
        )


_LEFT_MESSAGES: dict[str, str] = {
    Reason.REMOVED: "The host removed you from this meeting.",
    Reason.ENDED: "This meeting has ended.",
}


def authenticate(*, token: str, ticket: str | None, user: Any) -> Member:
    """The admitted participant a ticket names, in the meeting of ``token``, or NotAllowed.

    A session that belongs to an account opens only for that account's signed-in user.
    """
    if not ticket:
        raise NotAllowed("no_ticket", "Open the meeting link to join: there is no join ticket.")
    try:
        public_id = tickets.read_ticket(ticket)
    except tickets.BadTicket as exc:
        expired = isinstance(exc.__cause__, signing.SignatureExpired)
        raise NotAllowed("ticket_expired" if expired else "bad_ticket", str(exc)) from exc
    try:
        session = ParticipantSession.objects.select_related("occurrence__meeting").get(
            public_id=public_id
        )
    except (ParticipantSession.DoesNotExist, ValidationError, ValueError) as exc:
        raise NotAllowed("bad_ticket", "This join ticket is not valid.") from exc
    occurrence = session.occurrence
    if occurrence.meeting.join_token != token:
        raise NotAllowed(
            "wrong_meeting",
            "This join ticket is for another meeting. Open this meeting's link to join.",
        )
    if occurrence.status not in OPEN_OCCURRENCE:
        raise NotAllowed("meeting_over", "This meeting is over.")
    if session.state == State.WAITING:
        raise NotAllowed("not_admitted", "You're still in the lobby: the host hasn't let you in.")
    if session.state == State.DENIED:
        raise NotAllowed("not_admitted", "The host didn't let you in to this meeting.")
    if session.state != State.ADMITTED:
        raise NotAllowed(
            "session_closed",
            _LEFT_MESSAGES.get(
                session.leave_reason,
                "You have left this meeting. Open the meeting link to join again.",
            ),
        )
    if session.user_id is not None and (
        user is None or not user.is_authenticated or user.pk != session.user_id
    ):
        raise NotAllowed(
            "wrong_user", "Sign in with the account you joined with to enter this meeting."
        )
    return Member(
        session_id=session.pk,
        id=str(session.public_id),
        occurrence_id=occurrence.pk,
        room=str(occurrence.public_id),
        name=session.display_name,
        is_host=session.is_host,
    )


# --- What the room shows ----------------------------------------------------------------


def participant(session: ParticipantSession) -> dict[str, Any]:
    return {
        "id": str(session.public_id),
        "name": session.display_name,
        "is_host": session.is_host,
        "audio_muted": session.audio_muted,
        "video_off": session.video_off,
        "hand_raised": session.hand_raised,
        "screen_sharing": session.screen_sharing,
    }


def waiting_entry(session: ParticipantSession) -> dict[str, Any]:
    return {
        "id": str(session.public_id),
        "name": session.display_name,
        "email": session.email,
        "since": session.requested_at.isoformat(),
    }


def _fresh_since(now: datetime | None = None) -> datetime:
    # Sessions whose heartbeats stopped are gone already, even before the periodic task
    # closes them.
    return (now or timezone.now()) - lobby.HEARTBEAT_TIMEOUT


def participants(*, occurrence_id: int) -> list[dict[str, Any]]:
    sessions = ParticipantSession.objects.filter(
        occurrence_id=occurrence_id, state=State.ADMITTED, last_seen_at__gte=_fresh_since()
    ).order_by("admitted_at", "pk")
    return [participant(session) for session in sessions]


def lobby_queue(*, occurrence_id: int) -> list[dict[str, Any]]:
    sessions = ParticipantSession.objects.filter(
        occurrence_id=occurrence_id, state=State.WAITING, last_seen_at__gte=_fresh_since()
    ).order_by("requested_at", "pk")
    return [waiting_entry(session) for session in sessions]


def participant_of(*, session_id: int) -> dict[str, Any]:
    return participant(ParticipantSession.objects.get(pk=session_id))


def ice_servers_for(member: Member) -> list[dict[str, Any]]:
    return browser_ice_servers(
        settings.ICE_SERVER_URLS,
        turn_secret=settings.TURN_SHARED_SECRET or None,
        user_id=member.id,
        ttl=settings.TURN_CREDENTIAL_TTL_SECONDS,
    )


def snapshot(*, member: Member) -> dict[str, Any]:
    """The whole room as this member may see it, with the sequence number it is current at.

    The number is read first: an event racing with the reads is at worst applied twice,
    and every event is an idempotent replacement (chat aside).
    """
    seq = current_seq(occurrence_id=member.occurrence_id)
    occurrence = Occurrence.objects.select_related("meeting").get(pk=member.occurrence_id)
    return {
        "type": "snapshot",
        "seq": seq,
        "you": member.id,
        "is_host": member.is_host,
        "meeting": {"title": occurrence.meeting.title, "ends_at": occurrence.ends_at.isoformat()},
        "locked": occurrence.locked,
        "time_limit": time_limit.snapshot_entry(occurrence),
        "recording": recording_state(occurrence_id=member.occurrence_id, member=member),
        "recording_control": (
            recording_services.recording_control(occurrence=occurrence).as_message()
            if member.is_host
            else None
        ),
        "participants": participants(occurrence_id=member.occurrence_id),
        "lobby": lobby_queue(occurrence_id=member.occurrence_id) if member.is_host else [],
        "ice_servers": ice_servers_for(member),
    }


# --- The sequence ------------------------------------------------------------------------


def _seq_key(occurrence_id: int) -> str:
    return f"meetings.room.seq.{occurrence_id}"


def current_seq(*, occurrence_id: int) -> int:
    return int(cache.get(_seq_key(occurrence_id), 0))


def _count(key: str, *, ttl: int) -> int:
    """Atomically add one to a counter in the cache (INCR on Redis), starting from 1."""
    for _ in range(3):
        cache.add(key, 0, timeout=ttl)
        try:
            return int(cache.incr(key))
        except ValueError:  # expired between add and incr
            continue
    raise RuntimeError(f"could not advance the counter {key}")


def next_seq(*, occurrence_id: int) -> int:
    """The next number of the occurrence's room-wide events (atomic across processes)."""
    return _count(_seq_key(occurrence_id), ttl=SEQ_TTL_SECONDS)


# --- What changes, and what the consumer must do about it -----------------------------


@dataclass(frozen=True)
class RoomEvent:
    """A room-wide event; it gets its ``seq`` when it is sent. ``close`` closes every
    connection that receives it, with that code, right after the message."""

    message: dict[str, Any]
    close: int | None = None


@dataclass(frozen=True)
class Direct:
    """A message for every connection of one participant, then a close with ``close``."""

    participant_id: str
    message: dict[str, Any]
    close: int | None = None


@dataclass(frozen=True)
class RecordingCommand:
    """What the media server must do about a recording. ``stop`` also hands the recording
    to processing, once the media server has closed its files."""

    action: str  # "start" | "consent" | "stop"
    recording_id: str
    recording_pk: int = 0
    directory: str = ""
    consented: tuple[str, ...] = ()
    participant_id: str = ""
    accepted: bool = False


@dataclass(frozen=True)
class Effects:
    """Carried out in this order: direct messages, media cut, recording commands, room
    events, lobby update, media room closed."""

    direct: tuple[Direct, ...] = ()
    leave_media: tuple[str, ...] = ()
    events: tuple[RoomEvent, ...] = ()
    lobby_changed: bool = False
    close_media_room: bool = False
    recording: tuple[RecordingCommand, ...] = ()


def _updated(session_id: int) -> RoomEvent:
    updated = participant_of(session_id=session_id)
    return RoomEvent({"type": "participant_updated", "participant": updated})


def _left(participant_id: str, reason: str) -> RoomEvent:
    return RoomEvent({"type": "participant_left", "id": participant_id, "reason": reason})


# --- Connections -------------------------------------------------------------------------


def _connection_key(member: Member) -> str:
    return f"meetings.room.connection.{member.session_id}"


def _seen_key(member: Member) -> str:
    return f"meetings.room.seen.{member.session_id}"


@dataclass(frozen=True)
class Arrival:
    effects: Effects
    connection: int  # this connection's number among the member's connections


def arrive(*, member: Member) -> Arrival:
    """A connection of ``member`` opened: the session is seen now, the connection is their
    current one (numbered: a later one replaces it), and the room hears of a first arrival
    as a join, of a later one as an update.
    """
    heartbeat(member=member)
    connection = _count(_connection_key(member), ttl=CONNECTION_TTL_SECONDS)
    if not cache.add(_seen_key(member), True, timeout=CONNECTION_TTL_SECONDS):
        return Arrival(Effects(events=(_updated(member.session_id),)), connection)
    joined = participant_of(session_id=member.session_id)
    event = RoomEvent({"type": "participant_joined", "participant": joined})
    return Arrival(Effects(events=(event,)), connection)


def is_current_connection(*, member: Member, connection: int) -> bool:
    """Whether no newer connection of ``member`` has opened since ``connection``."""
    return cache.get(_connection_key(member)) == connection


def announce_if_timed_out(*, member: Member) -> Effects:
    """After a lost connection: close the session if its heartbeats stopped, and say so
    once. Nothing when the participant came back or left some other way."""
    lobby.close_stale_sessions()
    closed = ParticipantSession.objects.filter(
        pk=member.session_id, state=State.LEFT, leave_reason=Reason.TIMEOUT
    ).exists()
    if not closed or not cache.add(
        f"meetings.room.timeout-announced.{member.session_id}", True, timeout=3600
    ):
        return Effects()
    return Effects(
        recording=_stop_if_empty(member.occurrence_id),
        events=(_left(member.id, "disconnected"),),
    )


# --- The participant's own changes -----------------------------------------------------


def _session_ref(member: Member) -> ParticipantSession:
    # The lobby's services identify a session by its primary key; no need to load it.
    return ParticipantSession(pk=member.session_id)


def heartbeat(*, member: Member) -> None:
    if not lobby.heartbeat(session=_session_ref(member)):
        raise SessionClosed()


def _update_own(member: Member, **columns: bool) -> Effects:
    updated = ParticipantSession.objects.filter(pk=member.session_id, state=State.ADMITTED).update(
        **columns
    )
    if not updated:
        raise SessionClosed()
    return Effects(events=(_updated(member.session_id),))


def set_hand(*, member: Member, raised: bool) -> Effects:
    return _update_own(member, hand_raised=raised)


def set_media_state(*, member: Member, changes: dict[str, bool]) -> Effects:
    return _update_own(member, **changes)


def leave(*, member: Member) -> Effects:
    """Leaving on purpose closes the attendance session now."""
    session = ParticipantSession.objects.get(pk=member.session_id)
    try:
        lobby.leave(session=session)
    except InvalidTransition:
        return Effects()  # already out (removed, ended): that was announced then
    return Effects(
        leave_media=(member.id,),
        recording=_stop_if_empty(member.occurrence_id),
        events=(_left(member.id, "left"),),
    )


def chat(*, member: Member, text: str) -> Effects:
    """Chat is relayed, never stored."""
    message = {
        "type": "chat",
        "id": str(uuid.uuid4()),
        "from": {"id": member.id, "name": member.name},
        "text": text,
        "at": timezone.now().isoformat(),
    }
    return Effects(events=(RoomEvent(message),))


# --- The host's controls ---------------------------------------------------------------


def _refuse(code: str, message: str) -> ProtocolError:
    return ProtocolError(code, message, "host")


def _target(member: Member, target: str, *, state: str) -> ParticipantSession:
    try:
        session = ParticipantSession.objects.get(
            occurrence_id=member.occurrence_id, public_id=target
        )
    except (ParticipantSession.DoesNotExist, ValidationError, ValueError):
        session = None
    if session is None or session.state != state:
        where = "waiting in the lobby" if state == State.WAITING else "in the meeting"
        raise _refuse("not_found", f"That participant is not {where}.")
    return session


def _admit(member: Member, target: str) -> Effects:
    session = _target(member, target, state=State.WAITING)
    try:
        lobby.admit(session=session)
    except MeetingFull as exc:
        raise _refuse("meeting_full", exc.message) from exc
    except (InvalidTransition, NotJoinable) as exc:
        raise _refuse("invalid_action", exc.message) from exc
    return Effects(lobby_changed=True)


def _deny(member: Member, target: str) -> Effects:
    session = _target(member, target, state=State.WAITING)
    try:
        lobby.deny(session=session)
    except InvalidTransition as exc:
        raise _refuse("invalid_action", exc.message) from exc
    return Effects(lobby_changed=True)


def _admit_all(member: Member) -> Effects:
    lobby.admit_all(occurrence=Occurrence.objects.get(pk=member.occurrence_id))
    return Effects(lobby_changed=True)


def _mute(member: Member, target: str) -> Effects:
    session = _target(member, target, state=State.ADMITTED)
    if not ParticipantSession.objects.filter(pk=session.pk, state=State.ADMITTED).update(
        audio_muted=True
    ):
        raise _refuse("not_found", "That participant is not in the meeting.")
    return Effects(
        direct=(Direct(target, {"type": "muted_by_host"}),),
        events=(_updated(session.pk),),
    )


def _remove(member: Member, target: str) -> Effects:
    if target == member.id:
        raise _refuse("invalid_action", "You can't remove yourself: leave the meeting instead.")
    session = _target(member, target, state=State.ADMITTED)
    try:
        lobby.remove(session=session)
    except InvalidTransition as exc:
        raise _refuse("invalid_action", exc.message) from exc
    return Effects(
        direct=(Direct(target, {"type": "removed"}, close=CLOSE_REMOVED),),
        leave_media=(target,),
        events=(_left(target, "removed"),),
    )


def _lock(member: Member, locked: bool) -> Effects:
    lobby.set_locked(occurrence=Occurrence(pk=member.occurrence_id), locked=locked)
    return Effects(events=(RoomEvent({"type": "room_locked", "locked": locked}),))


def _end(member: Member) -> Effects:
    lobby.end_occurrence(occurrence=Occurrence.objects.get(pk=member.occurrence_id))
    return Effects(
        recording=_stop_running(member.occurrence_id),
        events=(RoomEvent({"type": "meeting_ended"}, close=CLOSE_ENDED),),
        close_media_room=True,
    )


def time_limit_effects(*, occurrence_id: int) -> Effects:
    """The plan's time limit: a warning for the room, or the end for everyone (as ``_end``)."""
    outcome = time_limit.check(occurrence_id=occurrence_id)
    if outcome.ended:
        return Effects(
            recording=_stop_running(occurrence_id),
            events=tuple(RoomEvent(message, close=CLOSE_ENDED) for message in outcome.messages),
            close_media_room=True,
        )
    return Effects(events=tuple(RoomEvent(message) for message in outcome.messages))


def host_action(*, member: Member, action: str, target: str | None = None) -> Effects:
    """One of the host's controls (``protocol.TARGETED_HOST_ACTIONS`` need ``target``)."""
    if not member.is_host:
        raise _refuse("not_host", "Only the host can do that.")
    if action in ("admit", "deny", "mute", "remove"):
        assert target is not None
        targeted = {"admit": _admit, "deny": _deny, "mute": _mute, "remove": _remove}
        return targeted[action](member, target)
    if action == "admit_all":
        return _admit_all(member)
    if action in ("lock", "unlock"):
        return _lock(member, action == "lock")
    if action == "end":
        return _end(member)
    raise _refuse("invalid_action", f"Unknown host action “{action}”.")


# --- Recording --------------------------------------------------------------------------


def recording_state(*, occurrence_id: int, member: Member) -> dict[str, Any] | None:
    """The running recording as ``member`` sees it (with their own latest decision)."""
    recording = recording_services.running_recording(occurrence_id=occurrence_id)
    if recording is None:
        return None
    return {
        "id": str(recording.public_id),
        "started_at": recording.started_at.isoformat(),
        "consent": recording_services.consent_of(recording=recording, participant_id=member.id),
    }


def _recording_error(exc: RecordingError, in_reply_to: str) -> ProtocolError:
    return ProtocolError(exc.code, exc.message, in_reply_to)


def _stop_command(recording: Recording) -> RecordingCommand:
    return RecordingCommand("stop", str(recording.public_id), recording_pk=recording.pk)


def _stop_running(occurrence_id: int) -> tuple[RecordingCommand, ...]:
    recording = recording_services.running_recording(occurrence_id=occurrence_id)
    return (_stop_command(recording),) if recording is not None else ()


def _stop_if_empty(occurrence_id: int) -> tuple[RecordingCommand, ...]:
    """Nobody left in the room: its recording stops with it."""
    if ParticipantSession.objects.filter(
        occurrence_id=occurrence_id, state=State.ADMITTED
    ).exists():
        return ()
    return _stop_running(occurrence_id)


def recording_action(*, member: Member, action: str) -> Effects:
    """The host starts or stops recording."""
    if not member.is_host:
        raise ProtocolError("not_host", "Only the host can start or stop recording.", "recording")
    if action == "start":
        session = ParticipantSession.objects.select_related("occurrence__meeting__host").get(
            pk=member.session_id
        )
        try:
            recording = recording_services.start_recording(
                occurrence=session.occurrence, by=session
            )
        except RecordingError as exc:
            raise _recording_error(exc, "recording") from exc
        command = RecordingCommand(
            "start",
            str(recording.public_id),
            recording_pk=recording.pk,
            directory=str(recording_storage.tracks_directory(recording)),
            consented=(member.id,),
        )
        started = {
            "id": str(recording.public_id),
            "started_at": recording.started_at.isoformat(),
            "started_by": member.id,
        }
        return Effects(
            recording=(command,),
            events=(RoomEvent({"type": "recording_started", "recording": started}),),
        )
    try:
        recording = recording_services.require_running(occurrence_id=member.occurrence_id)
    except RecordingError as exc:
        raise _recording_error(exc, "recording") from exc
    return Effects(recording=(_stop_command(recording),))


def recording_consent(*, member: Member, recording_id: str, accepted: bool) -> Effects:
    """A participant agrees to be recorded, or not; the media server follows at once."""
    session = ParticipantSession.objects.get(pk=member.session_id)
    try:
        recording, receipt = recording_services.record_consent(
            recording_id=recording_id, session=session, accepted=accepted
        )
    except RecordingError as exc:
        raise _recording_error(exc, "recording_consent") from exc
    except (ValidationError, ValueError) as exc:
        raise ProtocolError(
            "not_found", "That recording isn't running in this meeting.", "recording_consent"
        ) from exc
    public_id = str(recording.public_id)
    return Effects(
        recording=(
            RecordingCommand(
                "consent",
                public_id,
                recording_pk=recording.pk,
                participant_id=member.id,
                accepted=accepted,
            ),
        ),
        direct=(
            Direct(
                member.id,
                {"type": "recording_consent", "recording": public_id, "consent": receipt.decision},
            ),
        ),
    )


def recording_stopped_event(recording_id: str) -> RoomEvent:
    return RoomEvent({"type": "recording_stopped", "recording": {"id": recording_id}})
