"""The lobby's actions: someone asks to come in; the host admits, denies or admits all."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction

from meetings import lobby
from meetings.errors import InvalidTransition, MeetingFull, NotJoinable
from meetings.models import Invitation, Occurrence, ParticipantSession

from .. import effects
from .common import ActionRefused, Actor, State, audit, occurrence_for, room_of, target_in

OVER = "This meeting is over, so nobody can be let in."


def _lobby_changed(occurrence: Occurrence) -> None:
    effects.queue(effects.Effects(occurrence.pk, room_of(occurrence), lobby_changed=True))


def request_entry(
    *,
    occurrence: Occurrence,
    display_name: str,
    email: str,
    user: Any = None,
    invitation: Invitation | None = None,
) -> ParticipantSession:
    """Someone passed the join form: into the lobby (the hosts see the queue), or straight
    in (the room hears of them when they connect). Raises the lobby's errors."""
    with transaction.atomic():
        session = lobby.request_entry(
            occurrence=occurrence,
            display_name=display_name,
            email=email,
            user=user,
            invitation=invitation,
        )
        if session.state == State.WAITING:
            _lobby_changed(occurrence)
    return session


def admit(*, occurrence_id: int, target: str, by: Actor) -> ParticipantSession:
    with transaction.atomic():
        occurrence = occurrence_for(occurrence_id, by)
        session = target_in(occurrence, target, state=State.WAITING)
        try:
            session = lobby.admit(session=session)
        except MeetingFull as exc:
            raise ActionRefused("meeting_full", exc.message) from exc
        except NotJoinable as exc:
            raise ActionRefused("meeting_over", OVER) from exc
        except InvalidTransition as exc:
            raise ActionRefused("invalid_action", exc.message) from exc
        audit(occurrence, "admit", by, target=session)
        _lobby_changed(occurrence)
    return session


def deny(*, occurrence_id: int, target: str, by: Actor) -> ParticipantSession:
    with transaction.atomic():
        occurrence = occurrence_for(occurrence_id, by)
        session = target_in(occurrence, target, state=State.WAITING)
        try:
            session = lobby.deny(session=session)
        except InvalidTransition as exc:
            raise ActionRefused("invalid_action", exc.message) from exc
        audit(occurrence, "deny", by, target=session)
        _lobby_changed(occurrence)
    return session


@dataclass(frozen=True)
class AdmittedAll:
    admitted: int
    waiting: int  # how many were waiting: more than admitted when the room filled up


def admit_all(*, occurrence_id: int, by: Actor) -> AdmittedAll:
    """Admit everyone waiting, oldest first, until the room is full."""
    occurrence = occurrence_for(occurrence_id, by)
    if occurrence.status not in (Occurrence.Status.SCHEDULED, Occurrence.Status.LIVE):
        raise ActionRefused("meeting_over", OVER)
    waiting = ParticipantSession.objects.filter(
        occurrence_id=occurrence_id, state=State.WAITING
    ).count()
    with transaction.atomic():
        try:
            admitted = lobby.admit_all(occurrence=occurrence)
        except NotJoinable as exc:
            raise ActionRefused("meeting_over", OVER) from exc
        audit(occurrence, "admit_all", by, admitted=len(admitted), waiting=waiting)
        _lobby_changed(occurrence)
    return AdmittedAll(admitted=len(admitted), waiting=waiting)
