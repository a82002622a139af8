"""The ticket state machine: every allowed move, in one place.

    open --answer--> answered --answer--> answered
      |                 |  \\
      +----close-----> closed <-- reopen: closed/answered --> open

Each move is a conditional UPDATE on the statuses it may start from, so a reply sent
from a page that was loaded before a colleague closed the ticket is refused instead of
quietly reopening it as "answered".
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from django.utils import timezone

from .models import Ticket

Status = Ticket.Status


class Move(StrEnum):
    ANSWER = "answer"
    CLOSE = "close"
    REOPEN = "reopen"


@dataclass(frozen=True)
class Rule:
    sources: frozenset[str]
    target: str
    refusal: str  # what staff read when the ticket is in any other status


MOVES: dict[Move, Rule] = {
    Move.ANSWER: Rule(
        frozenset({Status.OPEN, Status.ANSWERED}),
        Status.ANSWERED,
        "This ticket is closed: reopen it before replying.",
    ),
    Move.CLOSE: Rule(
        frozenset({Status.OPEN, Status.ANSWERED}),
        Status.CLOSED,
        "This ticket is already closed.",
    ),
    Move.REOPEN: Rule(
        frozenset({Status.ANSWERED, Status.CLOSED}),
        Status.OPEN,
        "This ticket is already open.",
    ),
}


class InvalidMove(ValueError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def allowed_moves(status: str) -> list[Move]:
    return [move for move, rule in MOVES.items() if status in rule.sources]


def apply(ticket: Ticket, move: Move) -> Ticket:
    """Move `ticket` or raise InvalidMove; the database row decides, not the loaded copy."""
    rule = MOVES[move]
    moved = Ticket.objects.filter(pk=ticket.pk, status__in=rule.sources).update(
        status=rule.target, updated_at=timezone.now()
    )
    if not moved:
        ticket.refresh_from_db()  # show what the ticket really is now
        raise InvalidMove(rule.refusal)
    ticket.refresh_from_db()
    return ticket
