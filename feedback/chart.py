"""The dashboard's 90-day chart, drawn server-side as SVG coordinates (no script), in the
way the finance overview draws MRR: the average rating (1-5) and the response rate (%)."""

from __future__ import annotations

from dataclasses import dataclass

from .selectors import Day

WIDTH, HEIGHT, PAD = 720, 240, 40


@dataclass(frozen=True)
class Series:
    path: str  # polyline points; days without answers break nothing, they are left out
    points: list[tuple[float, float, str]]  # x, y, tooltip


@dataclass(frozen=True)
class QualityChart:
    width: int
    height: int
    average: Series
    response: Series
    ticks: list[tuple[float, str, str]]  # y, stars label (left), percent label (right)
    months: list[tuple[float, str]]  # x, label under the axis at each month's first day


def _y(fraction: float) -> float:
    return round(PAD + (HEIGHT - 2 * PAD) * (1 - fraction), 1)


def chart(days: list[Day]) -> QualityChart:
    step = (WIDTH - 2 * PAD) / max(len(days) - 1, 1)
    avg: list[tuple[float, float, str]] = []
    rate: list[tuple[float, float, str]] = []
    months = []
    for i, day in enumerate(days):
        x = round(PAD + i * step, 1)
        if day.average is not None:
            avg.append(
                (x, _y((day.average - 1) / 4), f"{day.day}: {day.average} ★ ({day.answers})")
            )
        if day.response_rate is not None:
            shown = min(day.response_rate, 100.0)
            rate.append((x, _y(shown / 100), f"{day.day}: {day.response_rate}% answered"))
        if day.day.day == 1:
            months.append((x, day.day.strftime("%b")))
    ticks = [(_y(f / 4), f"{1 + f}", f"{25 * f}%") for f in range(5)]
    return QualityChart(
        WIDTH,
        HEIGHT,
        Series(" ".join(f"{x},{y}" for x, y, _ in avg), avg),
        Series(" ".join(f"{x},{y}" for x, y, _ in rate), rate),
        ticks,
        months,
    )
