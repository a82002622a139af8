"""How much one participant session may send, whichever socket it sends from.

A token bucket per socket smooths bursts, but a client that reconnects in a loop gets a
fresh socket each time; so the budget belongs to the participant session and lives in the
cache (INCR on Redis, shared by every web process). Fixed windows: a message spends one
unit of the current window, a (re)connection spends ``CONNECT_COST`` units and one of the
window's few connections, since each costs everyone in the room an event.
"""

from __future__ import annotations

import logging
import time

from django.core.cache import cache

from .sequence import count

WINDOW_SECONDS = 10
# 20 messages a second sustained, as the per-socket bucket allows.
MESSAGES_PER_WINDOW = 200
# A reconnect loop may not turn into events for everyone: a few reconnects per window.
CONNECTS_PER_WINDOW = 5
CONNECT_COST = 10


def _window(now: float | None = None) -> int:
    return int((now if now is not None else time.time()) // WINDOW_SECONDS)


logger = logging.getLogger(__name__)


def _spend(kind: str, session_id: int, amount: int, limit: int) -> bool:
    key = f"meetings.room.budget.{kind}.{session_id}.{_window()}"
    try:
        spent = count(key, ttl=WINDOW_SECONDS * 2)
        if amount > 1:
            spent = int(cache.incr(key, amount - 1))
    except Exception:
        # The cache (Redis) is down: the per-socket bucket still limits each socket, and
        # heartbeats must keep flowing, or every session would time out with the outage.
        logger.warning("room budget unavailable; allowing session %s", session_id, exc_info=True)
        return True
    return spent <= limit


def take_message(*, session_id: int) -> bool:
    """Spend one message of the session's budget; False when it is spent."""
    return _spend("messages", session_id, 1, MESSAGES_PER_WINDOW)


def take_connection(*, session_id: int) -> bool:
    """A new socket of the session; False when it reconnects too often."""
    connects_ok = _spend("connects", session_id, 1, CONNECTS_PER_WINDOW)
    messages_ok = _spend("messages", session_id, CONNECT_COST, MESSAGES_PER_WINDOW)
    return connects_ok and messages_ok
