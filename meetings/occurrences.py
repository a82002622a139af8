"""The occurrence's state machine: the one place that says how a sitting moves.

::

    scheduled ──start──▶ live ──end──▶ ended
        │  └────────────end (nobody was let in)──────▶ ended
        └──cancel──▶ cancelled

Every move is a conditional UPDATE on the current status, so two callers racing for the
same move (two "end for everyone" clicks, the time limit and the host) cannot both win:
the loser gets ``False`` and does nothing more. Whether a sitting still takes joiners is
``Occurrence.is_open(now)`` (the late-join grace lives on the model).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from .errors import InvalidTransition
from .models import Occurrence

Status = Occurrence.Status

TRANSITIONS: dict[str, frozenset[str]] = {
    Status.SCHEDULED: frozenset({Status.LIVE, Status.ENDED, Status.CANCELLED}),
    Status.LIVE: frozenset({Status.ENDED}),
    Status.ENDED: frozenset(),
    Status.CANCELLED: frozenset(),
}
# Someone can still be in the room, or get into it.
OPEN_STATUSES = (Status.SCHEDULED, Status.LIVE)


def sources_of(target: str) -> list[str]:
    return [source for source, targets in TRANSITIONS.items() if target in targets]


def can_move(source: str, target: str) -> bool:
    return target in TRANSITIONS.get(source, frozenset())


def _move(occurrences: QuerySet[Occurrence], target: str, **fields: Any) -> int:
    return occurrences.filter(status__in=sources_of(target)).update(status=target, **fields)


def start(*, occurrence_id: int, now: datetime) -> bool:
    """The first admission: scheduled -> live. False if it was live (or over) already."""
    return bool(_move(Occurrence.objects.filter(pk=occurrence_id), Status.LIVE, started_at=now))


def end(*, occurrence_id: int, now: datetime) -> bool:
    """scheduled or live -> ended. False for whoever lost the race (or a closed sitting)."""
    return bool(_move(Occurrence.objects.filter(pk=occurrence_id), Status.ENDED, ended_at=now))


def cancel(*, occurrence_id: int) -> bool:
    """scheduled -> cancelled (a sitting that started can't be cancelled, only ended)."""
    return bool(
        _move(Occurrence.objects.filter(pk=occurrence_id), Status.CANCELLED, is_override=True)
    )


def cancel_all_scheduled(occurrences: QuerySet[Occurrence]) -> int:
    """Cancel every sitting of ``occurrences`` that has not started (a cancelled series)."""
    return occurrences.filter(status=Status.SCHEDULED).update(status=Status.CANCELLED)


def require(occurrence: Occurrence, target: str) -> None:
    """Raise ``InvalidTransition`` unless ``occurrence`` may move to ``target`` now."""
    if not can_move(occurrence.status, target):
        raise InvalidTransition(
            f"This meeting is {Status(occurrence.status).label.lower()}: it can't be "
            f"{Status(target).label.lower()} now."
        )
