"""The `quality` area: the survey's dashboard and CSV for the quality-assurance role.

Both show comments, which may name people, so every view writes one audit entry."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.roles import QUALITY_ASSURANCE
from accounts.staff import role_required
from common.safe_csv import csv_lines
from privacy import audit

from . import selectors
from .chart import chart

CSV_HEADER = (
    "answered_at_utc",
    "sitting",
    "stars",
    "reasons",
    "comment",
    "browser_family",
    "browser_major",
    "media_worker",
    "used_turn",
    "packet_loss_pct",
    "rtt_ms",
)


def _audit(request: HttpRequest, *, view: str, rows: int) -> None:
    audit.record(
        actor=request.user,
        action=f"feedback.{view}",
        target_type="call_ratings",
        target_id=f"last-{selectors.DASHBOARD_DAYS}-days",
        purpose="Monitor and improve call quality from the survey's answers",
        details={"rows": rows},
    )


@role_required(QUALITY_ASSURANCE)
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    days = selectors.daily(now)
    worst = selectors.worst_calls(now)
    _audit(request, view="dashboard.view", rows=len(worst))
    answered = [d for d in days if d.answers]
    total = sum(d.answers for d in days)
    context = {
        "days": days,
        "chart": chart(days),
        "total": total,
        "average": round(sum((d.average or 0) * d.answers for d in answered) / total, 2)
        if total
        else None,
        "participants": sum(d.participants for d in days),
        "reasons": selectors.reasons_ranked(now),
        "browsers": selectors.by_browser(now),
        "workers": selectors.by_media_worker(now),
        "worst": worst,
        "window_days": selectors.DASHBOARD_DAYS,
    }
    return render(request, "feedback/staff_dashboard.html", context)


@role_required(QUALITY_ASSURANCE)
@require_GET
def dashboard_csv(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    ratings = selectors.export_rows(now)
    _audit(request, view="csv.download", rows=ratings.count())
    rows = (
        (
            r.created_at.isoformat(),
            str(r.occurrence.public_id),
            r.stars,
            " ".join(r.reasons),
            r.comment,
            r.browser_family,
            r.browser_major,
            r.media_worker,
            "" if r.used_turn is None else ("yes" if r.used_turn else "no"),
            r.packet_loss_pct,
            r.rtt_ms,
        )
        for r in ratings.iterator()
    )
    # 90 days of answers: small enough to build in memory.
    response = HttpResponse("".join(csv_lines(CSV_HEADER, rows)), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="call-quality-{now:%Y-%m-%d}.csv"'
    response["Cache-Control"] = "private, no-store"
    return response
