"""Every write of the survey: an answer, or a skip (which stores no answer)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import services as account_services
from meetings.models import ParticipantSession

from .browsers import browser_of
from .models import COMMENT_MAX_LENGTH, CallRating, Reason
from .tokens import BadToken, read_token

MAX_RTT_MS = 60_000  # a minute: beyond any real round trip


class Refused(Exception):
    """The survey cannot take this answer; ``status`` is the HTTP status to answer."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Answer:
    stars: int
    reasons: list[str]
    comment: str
    used_turn: bool | None
    packet_loss_pct: float | None
    rtt_ms: int | None


def _number(value: Any, *, name: str, low: float, high: float) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise Refused("bad_stats", f"{name} must be a number from {low:g} to {high:g}.")
    return float(value)


def parse_answer(data: Any) -> Answer:
    """The answer in a survey POST's JSON body, validated; Refused (400) otherwise."""
    if not isinstance(data, dict):
        raise Refused("bad_request", "Send the answer as a JSON object.")
    stars = data.get("stars")
    if isinstance(stars, bool) or not isinstance(stars, int) or not 1 <= stars <= 5:
        raise Refused("bad_stars", "Choose from 1 to 5 stars.")
    reasons = data.get("reasons", [])
    allowed = set(Reason.values)
    if not isinstance(reasons, list) or not all(
        isinstance(r, str) and r in allowed for r in reasons
    ):
        raise Refused("bad_reasons", f"Reasons are any of: {', '.join(Reason.values)}.")
    comment = data.get("comment", "")
    if not isinstance(comment, str):
        raise Refused("bad_comment", "The comment must be text.")
    comment = comment.strip()
    if len(comment) > COMMENT_MAX_LENGTH:
        raise Refused("bad_comment", f"Keep the comment under {COMMENT_MAX_LENGTH} characters.")
    stats = data.get("stats", {})
    stats = {} if stats is None else stats
    if not isinstance(stats, dict):
        raise Refused("bad_stats", "stats must be an object.")
    used_turn = stats.get("used_turn")
    if used_turn is not None and not isinstance(used_turn, bool):
        raise Refused("bad_stats", "used_turn must be true or false.")
    loss = _number(stats.get("packet_loss_pct"), name="packet_loss_pct", low=0, high=100)
    rtt = _number(stats.get("rtt_ms"), name="rtt_ms", low=0, high=MAX_RTT_MS)
    return Answer(
        stars=stars,
        reasons=[r for r in Reason.values if r in reasons],  # fixed order, no duplicates
        comment=comment,
        used_turn=used_turn,
        packet_loss_pct=round(loss, 2) if loss is not None else None,
        rtt_ms=round(rtt) if rtt is not None else None,
    )


def participant_for(token: Any) -> ParticipantSession:
    """The session a survey token names; Refused (400) for a bad or stale one."""
    if not isinstance(token, str) or not token:
        raise Refused("bad_token", "The survey token is missing.")
    try:
        public_id = read_token(token)
    except BadToken as exc:
        raise Refused("bad_token", str(exc)) from exc
    session = ParticipantSession.objects.filter(public_id=public_id).first()
    if session is None:
        raise Refused("bad_token", "This survey is for a sitting that no longer exists.")
    return session


def _claim_for_account(session: ParticipantSession) -> None:
    # The 24-hour rule is claimed with a conditional UPDATE in the same transaction, so
    # two tabs answering at once cannot both count.
    if session.user is not None and not account_services.claim_survey(
        user=session.user, now=timezone.now()
    ):
        raise Refused(
            "asked_recently", "You answered this survey in the last 24 hours.", status=409
        )


@transaction.atomic
def record_answer(
    *,
    participant: ParticipantSession,
    answer: Answer,
    user_agent: str,
    media_worker: str,
) -> CallRating:
    """Store one answer for the participant's sitting; Refused (409) for a second one."""
    if CallRating.objects.filter(participant=participant).exists():
        raise Refused("already_answered", "You already answered for this call.", status=409)
    _claim_for_account(participant)
    family, major = browser_of(user_agent)
    try:
        with transaction.atomic():
            return CallRating.objects.create(
                participant=participant,
                occurrence_id=participant.occurrence_id,
                stars=answer.stars,
                reasons=answer.reasons,
                comment=answer.comment,
                browser_family=family,
                browser_major=major,
                media_worker=media_worker[:80],
                used_turn=answer.used_turn,
                packet_loss_pct=answer.packet_loss_pct,
                rtt_ms=answer.rtt_ms,
            )
    except IntegrityError as exc:  # a concurrent answer won the unique constraint
        raise Refused("already_answered", "You already answered for this call.", 409) from exc


@transaction.atomic
def record_skip(*, participant: ParticipantSession) -> None:
    """Skip stores no answer; a signed-in person is not asked again for 24 hours."""
    if participant.user is not None:
        account_services.claim_survey(user=participant.user, now=timezone.now())
