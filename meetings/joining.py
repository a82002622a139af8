"""The join form's checks: passcode attempts and the flood limit, per client and meeting."""

import hmac

from .errors import RateLimited, WrongPasscode
from .models import Meeting
from .ratelimit import Limit, forgive, hit

WRONG_PASSCODES = Limit("passcode", max_hits=5, window_seconds=10 * 60)
JOIN_ATTEMPTS = Limit("join", max_hits=20, window_seconds=60)


def _subject(meeting: Meeting, client: str) -> str:
    return f"{meeting.pk}:{client}"


def check_flood(*, meeting: Meeting, client: str) -> None:
    """Count a join attempt; a flood from one client is slowed, not served."""
    retry_after = hit(JOIN_ATTEMPTS, _subject(meeting, client))
    if retry_after is not None:
        raise RateLimited(
            "Too many attempts to join from your connection. "
            f"Wait {retry_after} seconds and try again.",
            retry_after,
        )


def check_passcode(*, meeting: Meeting, given: str, client: str) -> None:
    """Every attempt counts before it is judged; a right one is taken back."""
    if not meeting.passcode:
        return
    subject = _subject(meeting, client)
    retry_after = hit(WRONG_PASSCODES, subject)
    if retry_after is not None:
        minutes = max(1, round(retry_after / 60))
        raise RateLimited(
            f"Too many wrong passcodes. Try again in about {minutes} minute"
            f"{'s' if minutes != 1 else ''}.",
            retry_after,
        )
    if not hmac.compare_digest(given.strip().encode(), meeting.passcode.encode()):
        raise WrongPasscode("That passcode is not right. Check the invitation and try again.")
    forgive(WRONG_PASSCODES, subject)
