"""Who is on the other end of a room connection: the ticket's participant, or a refusal."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core import signing
from django.core.exceptions import ValidationError

from meetings import tickets
from meetings.models import ParticipantSession
from meetings.occurrences import OPEN_STATUSES

from .protocol import CLOSE_ENDED, CLOSE_NOT_ALLOWED, CLOSE_REMOVED

State = ParticipantSession.State
Reason = ParticipantSession.LeaveReason


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
    """This connection may not be in the room; the consumer sends the reason, then closes
    with ``close_code`` (4001, or 4003/4004 for a session the host removed or ended)."""

    def __init__(self, code: str, message: str, close_code: int = CLOSE_NOT_ALLOWED) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.close_code = close_code


_LEFT_MESSAGES: dict[str, str] = {
    Reason.REMOVED: "The host removed you from this meeting.",
    Reason.ENDED: "This meeting has ended.",
    Reason.TIMEOUT: "Your connection was lost for too long. Open the meeting link to join again.",
}


# A socket that learns late that its session was removed or ended closes as it would
# have on the event itself, so the client shows the same end screen.
_CLOSE_CODES: dict[str, int] = {Reason.REMOVED: CLOSE_REMOVED, Reason.ENDED: CLOSE_ENDED}


def session_closed(reason: str = "", *, connected: bool = True) -> NotAllowed:
    """The refusal for a session that is no longer in the meeting, saying why. A new
    connection is refused with 4001; one already in the room closes as the removal or
    end would have closed it."""
    return NotAllowed(
        "session_closed",
        _LEFT_MESSAGES.get(
            reason, "You are no longer in this meeting. Open the meeting link to join again."
        ),
        _CLOSE_CODES.get(reason, CLOSE_NOT_ALLOWED) if connected else CLOSE_NOT_ALLOWED,
    )


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
    if occurrence.status not in OPEN_STATUSES:
        raise NotAllowed("meeting_over", "This meeting is over.")
    if session.state == State.WAITING:
        raise NotAllowed("not_admitted", "You're still in the lobby: the host hasn't let you in.")
    if session.state == State.DENIED:
        raise NotAllowed("not_admitted", "The host didn't let you in to this meeting.")
    if session.state != State.ADMITTED:
        if session.leave_reason == Reason.LEFT:
            raise NotAllowed(
                "session_closed", "You have left this meeting. Open the meeting link to join again."
            )
        raise session_closed(session.leave_reason, connected=False)
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


def is_admitted(*, session_id: int) -> bool:
    """Whether the session is still in the meeting (every door that closes it says so)."""
    return ParticipantSession.objects.filter(pk=session_id, state=State.ADMITTED).exists()


def closed_session(*, session_id: int) -> NotAllowed:
    """The refusal for a connection whose session some door closed, saying why."""
    reason = (
        ParticipantSession.objects.filter(pk=session_id)
        .values_list("leave_reason", flat=True)
        .first()
    )
    return session_closed(reason or "")
