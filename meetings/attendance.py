"""Attendance arithmetic: who was present, for how long, and how many at once.

A person is a signed-in user, or a guest's email address. A person's time is the union
of their sessions, so a rejoin adds only the new time and two devices at once count once.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from .models import Occurrence, ParticipantSession

Interval = tuple[datetime, datetime]


@dataclass(frozen=True)
class PersonAttendance:
    key: str
    display_name: str
    email: str
    is_host: bool
    sessions: int
    first_joined: datetime
    last_left: datetime | None  # None while still present
    seconds: int
    intervals: tuple[Interval, ...]
    links: tuple[str, ...]

    @property
    def minutes(self) -> float:
        return round(self.seconds / 60, 1)


@dataclass(frozen=True)
class Summary:
    unique_participants: int
    peak_concurrent: int
    person_minutes: float


EMPTY_SUMMARY = Summary(0, 0, 0.0)


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def peak(per_person: Iterable[list[Interval]]) -> int:
    """The most people present at the same instant (a leave at t precedes a join at t)."""
    events = sorted(
        (moment, delta)
        for intervals in per_person
        for start, end in intervals
        for moment, delta in ((start, 1), (end, -1))
    )
    current = best = 0
    for _, delta in events:
        current += delta
        best = max(best, current)
    return best


def _person_key(session: ParticipantSession) -> str:
    return f"user:{session.user_id}" if session.user_id else f"email:{session.email.lower()}"


def _link_label(session: ParticipantSession) -> str:
    if session.is_host:
        return "host"
    if session.invitation_id:
        return f"personal link ({session.invitation.email if session.invitation else 'removed'})"
    return "meeting link"


def people(
    sessions: Iterable[ParticipantSession], *, now: datetime | None = None
) -> list[PersonAttendance]:
    """One row per person from sessions that got past the lobby."""
    now = now or timezone.now()
    grouped: dict[str, list[ParticipantSession]] = defaultdict(list)
    for session in sessions:
        if session.admitted_at is not None:
            grouped[_person_key(session)].append(session)
    rows = []
    for key, own in grouped.items():
        intervals = merge(
            (s.admitted_at, s.left_at or now) for s in own if s.admitted_at is not None
        )
        latest = max(own, key=lambda s: s.admitted_at or now)
        still_here = any(s.left_at is None for s in own)
        rows.append(
            PersonAttendance(
                key=key,
                display_name=latest.display_name,
                email=latest.email,
                is_host=any(s.is_host for s in own),
                sessions=len(own),
                first_joined=intervals[0][0],
                last_left=None if still_here else max(s.left_at for s in own if s.left_at),
                seconds=int(
                    sum(((end - start) for start, end in intervals), timedelta()).total_seconds()
                ),
                intervals=tuple(intervals),
                links=tuple(sorted({_link_label(s) for s in own})),
            )
        )
    return sorted(rows, key=lambda row: (row.first_joined, row.display_name))


def summarise(rows: list[PersonAttendance]) -> Summary:
    if not rows:
        return EMPTY_SUMMARY
    return Summary(
        unique_participants=len(rows),
        peak_concurrent=peak(list(row.intervals) for row in rows),
        person_minutes=round(sum(row.seconds for row in rows) / 60, 1),
    )


def attendance_for(
    occurrence: Occurrence, *, now: datetime | None = None
) -> list[PersonAttendance]:
    sessions = occurrence.sessions.filter(admitted_at__isnull=False).select_related("invitation")
    return people(sessions, now=now)


def summaries_for(
    occurrences: Iterable[Occurrence], *, now: datetime | None = None
) -> dict[int, Summary]:
    """Summaries for many occurrences with one query (the dashboard's past meetings)."""
    ids = [occurrence.pk for occurrence in occurrences]
    by_occurrence: dict[int, list[ParticipantSession]] = defaultdict(list)
    sessions = ParticipantSession.objects.filter(
        occurrence_id__in=ids, admitted_at__isnull=False
    ).select_related("invitation")
    for session in sessions:
        by_occurrence[session.occurrence_id].append(session)
    return {pk: summarise(people(by_occurrence.get(pk, []), now=now)) for pk in ids}
