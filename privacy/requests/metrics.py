"""The yearly figures the CCPA regulations ask businesses to be able to show.

Counts come from one grouped SQL query. The median is computed in Python over the
closed requests' durations, since SQLite has no median aggregate and the rows for one
year are few.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from django.db.models import Count, Q

from privacy.deadlines import legal_date, legal_year, legal_zone
from privacy.models import PrivacyRequest

Kind = PrivacyRequest.Kind
State = PrivacyRequest.State

DEFINITIONS = {
    "received": "Requests received during the year (by the California date they arrived), "
    "including those never verified.",
    "completed": "Of those, requests we complied with, fully or in part.",
    "denied": "Of those, requests we denied, with the reason told to the requester.",
    "lapsed": "Of those, requests whose requester never confirmed their email address.",
    "open": "Of those, requests not yet closed.",
    "median_days": "For the completed and denied ones: the median number of calendar days "
    "from the day of receipt to the day of the answer (California dates).",
}


@dataclass(frozen=True)
class KindFigures:
    kind: str
    label: str
    received: int
    completed: int
    denied: int
    lapsed: int
    open: int
    median_days: float | None


def _median(values: list[int]) -> float | None:
    return float(statistics.median(values)) if values else None


def yearly_metrics(*, year: int) -> list[KindFigures]:
    """One line per kind, then a line for all kinds together (kind "all")."""
    start, end = legal_year(year)
    in_year = PrivacyRequest.objects.filter(received_at__gte=start, received_at__lt=end)
    counts = {
        row["kind"]: row
        for row in in_year.values("kind").annotate(
            received=Count("pk"),
            completed=Count("pk", filter=Q(state=State.COMPLETED)),
            denied=Count("pk", filter=Q(state=State.DENIED)),
            lapsed=Count("pk", filter=Q(state=State.LAPSED)),
        )
    }
    durations: dict[str, list[int]] = {}
    closed = in_year.filter(
        state__in=(State.COMPLETED, State.DENIED), closed_at__isnull=False
    ).values_list("kind", "received_at", "closed_at")
    for kind, received_at, closed_at in closed:
        if closed_at is None:
            continue
        days = (legal_date(closed_at) - legal_date(received_at)).days
        durations.setdefault(kind, []).append(days)

    lines = []
    for kind in Kind:
        row = counts.get(kind.value, {})
        received = row.get("received", 0)
        completed, denied, lapsed = (row.get(key, 0) for key in ("completed", "denied", "lapsed"))
        lines.append(
            KindFigures(
                kind=kind.value,
                label=kind.label,
                received=received,
                completed=completed,
                denied=denied,
                lapsed=lapsed,
                open=received - completed - denied - lapsed,
                median_days=_median(durations.get(kind.value, [])),
            )
        )
    every = [days for values in durations.values() for days in values]
    lines.append(
        KindFigures(
            kind="all",
            label="All kinds",
            received=sum(line.received for line in lines),
            completed=sum(line.completed for line in lines),
            denied=sum(line.denied for line in lines),
            lapsed=sum(line.lapsed for line in lines),
            open=sum(line.open for line in lines),
            median_days=_median(every),
        )
    )
    return lines


def years_with_requests() -> list[int]:
    years = PrivacyRequest.objects.datetimes(
        "received_at", "year", order="DESC", tzinfo=legal_zone()
    )
    return [moment.year for moment in years]
