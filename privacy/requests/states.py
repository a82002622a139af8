"""The privacy request's stages and the only moves between them.

Every move is a conditional UPDATE on the expected stage, so two staff members (or a
task and a person) acting at once cannot both move the same request.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from privacy.models import PrivacyRequest

State = PrivacyRequest.State

MOVES: dict[str, frozenset[str]] = {
    State.UNVERIFIED: frozenset({State.RECEIVED, State.LAPSED, State.DENIED}),
    State.RECEIVED: frozenset({State.IN_PROGRESS, State.COMPLETED, State.DENIED}),
    State.IN_PROGRESS: frozenset({State.COMPLETED, State.DENIED}),
    State.COMPLETED: frozenset(),
    State.DENIED: frozenset(),
    State.LAPSED: frozenset(),
}
OPEN = frozenset({State.UNVERIFIED, State.RECEIVED, State.IN_PROGRESS})
CLOSED = frozenset({State.COMPLETED, State.DENIED, State.LAPSED})


class BadMove(Exception):
    pass


def can_move(current: str, target: str) -> bool:
    return target in MOVES.get(current, frozenset())


def move(request_id: int, *, to: str, **fields: Any) -> bool:
    """Move the request to `to` from any stage allowed to reach it; False if none matched."""
    sources = [state for state, targets in MOVES.items() if to in targets]
    if not sources:
        raise BadMove(f"Nothing moves to {to}.")
    if to in CLOSED:
        fields.setdefault("closed_at", timezone.now())
    return bool(
        PrivacyRequest.objects.filter(pk=request_id, state__in=sources).update(state=to, **fields)
    )


def move_from(request_id: int, *, current: str, to: str, **fields: Any) -> bool:
    """Move only if the request is still in `current` (a stale page moves nothing)."""
    if not can_move(current, to):
        raise BadMove(f"A request that is {current} cannot become {to}.")
    if to in CLOSED:
        fields.setdefault("closed_at", timezone.now())
    return bool(
        PrivacyRequest.objects.filter(pk=request_id, state=current).update(state=to, **fields)
    )
