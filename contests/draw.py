"""The draw as a pure function of a seed and an ordered entry list, so anyone can redo it.

Production takes the seed from `secrets` (32 bytes from the operating system's CSPRNG);
HMAC-SHA256 keyed by that seed then stretches it into as many unbiased integers as the
draw needs (rejection sampling, so every index is exactly equally likely), and a partial
Fisher-Yates shuffle picks the winners without repeats. The seed and the SHA-256 of the
ordered list go into the audit log; with the list, `verify` repeats the draw.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

ALGORITHM = "hmac-sha256-fisher-yates-v1"
SEED_BYTES = 32
_SPACE = 2**64


def new_seed() -> bytes:
    return secrets.token_bytes(SEED_BYTES)


def list_digest(entry_ids: Sequence[str]) -> str:
    """SHA-256 of the ordered entry ids, one per line."""
    return hashlib.sha256("\n".join(entry_ids).encode()).hexdigest()


def _uniform_below(seed: bytes, counter: int, n: int) -> tuple[int, int]:
    """An integer in [0, n), uniform, and the counter to use next."""
    limit = _SPACE - _SPACE % n  # values at or above this would favour small results
    while True:
        block = hmac.new(seed, counter.to_bytes(8, "big"), hashlib.sha256).digest()
        counter += 1
        value = int.from_bytes(block[:8], "big")
        if value < limit:
            return value % n, counter


def pick_winners(*, seed: bytes, entry_ids: Sequence[str], count: int) -> list[str]:
    """`count` distinct ids (all of them if fewer), in the order they were drawn."""
    pool = list(entry_ids)
    winners: list[str] = []
    counter = 0
    for index in range(min(count, len(pool))):
        offset, counter = _uniform_below(seed, counter, len(pool) - index)
        chosen = index + offset
        pool[index], pool[chosen] = pool[chosen], pool[index]
        winners.append(pool[index])
    return winners


@dataclass(frozen=True)
class DrawRecord:
    """What the audit log keeps of a draw (its `details`): enough to redo it."""

    seed_hex: str
    entries_sha256: str
    entry_count: int
    winners_requested: int
    winners: tuple[str, ...]
    algorithm: str = ALGORITHM

    def as_details(self) -> dict[str, Any]:
        return {
            "algorithm": self.algorithm,
            "seed": self.seed_hex,
            "entries_sha256": self.entries_sha256,
            "entry_count": self.entry_count,
            "winners_requested": self.winners_requested,
            "winners": list(self.winners),
        }

    @classmethod
    def from_details(cls, details: Mapping[str, Any]) -> DrawRecord:
        return cls(
            seed_hex=str(details["seed"]),
            entries_sha256=str(details["entries_sha256"]),
            entry_count=int(details["entry_count"]),
            winners_requested=int(details["winners_requested"]),
            winners=tuple(str(w) for w in details["winners"]),
            algorithm=str(details["algorithm"]),
        )


def draw(*, entry_ids: Sequence[str], count: int, seed: bytes | None = None) -> DrawRecord:
    seed = new_seed() if seed is None else seed
    return DrawRecord(
        seed_hex=seed.hex(),
        entries_sha256=list_digest(entry_ids),
        entry_count=len(entry_ids),
        winners_requested=count,
        winners=tuple(pick_winners(seed=seed, entry_ids=entry_ids, count=count)),
    )


@dataclass(frozen=True)
class Verification:
    list_matches: bool
    winners_match: bool
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.list_matches and self.winners_match


def verify(*, details: Mapping[str, Any], entry_ids: Sequence[str]) -> Verification:
    """Redo the draw the audit `details` describe over `entry_ids`, the ordered list."""
    try:
        record = DrawRecord.from_details(details)
        seed = bytes.fromhex(record.seed_hex)
    except (KeyError, TypeError, ValueError):
        return Verification(False, False, "The audit entry does not describe a draw.")
    if record.algorithm != ALGORITHM:
        return Verification(False, False, f"Unknown draw algorithm {record.algorithm!r}.")
    list_matches = (
        len(entry_ids) == record.entry_count and list_digest(entry_ids) == record.entries_sha256
    )
    redone = pick_winners(seed=seed, entry_ids=entry_ids, count=record.winners_requested)
    winners_match = tuple(redone) == record.winners
    problem = ""
    if not list_matches:
        problem = "The entry list is not the one the draw hashed."
    elif not winners_match:
        problem = "Redoing the draw with its seed picks other winners."
    return Verification(list_matches, winners_match, problem)
