"""Short-lived signed tickets that let a guest who passed the join form open the room."""

from common.signed_links import BadSignedValue, ExpiredSignedValue, sign, unsign

_SALT = "meetings.guest-ticket"
TICKET_MAX_AGE_SECONDS = 10 * 60


class BadTicket(Exception):
    """Forged or expired; an expired ticket's ``__cause__`` is a ``SignatureExpired``."""


def issue_ticket(*, session_public_id: str) -> str:
    return sign({"s": str(session_public_id)}, salt=_SALT)


def read_ticket(ticket: str, *, max_age: int = TICKET_MAX_AGE_SECONDS) -> str:
    """The participant session's public id, or BadTicket if forged or expired."""
    try:
        data = unsign(ticket, salt=_SALT, max_age=max_age)
    except ExpiredSignedValue as exc:
        raise BadTicket("Your join ticket has expired. Open the meeting link again.") from exc
    except BadSignedValue as exc:
        raise BadTicket("This join ticket is not valid.") from exc
    if not isinstance(data, dict) or not isinstance(data.get("s"), str):
        raise BadTicket("This join ticket is not valid.")
    return data["s"]
