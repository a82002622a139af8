"""The way into a meeting: the lobby's state machine and the services the room calls.

Moves between states happen in one place, as conditional UPDATEs, so two hosts clicking
"admit" and "deny" at once cannot both win.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from billing.entitlements import entitlements_for

from . import occurrences
from .errors import InvalidTransition, MeetingFull, MeetingLocked, NotJoinable
from .models import Invitation, Occurrence, ParticipantSession

State = ParticipantSession.State
Reason = ParticipantSession.LeaveReason

TRANSITIONS: dict[str, frozenset[str]] = {
    State.WAITING: frozenset({State.ADMITTED, State.DENIED, State.LEFT}),
    State.ADMITTED: frozenset({State.LEFT}),
    State.DENIED: frozenset(),
    State.LEFT: frozenset(),
}
# The room sends a heartbeat every 15 s; three missed ones close the session.
HEARTBEAT_TIMEOUT = timedelta(seconds=45)


def sources_of(target: str) -> list[str]:
    return [state for state, targets in TRANSITIONS.items() if target in targets]


def _move(session: ParticipantSession, target: str, **fields: object) -> ParticipantSession:
    moved = ParticipantSession.objects.filter(pk=session.pk, state__in=sources_of(target)).update(
        state=target, **fields
    )
    if not moved:
        current = ParticipantSession.objects.values_list("state", flat=True).get(pk=session.pk)
        raise InvalidTransition(
            f"This participant is {State(current).label.lower()} and can't be moved to "
            f"“{State(target).label.lower()}”."
        )
    session.refresh_from_db()
    return session


def _check_capacity(occurrence: Occurrence) -> None:
    cap = entitlements_for(occurrence.meeting.host).max_participants
    present = occurrence.sessions.filter(state=State.ADMITTED).count()
    if present >= cap:
        raise MeetingFull(
            f"This meeting is full: it allows {cap} participants at a time. "
            "Try again when someone leaves."
        )


def _mark_live(occurrence: Occurrence, now: datetime) -> None:
    occurrences.start(occurrence_id=occurrence.pk, now=now)


@transaction.atomic
def request_entry(
    *,
    occurrence: Occurrence,
    display_name: str,
    email: str,
    user: User | None = None,
    invitation: Invitation | None = None,
) -> ParticipantSession:
    """Someone passed the join form: into the lobby, or straight in when there is none.

    The host always goes straight in, even when the room is at its cap.
    """
    now = timezone.now()
    occurrence = (
        Occurrence.objects.select_for_update().select_related("meeting").get(pk=occurrence.pk)
    )
    if occurrence.status not in occurrences.OPEN_STATUSES:
        raise NotJoinable()
    is_host = user is not None and user.pk == occurrence.meeting.host_id
    if occurrence.locked and not is_host:
        raise MeetingLocked()
    straight_in = is_host or not occurrence.meeting.lobby_enabled
    if straight_in and not is_host:
        _check_capacity(occurrence)
    session = ParticipantSession.objects.create(
        occurrence=occurrence,
        user=user,
        email=email.strip().lower(),
        display_name=display_name.strip(),
        invitation=invitation,
        is_host=is_host,
        state=State.ADMITTED if straight_in else State.WAITING,
        requested_at=now,
        admitted_at=now if straight_in else None,
        last_seen_at=now,
        audio_muted=occurrence.unmute_locked and not is_host,
    )
    if straight_in:
        _mark_live(occurrence, now)
    return session


@transaction.atomic
def admit(*, session: ParticipantSession) -> ParticipantSession:
    occurrence = (
        Occurrence.objects.select_for_update()
        .select_related("meeting")
        .get(pk=session.occurrence_id)
    )
    if occurrence.status not in occurrences.OPEN_STATUSES:
        raise NotJoinable()
    _check_capacity(occurrence)
    now = timezone.now()
    # While the host keeps unmuting locked, newcomers come in muted too.
    session = _move(
        session,
        State.ADMITTED,
        admitted_at=now,
        last_seen_at=now,
        audio_muted=occurrence.unmute_locked and not session.is_host,
    )
    _mark_live(occurrence, now)
    return session


def admit_all(*, occurrence: Occurrence) -> list[ParticipantSession]:
    """Admit everyone waiting, oldest first, until the room is full."""
    admitted = []
    waiting = occurrence.sessions.filter(state=State.WAITING).order_by("requested_at")
    for session in waiting:
        try:
            admitted.append(admit(session=session))
        except MeetingFull:
            break
        except InvalidTransition:
            continue  # someone else moved them meanwhile
    return admitted


def deny(*, session: ParticipantSession) -> ParticipantSession:
    return _move(session, State.DENIED, left_at=timezone.now())


def leave(*, session: ParticipantSession, reason: str = Reason.LEFT) -> ParticipantSession:
    """Close a session. Leaving the lobby is not attendance, so it has its own reason."""
    now = timezone.now()
    if session.state == State.WAITING and reason == Reason.LEFT:
        reason = Reason.GAVE_UP
    return _move(session, State.LEFT, left_at=now, leave_reason=reason)


def remove(*, session: ParticipantSession) -> ParticipantSession:
    return leave(session=session, reason=Reason.REMOVED)


def set_locked(*, occurrence: Occurrence, locked: bool) -> None:
    Occurrence.objects.filter(pk=occurrence.pk).update(locked=locked)


def heartbeat(*, session: ParticipantSession) -> bool:
    """Keep a session open; False when it was already closed (the room should reconnect)."""
    return bool(
        ParticipantSession.objects.filter(
            pk=session.pk, state__in=[State.WAITING, State.ADMITTED]
        ).update(last_seen_at=timezone.now())
    )


@dataclass(frozen=True)
class ClosedSession:
    """A session closed because its heartbeats stopped, for the room to announce."""

    session_id: int
    public_id: str
    occurrence_id: int
    was_admitted: bool


def close_stale_sessions(
    *, now: datetime | None = None, occurrence_id: int | None = None
) -> list[ClosedSession]:
    """Close sessions whose heartbeats stopped (in one sitting, or everywhere); they left
    when they were last seen. Each is returned by the one caller whose UPDATE closed it."""
    now = now or timezone.now()
    stale = ParticipantSession.objects.filter(
        state__in=[State.WAITING, State.ADMITTED],
        last_seen_at__lt=now - HEARTBEAT_TIMEOUT,
    )
    if occurrence_id is not None:
        stale = stale.filter(occurrence_id=occurrence_id)
    closed = []
    for session in stale.only("pk", "public_id", "occurrence_id", "state", "last_seen_at"):
        reason = Reason.TIMEOUT if session.state == State.ADMITTED else Reason.GAVE_UP
        if ParticipantSession.objects.filter(
            pk=session.pk, state=session.state, last_seen_at=session.last_seen_at
        ).update(state=State.LEFT, left_at=session.last_seen_at, leave_reason=reason):
            closed.append(
                ClosedSession(
                    session_id=session.pk,
                    public_id=str(session.public_id),
                    occurrence_id=session.occurrence_id,
                    was_admitted=session.state == State.ADMITTED,
                )
            )
    return closed


@transaction.atomic
def end_occurrence(*, occurrence: Occurrence) -> bool:
    """End for everyone: close the sitting and every open session in it. False when the
    sitting was over already (someone else ended it first): then nothing changed."""
    now = timezone.now()
    Occurrence.objects.select_for_update().get(pk=occurrence.pk)
    if not occurrences.end(occurrence_id=occurrence.pk, now=now):
        return False
    sessions = ParticipantSession.objects.filter(occurrence_id=occurrence.pk)
    sessions.filter(state=State.ADMITTED).update(
        state=State.LEFT, left_at=now, leave_reason=Reason.ENDED
    )
    sessions.filter(state=State.WAITING).update(
        state=State.LEFT, left_at=now, leave_reason=Reason.GAVE_UP
    )
    return True
