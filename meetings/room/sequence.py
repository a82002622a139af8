"""The room's sequence: one counter per occurrence numbers its room-wide events.

Kept in the cache: an atomic INCR on Redis, so every web process draws from the same
sequence, and a client that sees a gap knows it missed something and asks for a resync.
"""

from __future__ import annotations

from django.core.cache import cache

# A sitting lasts at most a day; the counter outlives it, then expires on its own.
SEQ_TTL_SECONDS = 2 * 24 * 3600


def _seq_key(occurrence_id: int) -> str:
    return f"meetings.room.seq.{occurrence_id}"


def count(key: str, *, ttl: int) -> int:
    """Atomically add one to a counter in the cache (INCR on Redis), starting from 1."""
    for _ in range(3):
        cache.add(key, 0, timeout=ttl)
        try:
            return int(cache.incr(key))
        except ValueError:  # expired between add and incr
            continue
    raise RuntimeError(f"could not advance the counter {key}")


def current_seq(*, occurrence_id: int) -> int:
    return int(cache.get(_seq_key(occurrence_id), 0))


def next_seq(*, occurrence_id: int) -> int:
    """The next number of the occurrence's room-wide events (atomic across processes)."""
    return count(_seq_key(occurrence_id), ttl=SEQ_TTL_SECONDS)
