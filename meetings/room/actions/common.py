"""What every room action shares: who acts, the audit entry, the lookups."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError

from meetings.errors import ActionRefused
from meetings.models import Occurrence, ParticipantSession, RoomAction
from recordings import services as recording_services

from .. import effects
from ..auth import Member

State = ParticipantSession.State
Reason = ParticipantSession.LeaveReason

# The doors an action can be called through (kept in the audit entry).
ROOM, PAGE, API, TASK = "room", "page", "api", "task"


@dataclass(frozen=True)
class Actor:
    """Who asks: a participant in the room (their session), the host's account on a page
    or the API, or the system (a task, a timer)."""

    door: str
    user_id: int | None = None
    session_id: int | None = None
    session_is_host: bool = False

    @classmethod
    def in_room(cls, member: Member) -> Actor:
        return cls(ROOM, session_id=member.session_id, session_is_host=member.is_host)

    @classmethod
    def account(cls, user: Any, *, door: str) -> Actor:
        return cls(door, user_id=user.pk)

    @classmethod
    def system(cls, *, door: str = TASK) -> Actor:
        """The product itself (a task, or a room connection's timer)."""
        return cls(door)

    @property
    def is_system(self) -> bool:
        return self.user_id is None and self.session_id is None

    def may_moderate(self, occurrence: Occurrence) -> bool:
        if self.is_system:
            return True
        if self.session_id is not None:
            return self.session_is_host
        return self.user_id is not None and self.user_id == occurrence.meeting.host_id


def occurrence_for(occurrence_id: int, by: Actor) -> Occurrence:
    """The sitting, if ``by`` may moderate it; an acting participant must still be in it."""
    occurrence = Occurrence.objects.select_related("meeting").get(pk=occurrence_id)
    if not by.may_moderate(occurrence):
        raise ActionRefused("not_host", "Only the host can do that.")
    if (
        by.session_id is not None
        and not ParticipantSession.objects.filter(
            pk=by.session_id, occurrence_id=occurrence_id, state=State.ADMITTED
        ).exists()
    ):
        raise ActionRefused("not_host", "You are no longer in this meeting.")
    return occurrence


def target_in(occurrence: Occurrence, target: str, *, state: str) -> ParticipantSession:
    try:
        session = ParticipantSession.objects.get(occurrence_id=occurrence.pk, public_id=target)
    except (ParticipantSession.DoesNotExist, ValidationError, ValueError):
        session = None
    where = "waiting in the lobby" if state == State.WAITING else "in the meeting"
    if session is None:
        raise ActionRefused("not_found", f"That participant is not {where}.")
    if session.state != state:
        label = State(session.state).label.lower()
        raise ActionRefused("not_found", f"This participant is {label}, not {where}.")
    return session


def audit(
    occurrence: Occurrence,
    action: str,
    by: Actor,
    *,
    target: ParticipantSession | None = None,
    **details: Any,
) -> None:
    RoomAction.objects.create(
        occurrence_id=occurrence.pk,
        action=action,
        door=by.door,
        actor_user_id=by.user_id,
        actor_session_id=by.session_id,
        target=target,
        details=details,
    )


def room_of(occurrence: Occurrence) -> str:
    return str(occurrence.public_id)


def updated(session_id: int) -> effects.RoomEvent:
    from ..snapshot import participant_of

    return effects.RoomEvent(
        {"type": "participant_updated", "participant": participant_of(session_id=session_id)}
    )


def left(participant_id: str, reason: str) -> effects.RoomEvent:
    return effects.RoomEvent({"type": "participant_left", "id": participant_id, "reason": reason})


@dataclass(frozen=True)
class Stopped:
    """A recording this action stopped: the media server's command and the room's event."""

    media: tuple[effects.MediaCommand, ...] = ()
    events: tuple[effects.RoomEvent, ...] = ()


def stop_recording(occurrence_id: int) -> Stopped:
    """Stop the sitting's running recording (processing is queued on commit), if any."""
    recording = recording_services.stop_running(occurrence_id=occurrence_id, enqueue=False)
    if recording is None:
        return Stopped()
    public_id = str(recording.public_id)
    command = effects.MediaCommand(
        "stop_recording", recording_id=public_id, recording_pk=recording.pk
    )
    return Stopped(
        media=(command,),
        events=(effects.RoomEvent({"type": "recording_stopped", "recording": {"id": public_id}}),),
    )


def stop_recording_if_empty(occurrence_id: int) -> Stopped:
    """Nobody left in the room: its recording stops with it."""
    if ParticipantSession.objects.filter(
        occurrence_id=occurrence_id, state=State.ADMITTED
    ).exists():
        return Stopped()
    return stop_recording(occurrence_id)
