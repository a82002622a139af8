"""A participant's own actions (leave, hand, media state, chat), and the close of sessions
whose heartbeats stopped."""

from __future__ import annotations

import uuid
from collections import defaultdict

from django.db import transaction
from django.utils import timezone

from meetings import lobby
from meetings.errors import InvalidTransition
from meetings.models import Occurrence, ParticipantSession

from .. import effects
from ..auth import Member, session_closed
from ..protocol import CLOSE_NOT_ALLOWED, MEDIA_STATE_FIELDS
from .common import ActionRefused, State, left, room_of, stop_recording_if_empty, updated


def _closed_notice(message: str) -> dict[str, object]:
    return {"type": "error", "code": "session_closed", "message": message, "in_reply_to": None}


def leave(*, session_id: int) -> bool:
    """Leaving on purpose, from the room or the lobby page: the session closes now, the
    participant's other sockets close, the room hears it. False if they were out already
    (removed, ended: that was announced then)."""
    with transaction.atomic():
        session = ParticipantSession.objects.select_related("occurrence").get(pk=session_id)
        was_admitted = session.state == State.ADMITTED
        try:
            lobby.leave(session=session)
        except InvalidTransition:
            return False
        occurrence = session.occurrence
        public_id = str(session.public_id)
        if not was_admitted:
            effects.queue(effects.Effects(occurrence.pk, room_of(occurrence), lobby_changed=True))
            return True
        stopped = stop_recording_if_empty(occurrence.pk)
        notice = _closed_notice("You left this meeting.")
        effects.queue(
            effects.Effects(
                occurrence.pk,
                room_of(occurrence),
                direct=(effects.Direct(public_id, notice, close=CLOSE_NOT_ALLOWED),),
                media=(effects.MediaCommand("leave", peer_id=public_id), *stopped.media),
                events=(*stopped.events, left(public_id, "left")),
            )
        )
    return True


def _update_own(
    member: Member, media: tuple[effects.MediaCommand, ...] = (), **columns: bool
) -> None:
    updated_rows = ParticipantSession.objects.filter(
        pk=member.session_id, state=State.ADMITTED
    ).update(**columns)
    if not updated_rows:
        raise session_closed()
    effects.queue(
        effects.Effects(
            member.occurrence_id,
            member.room,
            media=media,
            events=(updated(member.session_id),),
        )
    )


def set_hand(*, member: Member, raised: bool) -> None:
    _update_own(member, hand_raised=raised)


def set_media_state(*, member: Member, changes: dict[str, bool]) -> None:
    """What the participant shows. Unmuting is refused while the host locks it (hosts are
    never locked)."""
    columns = {name: bool(changes[name]) for name in MEDIA_STATE_FIELDS if name in changes}
    if columns.get("audio_muted") is False and not member.is_host:
        locked = Occurrence.objects.filter(pk=member.occurrence_id, unmute_locked=True).exists()
        if locked:
            raise ActionRefused(
                "unmute_locked", "The host has muted everyone: ask the host to let you unmute."
            )
    # Unmuting lets the microphone through a media server that silenced it (Janus).
    unmuted = columns.get("audio_muted") is False
    media = (effects.MediaCommand("mute", peer_id=member.id, muted=False),) if unmuted else ()
    _update_own(member, media, **columns)


def chat(*, member: Member, text: str) -> None:
    """Chat is relayed, never stored; only a participant still in the meeting may post."""
    if not ParticipantSession.objects.filter(pk=member.session_id, state=State.ADMITTED).exists():
        raise session_closed()
    message = {
        "type": "chat",
        "id": str(uuid.uuid4()),
        "from": {"id": member.id, "name": member.name},
        "text": text,
        "at": timezone.now().isoformat(),
    }
    effects.queue(
        effects.Effects(member.occurrence_id, member.room, events=(effects.RoomEvent(message),))
    )


def close_stale_sessions(*, occurrence_id: int | None = None) -> int:
    """Close the sessions whose heartbeats stopped (one sitting, or all) and announce each
    once: whoever's UPDATE closed it announces it, so a beat task, a room's own check and
    a reconnecting socket never announce the same departure twice. Their sockets, if any
    are still open, close with 4001."""
    with transaction.atomic():
        closed = lobby.close_stale_sessions(occurrence_id=occurrence_id)
        by_sitting: dict[int, list[lobby.ClosedSession]] = defaultdict(list)
        for session in closed:
            by_sitting[session.occurrence_id].append(session)
        rooms = dict(Occurrence.objects.filter(pk__in=by_sitting).values_list("pk", "public_id"))
        notice = _closed_notice(
            "Your connection was lost for too long. Open the meeting link to join again."
        )
        for sitting, sessions in by_sitting.items():
            present = [s.public_id for s in sessions if s.was_admitted]
            stopped = stop_recording_if_empty(sitting) if present else None
            effects.queue(
                effects.Effects(
                    sitting,
                    str(rooms[sitting]),
                    direct=tuple(
                        effects.Direct(p, notice, close=CLOSE_NOT_ALLOWED) for p in present
                    ),
                    media=(
                        *(effects.MediaCommand("leave", peer_id=p) for p in present),
                        *(stopped.media if stopped else ()),
                    ),
                    events=(
                        *(stopped.events if stopped else ()),
                        *(left(p, "disconnected") for p in present),
                    ),
                    lobby_changed=len(present) < len(sessions),
                )
            )
    return len(closed)
