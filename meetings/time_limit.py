"""How long a sitting may last: the host's plan sets it, the room enforces it.

A sitting is warned when 5 and then 1 minute are left, and ends for everyone at the
limit, through the same service as the host's "end for everyone". Time counts from
``Occurrence.started_at``: the first admission (``lobby._mark_live``), not the scheduled
start, so a meeting opened late gets its whole allowance.

Who checks, and why it happens once:

- Every room connection keeps a timer that wakes at its sitting's next threshold
  (``seconds_until_next``) and runs ``check``. That is exact to the second, and it is
  all the embedded default has (one process, eager Celery, no beat).
- With Redis, beat runs ``meetings.tasks.enforce_time_limits`` every 30 s as a backstop:
  for sittings nobody is connected to, a process that restarted, or a plan that changed
  while a timer slept.

Several connections and processes may wake for the same threshold. A warning is claimed
with an atomic cache add (SET NX on Redis, shared by every process); the end is claimed
by moving the occurrence out of "live" under its row lock. Whoever loses does nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from billing.entitlements import entitlements_for, shortest_meeting_minutes

from . import lobby
from .models import Occurrence

# Minutes left when the room is warned, latest last.
WARNINGS = (5, 1)
# A claim outlives any sitting (a day at most), then expires on its own.
CLAIM_TTL_SECONDS = 2 * 24 * 3600
# A sleeping timer looks again this often, in case the host's plan changed meanwhile.
MAX_SLEEP_SECONDS = 120.0


@dataclass(frozen=True)
class SittingLimit:
    occurrence_id: int
    started_at: datetime
    limit_minutes: int
    plan_name: str

    @property
    def ends_at(self) -> datetime:
        return self.started_at + timedelta(minutes=self.limit_minutes)

    def warn_at(self, minutes_left: int) -> datetime:
        return self.ends_at - timedelta(minutes=minutes_left)


@dataclass(frozen=True)
class Outcome:
    """What a check did: the room-wide messages to send, and whether the sitting ended."""

    messages: tuple[dict[str, Any], ...] = field(default=())
    ended: bool = False


def upgrade_url() -> str | None:
    """Where a host can raise the limit; resolved at runtime, as billing's pages may move."""
    try:
        return reverse("billing:plans")
    except NoReverseMatch:
        return None


def limit_of(occurrence: Occurrence) -> SittingLimit | None:
    """The live sitting's limit under the host's plan now; None when it is not running."""
    if occurrence.status != Occurrence.Status.LIVE or occurrence.started_at is None:
        return None
    plan = entitlements_for(occurrence.meeting.host)
    return SittingLimit(
        occurrence_id=occurrence.pk,
        started_at=occurrence.started_at,
        limit_minutes=plan.max_meeting_minutes,
        plan_name=plan.plan_name,
    )


def _live(occurrence_id: int) -> Occurrence | None:
    return (
        Occurrence.objects.select_related("meeting__host")
        .filter(pk=occurrence_id, status=Occurrence.Status.LIVE, started_at__isnull=False)
        .first()
    )


def _claim_key(limit: SittingLimit, minutes_left: int) -> str:
    # The start and the limit are part of the key: a plan change moves the thresholds,
    # and the moved ones are warned again.
    started = int(limit.started_at.timestamp())
    return (
        f"meetings.time-limit.{limit.occurrence_id}.{started}.{limit.limit_minutes}.{minutes_left}"
    )


def _claimed(limit: SittingLimit, minutes_left: int) -> bool:
    return cache.get(_claim_key(limit, minutes_left)) is not None


def _claim(limit: SittingLimit, minutes_left: int) -> bool:
    return bool(cache.add(_claim_key(limit, minutes_left), True, timeout=CLAIM_TTL_SECONDS))


def warning_message(limit: SittingLimit, minutes_left: int) -> dict[str, Any]:
    return {
        "type": "time_limit_warning",
        "minutes_left": minutes_left,
        "ends_at": limit.ends_at.isoformat(),
        "limit_minutes": limit.limit_minutes,
        "plan": limit.plan_name,
        "upgrade_url": upgrade_url(),
    }


def ended_message(limit: SittingLimit) -> dict[str, Any]:
    return {
        "type": "meeting_ended",
        "reason": "time_limit",
        "limit_minutes": limit.limit_minutes,
        "plan": limit.plan_name,
        "upgrade_url": upgrade_url(),
    }


def _end(occurrence_id: int) -> bool:
    """End the sitting for everyone, once: only the caller whose move wins ends it."""
    return lobby.end_occurrence(occurrence=Occurrence(pk=occurrence_id))


def check(*, occurrence_id: int, now: datetime | None = None) -> Outcome:
    """Warn or end the sitting if it crossed a threshold nobody has acted on yet.

    A checker that arrives late (after both warnings were due) sends only the latest and
    claims the earlier one with it, so nobody is told "5 minutes left" with 1 to go.
    """
    now = now or timezone.now()
    occurrence = _live(occurrence_id)
    limit = limit_of(occurrence) if occurrence is not None else None
    if limit is None:
        return Outcome()
    if now >= limit.ends_at:
        if _end(occurrence_id):
            return Outcome(messages=(ended_message(limit),), ended=True)
        return Outcome()
    due = [minutes for minutes in WARNINGS if now >= limit.warn_at(minutes)]
    if not due:
        return Outcome()
    latest = due[-1]
    won = _claim(limit, latest)
    for earlier in due[:-1]:
        _claim(limit, earlier)
    return Outcome(messages=(warning_message(limit, latest),)) if won else Outcome()


def seconds_until_next(*, occurrence_id: int, now: datetime | None = None) -> float | None:
    """How long a room timer should sleep before its next ``check``; None once the sitting
    is over. Zero when a threshold is due and unclaimed."""
    now = now or timezone.now()
    occurrence = _live(occurrence_id)
    limit = limit_of(occurrence) if occurrence is not None else None
    if limit is None:
        return None
    pending = [limit.warn_at(m) for m in WARNINGS if not _claimed(limit, m)] + [limit.ends_at]
    upcoming = min(pending)
    if upcoming <= now:
        return 0.0
    return min((upcoming - now).total_seconds(), MAX_SLEEP_SECONDS)


def due_sittings(*, now: datetime | None = None) -> list[int]:
    """Live sittings old enough that a threshold may be due under the shortest plan."""
    now = now or timezone.now()
    first_warning = max(shortest_meeting_minutes() - max(WARNINGS), 0)
    return list(
        Occurrence.objects.filter(
            status=Occurrence.Status.LIVE,
            started_at__lte=now - timedelta(minutes=first_warning),
        )
        .order_by("started_at")
        .values_list("pk", flat=True)
    )


def snapshot_entry(occurrence: Occurrence) -> dict[str, Any] | None:
    """For the room's snapshot: when the sitting ends, so a late joiner sees the countdown."""
    limit = limit_of(occurrence)
    if limit is None:
        return None
    return {
        "ends_at": limit.ends_at.isoformat(),
        "limit_minutes": limit.limit_minutes,
        "plan": limit.plan_name,
        "upgrade_url": upgrade_url(),
    }
