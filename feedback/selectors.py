"""Reads of the survey: one sitting's ratings for its host, and the staff dashboard."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db.models import Avg, Count, F, QuerySet
from django.db.models.functions import TruncDate

from meetings.models import Occurrence
from meetings.selectors import admitted_per_day

from .models import CallRating, Reason

REASON_LABELS: dict[str, str] = dict(Reason.choices)
DASHBOARD_DAYS = 90
WORST_CALLS = 25


@dataclass(frozen=True)
class Share:
    label: str
    count: int
    percent: int


@dataclass(frozen=True)
class SittingRatings:
    count: int
    average: float | None
    distribution: list[Share]  # 5 stars first
    reasons: list[Share]  # most named first
    comments: list[CallRating]  # with the participant, for their name


def _reasons(ratings: list[CallRating] | QuerySet[CallRating]) -> Counter[str]:
    return Counter(reason for rating in ratings for reason in rating.reasons)


def _shares(counts: list[tuple[str, int]], total: int) -> list[Share]:
    return [Share(label, n, round(100 * n / total) if total else 0) for label, n in counts]


def for_sitting(occurrence: Occurrence) -> SittingRatings:
    """What the host sees on the sitting's report: only this sitting's answers."""
    ratings = list(
        CallRating.objects.filter(occurrence=occurrence)
        .select_related("participant")
        .order_by("created_at", "pk")
    )
    total = len(ratings)
    stars = Counter(r.stars for r in ratings)
    reasons = _reasons(ratings)
    return SittingRatings(
        count=total,
        average=round(sum(r.stars for r in ratings) / total, 2) if total else None,
        distribution=_shares([(f"{s} ★", stars[s]) for s in range(5, 0, -1)], total),
        reasons=_shares([(REASON_LABELS.get(k, k), n) for k, n in reasons.most_common()], total),
        comments=[r for r in ratings if r.comment],
    )


# --- the staff dashboard ---------------------------------------------------------------


@dataclass(frozen=True)
class Day:
    day: date
    answers: int
    average: float | None
    participants: int

    @property
    def response_rate(self) -> float | None:
        return round(100 * self.answers / self.participants, 1) if self.participants else None


@dataclass(frozen=True)
class Group:
    label: str
    answers: int
    average: float


def window_start(now: datetime, days: int = DASHBOARD_DAYS) -> datetime:
    """Midnight UTC ``days - 1`` days ago: the dashboard's days are whole UTC days."""
    start = now.astimezone(UTC).date() - timedelta(days=days - 1)
    return datetime(start.year, start.month, start.day, tzinfo=UTC)


def in_window(now: datetime) -> QuerySet[CallRating]:
    return CallRating.objects.filter(created_at__gte=window_start(now))


def daily(now: datetime, days: int = DASHBOARD_DAYS) -> list[Day]:
    since = window_start(now, days)
    rows = {
        row["day"]: row
        for row in in_window(now)
        .annotate(day=TruncDate("created_at", tzinfo=UTC))
        .values("day")
        .annotate(n=Count("pk"), avg=Avg("stars"))
    }
    admitted = admitted_per_day(since=since)
    result = []
    for offset in range(days):
        day = since.date() + timedelta(days=offset)
        row: dict[str, Any] = rows.get(day, {})
        avg = row.get("avg")
        result.append(
            Day(
                day,
                row.get("n", 0),
                round(avg, 2) if avg is not None else None,
                admitted.get(day, 0),
            )
        )
    return result


def reasons_ranked(now: datetime) -> list[Share]:
    ratings = in_window(now).only("reasons")
    counts = _reasons(ratings)
    return _shares([(REASON_LABELS.get(k, k), n) for k, n in counts.most_common()], ratings.count())


def _grouped(now: datetime, *fields: str) -> list[dict[str, Any]]:
    return list(
        in_window(now)
        .values(*fields)
        .annotate(n=Count("pk"), avg=Avg("stars"))
        .order_by("avg", "-n", *fields)
    )


def by_browser(now: datetime) -> list[Group]:
    return [
        Group(
            f"{row['browser_family'] or 'Unknown'} {row['browser_major'] or ''}".strip(),
            row["n"],
            round(row["avg"], 2),
        )
        for row in _grouped(now, "browser_family", "browser_major")
    ]


def by_media_worker(now: datetime) -> list[Group]:
    return [
        Group(row["media_worker"] or "Unknown", row["n"], round(row["avg"], 2))
        for row in _grouped(now, "media_worker")
    ]


def worst_calls(now: datetime, limit: int = WORST_CALLS) -> list[CallRating]:
    """Lowest ratings first, the lossiest and slowest of those first."""
    return list(
        in_window(now)
        .select_related("occurrence__meeting")
        .order_by(
            "stars",
            F("packet_loss_pct").desc(nulls_last=True),
            F("rtt_ms").desc(nulls_last=True),
            "-created_at",
        )[:limit]
    )


def export_rows(now: datetime) -> QuerySet[CallRating]:
    return in_window(now).select_related("occurrence").order_by("created_at", "pk")
