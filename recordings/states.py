"""The recording state machine: the allowed moves, in one place.

    recording --stop--> processing --done--> ready
                            |  ^
                       fail v  | retry
                          failed

Every move is a conditional UPDATE on the current state, so two workers (or a worker and
the host) racing for the same move cannot both win.
"""

from __future__ import annotations

from typing import Any

from recordings.errors import InvalidTransition
from recordings.models import Recording

State = Recording.State

MOVES: dict[str, frozenset[str]] = {
    State.RECORDING: frozenset({State.PROCESSING}),
    State.PROCESSING: frozenset({State.READY, State.FAILED}),
    State.FAILED: frozenset({State.PROCESSING}),
    State.READY: frozenset(),
}


def can_move(source: str, target: str) -> bool:
    return target in MOVES.get(source, frozenset())


def move(recording_id: int, *, source: str, target: str, **columns: Any) -> bool:
    """Move ``source`` -> ``target`` and set ``columns``; False if it was not in ``source``."""
    if not can_move(source, target):
        raise InvalidTransition(f"A recording can't go from {source} to {target}.")
    return bool(
        Recording.objects.filter(pk=recording_id, state=source).update(state=target, **columns)
    )
