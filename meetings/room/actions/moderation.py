"""The host's controls over a live sitting: remove, mute, mute all, lock, end; and the
plan's time limit, which ends a sitting as the host's "end for everyone" does."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

from meetings import lobby, time_limit
from meetings.errors import InvalidTransition
from meetings.models import Occurrence, ParticipantSession

from .. import effects
from ..protocol import CLOSE_ENDED, CLOSE_REMOVED
from .common import (
    ActionRefused,
    Actor,
    State,
    audit,
    left,
    occurrence_for,
    room_of,
    stop_recording,
    stop_recording_if_empty,
    target_in,
    updated,
)

logger = logging.getLogger(__name__)


def remove(*, occurrence_id: int, target: str, by: Actor) -> ParticipantSession:
    """Out of the meeting now: their sockets close with 4003, their media goes."""
    with transaction.atomic():
        occurrence = occurrence_for(occurrence_id, by)
        session = target_in(occurrence, target, state=State.ADMITTED)
        if session.pk == by.session_id or (by.user_id and session.user_id == by.user_id):
            raise ActionRefused(
                "invalid_action", "You can't remove yourself: leave the meeting instead."
            )
        try:
            session = lobby.remove(session=session)
        except InvalidTransition as exc:
            raise ActionRefused("invalid_action", exc.message) from exc
        audit(occurrence, "remove", by, target=session)
        stopped = stop_recording_if_empty(occurrence.pk)
        effects.queue(
            effects.Effects(
                occurrence.pk,
                room_of(occurrence),
                direct=(effects.Direct(target, {"type": "removed"}, close=CLOSE_REMOVED),),
                media=(effects.MediaCommand("leave", peer_id=target), *stopped.media),
                events=(*stopped.events, left(target, "removed")),
            )
        )
    return session


def mute(*, occurrence_id: int, target: str, by: Actor) -> None:
    with transaction.atomic():
        occurrence = occurrence_for(occurrence_id, by)
        session = target_in(occurrence, target, state=State.ADMITTED)
        if not ParticipantSession.objects.filter(pk=session.pk, state=State.ADMITTED).update(
            audio_muted=True
        ):
            raise ActionRefused("not_found", "That participant is not in the meeting.")
        audit(occurrence, "mute", by, target=session)
        effects.queue(
            effects.Effects(
                occurrence.pk,
                room_of(occurrence),
                direct=(effects.Direct(target, {"type": "muted_by_host"}),),
                media=(effects.MediaCommand("mute", peer_id=target, muted=True),),
                events=(updated(session.pk),),
            )
        )


def mute_all(*, occurrence_id: int, by: Actor, lock_unmute: bool = False) -> list[str]:
    """Mute everyone but the hosts; with ``lock_unmute`` they can't unmute themselves until
    the host allows it again. Returns the ids of those muted."""
    with transaction.atomic():
        occurrence = occurrence_for(occurrence_id, by)
        Occurrence.objects.select_for_update().filter(pk=occurrence.pk).update(
            unmute_locked=lock_unmute
        )
        sessions = ParticipantSession.objects.filter(
            occurrence_id=occurrence.pk, state=State.ADMITTED, is_host=False
        )
        ids = [str(public_id) for public_id in sessions.values_list("public_id", flat=True)]
        sessions.update(audio_muted=True)
        audit(occurrence, "mute_all", by, muted=len(ids), lock_unmute=lock_unmute)
        message = {"type": "muted_all", "ids": ids, "unmute_locked": lock_unmute}
        muting = tuple(effects.MediaCommand("mute", peer_id=id_, muted=True) for id_ in ids)
        effects.queue(
            effects.Effects(
                occurrence.pk,
                room_of(occurrence),
                media=muting,
                events=(effects.RoomEvent(message),),
            )
        )
    return ids


def set_unmute_locked(*, occurrence_id: int, locked: bool, by: Actor) -> None:
    with transaction.atomic():
        occurrence = occurrence_for(occurrence_id, by)
        Occurrence.objects.filter(pk=occurrence.pk).update(unmute_locked=locked)
        audit(occurrence, "lock_unmute" if locked else "unlock_unmute", by)
        message = {"type": "unmute_locked", "locked": locked}
        effects.queue(
            effects.Effects(
                occurrence.pk, room_of(occurrence), events=(effects.RoomEvent(message),)
            )
        )


def set_locked(*, occurrence_id: int, locked: bool, by: Actor) -> None:
    """A locked room lets nobody new in, not even to the lobby."""
    with transaction.atomic():
        occurrence = occurrence_for(occurrence_id, by)
        lobby.set_locked(occurrence=occurrence, locked=locked)
        audit(occurrence, "lock" if locked else "unlock", by)
        message = {"type": "room_locked", "locked": locked}
        effects.queue(
            effects.Effects(
                occurrence.pk, room_of(occurrence), events=(effects.RoomEvent(message),)
            )
        )


def _queue_end(occurrence: Occurrence, message: dict[str, Any]) -> None:
    """What the end of a sitting means outside the database (it was ended just now)."""
    stopped = stop_recording(occurrence.pk)
    effects.queue(
        effects.Effects(
            occurrence.pk,
            room_of(occurrence),
            media=stopped.media,
            events=(*stopped.events, effects.RoomEvent(message, close=CLOSE_ENDED)),
            close_media_room=True,
        )
    )


def end(*, occurrence_id: int, by: Actor) -> bool:
    """End for everyone: every socket closes with 4004, a running recording stops and goes
    to processing, attendance closes. False when the sitting was over already (a race
    with another end: the winner's effects happen once)."""
    with transaction.atomic():
        occurrence = occurrence_for(occurrence_id, by)
        if not lobby.end_occurrence(occurrence=occurrence):
            return False
        audit(occurrence, "end", by)
        _queue_end(occurrence, {"type": "meeting_ended"})
    return True


def enforce_time_limit(*, occurrence_id: int, by: Actor) -> int:
    """Warn the sitting or end it at the plan's limit (see ``meetings.time_limit``: the
    first caller to claim a threshold acts on it). Returns how many messages went out."""
    with transaction.atomic():
        outcome = time_limit.check(occurrence_id=occurrence_id)
        if not outcome.messages:
            return 0
        occurrence = Occurrence.objects.get(pk=occurrence_id)
        if outcome.ended:
            audit(occurrence, "time_limit_end", by)
            _queue_end(occurrence, outcome.messages[-1])
        else:
            events = tuple(effects.RoomEvent(message) for message in outcome.messages)
            effects.queue(effects.Effects(occurrence.pk, room_of(occurrence), events=events))
    return len(outcome.messages)


def enforce_time_limits() -> int:
    """For the periodic task: every live sitting that may be past a threshold."""
    sent = 0
    for occurrence_id in time_limit.due_sittings():
        try:
            sent += enforce_time_limit(occurrence_id=occurrence_id, by=Actor.system())
        except Exception:
            # One sitting's failure must not starve the others; the next run tries again.
            logger.exception("enforcing the time limit of occurrence %s failed", occurrence_id)
    return sent
