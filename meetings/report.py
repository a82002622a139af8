"""The host's attendance report: the timeline picture's geometry and the CSV export.

The timeline is laid out here, in SVG user units, so the template only draws what it is
given: one row per person, a bar per stretch of presence, hour and minute ticks in the
host's time zone.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import IO
from zoneinfo import ZoneInfo

from django.utils.text import slugify

from common.safe_csv import FormulaSafeWriter

from .attendance import PersonAttendance
from .models import Occurrence

WIDTH = 960
LABEL_WIDTH = 190
PLOT_LEFT = 200
PLOT_RIGHT = WIDTH - 20
TOP = 8
ROW_HEIGHT = 30
BAR_HEIGHT = 18
AXIS_HEIGHT = 30
MAX_TICKS = 8
MAX_LABEL_CHARS = 24
TICK_STEPS_MINUTES = (1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720)
DASH = "\N{EN DASH}"

CSV_HEADER = (
    "Name",
    "Email",
    "Sessions",
    "First join (UTC)",
    "Last leave (UTC)",
    "First join (host time)",
    "Last leave (host time)",
    "Host time zone",
    "Minutes",
    "Link used",
)


@dataclass(frozen=True)
class Bar:
    x: float
    width: float
    label: str


@dataclass(frozen=True)
class Row:
    name: str
    full_name: str
    is_host: bool
    y: float
    text_y: float
    bars: tuple[Bar, ...]


@dataclass(frozen=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True)
class Timeline:
    width: int
    height: int
    plot_left: int
    plot_right: int
    plot_top: int
    plot_bottom: int
    axis_text_y: int
    rows: tuple[Row, ...]
    ticks: tuple[Tick, ...]
    scheduled: Bar
    bar_height: int
    description: str

    @property
    def plot_height(self) -> int:
        return self.plot_bottom - self.plot_top

    @property
    def label_x(self) -> int:
        return LABEL_WIDTH


def _clock(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%H:%M")


def _short(name: str) -> str:
    return name if len(name) <= MAX_LABEL_CHARS else name[: MAX_LABEL_CHARS - 1] + "…"


def _tick_step(span: timedelta) -> timedelta:
    minutes = span.total_seconds() / 60
    for step in TICK_STEPS_MINUTES:
        if minutes / step <= MAX_TICKS:
            return timedelta(minutes=step)
    return timedelta(minutes=TICK_STEPS_MINUTES[-1])


def _ticks(start: datetime, end: datetime, zone: ZoneInfo, x: "_Scale") -> list[Tick]:
    step = _tick_step(end - start)
    step_seconds = int(step.total_seconds())
    local = start.astimezone(zone)
    # Round up to the step on the local clock (whole hours stay whole in every zone).
    seconds_into_day = local.hour * 3600 + local.minute * 60 + local.second
    offset = (-seconds_into_day) % step_seconds
    # Step in UTC from there: adding to a zoned datetime would step on the wall clock.
    moment = (local + timedelta(seconds=offset)).astimezone(UTC).replace(microsecond=0)
    ticks = []
    while moment <= end:
        if moment >= start:
            ticks.append(Tick(x=x(moment), label=_clock(moment, zone)))
        moment += step
    return ticks


class _Scale:
    def __init__(self, start: datetime, end: datetime) -> None:
        self.start = start
        self.seconds = max((end - start).total_seconds(), 1.0)

    def __call__(self, moment: datetime) -> float:
        share = (moment - self.start).total_seconds() / self.seconds
        return round(PLOT_LEFT + share * (PLOT_RIGHT - PLOT_LEFT), 1)


def timeline(
    rows: list[PersonAttendance], *, occurrence: Occurrence, zone: ZoneInfo, now: datetime
) -> Timeline:
    """Who was present when, laid out for an inline SVG."""
    moments = [moment for row in rows for interval in row.intervals for moment in interval]
    start = min([occurrence.starts_at, *moments])
    end = max([occurrence.ends_at, *moments])
    if occurrence.status == Occurrence.Status.LIVE:
        end = max(end, now)
    x = _Scale(start, end)
    drawn = []
    for index, person in enumerate(rows):
        top = TOP + index * ROW_HEIGHT
        bars = tuple(
            Bar(
                x=x(begin),
                width=max(round(x(finish) - x(begin), 1), 2.0),
                label=f"{person.display_name}: {_clock(begin, zone)}{DASH}{_clock(finish, zone)}",
            )
            for begin, finish in person.intervals
        )
        drawn.append(
            Row(
                name=_short(person.display_name),
                full_name=person.display_name,
                is_host=person.is_host,
                y=top + (ROW_HEIGHT - BAR_HEIGHT) / 2,
                text_y=top + ROW_HEIGHT / 2 + 5,
                bars=bars,
            )
        )
    plot_bottom = TOP + max(len(rows), 1) * ROW_HEIGHT
    scheduled_label = (
        f"Scheduled {_clock(occurrence.starts_at, zone)}{DASH}{_clock(occurrence.ends_at, zone)}"
    )
    return Timeline(
        width=WIDTH,
        height=plot_bottom + AXIS_HEIGHT,
        plot_left=PLOT_LEFT,
        plot_right=PLOT_RIGHT,
        plot_top=TOP,
        plot_bottom=plot_bottom,
        axis_text_y=plot_bottom + 20,
        rows=tuple(drawn),
        ticks=tuple(_ticks(start, end, zone, x)),
        scheduled=Bar(
            x=x(occurrence.starts_at),
            width=round(x(occurrence.ends_at) - x(occurrence.starts_at), 1),
            label=scheduled_label,
        ),
        bar_height=BAR_HEIGHT,
        description=(
            f"{len(rows)} {'person' if len(rows) == 1 else 'people'} between "
            f"{_clock(start, zone)} and {_clock(end, zone)} ({zone.key}). "
            f"{scheduled_label}."
        ),
    )


def _iso_utc(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _iso_local(moment: datetime | None, zone: ZoneInfo) -> str:
    return "" if moment is None else moment.astimezone(zone).replace(microsecond=0).isoformat()


def write_csv(rows: Iterable[PersonAttendance], *, zone: ZoneInfo, out: IO[str]) -> None:
    """One line per person, times in ISO 8601: UTC, then the host's own clock. Guests
    choose their names, so the writer defuses cells a spreadsheet would run."""
    writer = FormulaSafeWriter(out)
    writer.writerow(CSV_HEADER)
    for row in rows:
        writer.writerow(
            [
                row.display_name,
                row.email,
                row.sessions,
                _iso_utc(row.first_joined),
                _iso_utc(row.last_left),
                _iso_local(row.first_joined, zone),
                _iso_local(row.last_left, zone),
                zone.key,
                f"{row.minutes:.1f}",
                "; ".join(row.links),
            ]
        )


def csv_filename(occurrence: Occurrence, *, zone: ZoneInfo) -> str:
    day = occurrence.starts_at.astimezone(zone).date().isoformat()
    return f"attendance-{slugify(occurrence.meeting.title) or 'meeting'}-{day}.csv"
