"""The access export of a busy host: everything about them, and the ZIP it is delivered in.

The host has MEETINGS meetings over two years, one sitting each, and SESSIONS attendance
rows in them (the host plus nine others a sitting, some signed in, some guests who came
back on a second device), all bulk-created.

Timed, RUNS times each:
- gather: `privacy.requests.data_map.export_person`, every app's export function;
- ZIP: `privacy.requests.export_zip.build_export_zip`, the gather plus data.json and one
  CSV per section, deflated, as the access request's Celery job builds it.
"""

import secrets
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from . import Report, Result, django_test_database

MEETINGS = 10_000
PER_SITTING = 10  # the host and nine others
SESSIONS = MEETINGS * PER_SITTING
OTHER_ACCOUNTS = 200
RUNS = 5
START = datetime(2024, 1, 1, 15, 0, tzinfo=UTC)


def run() -> Report:
    with django_test_database("privacy_export") as vendor:
        started = time.perf_counter()
        host = _fill()
        fill_s = time.perf_counter() - started
        from privacy.subjects import Subject

        subject = Subject.for_user(host)
        gather, sections = _bench_gather(subject)
        archive, size = _bench_zip(subject)
        from meetings.models import Meeting, ParticipantSession

        return Report(
            results=[gather, archive],
            context={
                "database": vendor,
                "meetings": Meeting.objects.filter(host=host).count(),
                "attendance_rows": ParticipantSession.objects.filter(
                    occurrence__meeting__host=host
                ).count(),
                "rows_in_export": sections,
                "zip_bytes": size,
                "fill_seconds": round(fill_s, 1),
            },
        )


def _fill():  # type: ignore[no-untyped-def]
    from accounts.models import User
    from meetings.models import Meeting, Occurrence, ParticipantSession

    host = User.objects.create_user("busy.host@bench.example", full_name="Busy Host")
    others = User.objects.bulk_create(
        [
            User(email=f"regular{i}@bench.example", full_name=f"Regular {i}", password="!")
            for i in range(OTHER_ACCOUNTS)
        ]
    )
    Meeting.objects.bulk_create(
        [
            Meeting(
                host=host,
                title=f"Weekly sync {i}",
                agenda="Status, blockers, next steps",
                time_zone="America/Los_Angeles",
                starts_on=(START + timedelta(hours=2 * i)).date(),
                start_time=(START + timedelta(hours=2 * i)).time(),
                duration_minutes=45,
                join_token=secrets.token_urlsafe(24),
                status=Meeting.Status.SCHEDULED,
            )
            for i in range(MEETINGS)
        ],
        batch_size=2_000,
    )
    meetings = list(Meeting.objects.filter(host=host).order_by("pk").values_list("pk", flat=True))
    Occurrence.objects.bulk_create(
        [
            Occurrence(
                meeting_id=meeting_pk,
                original_start=START + timedelta(hours=2 * i),
                starts_at=START + timedelta(hours=2 * i),
                duration_minutes=45,
                status="ended",
                started_at=START + timedelta(hours=2 * i),
                ended_at=START + timedelta(hours=2 * i, minutes=45),
            )
            for i, meeting_pk in enumerate(meetings)
        ],
        batch_size=2_000,
    )
    occurrences = Occurrence.objects.filter(meeting__host=host).order_by("starts_at")
    sessions = []
    for i, (occurrence_pk, starts_at) in enumerate(occurrences.values_list("pk", "starts_at")):
        for k in range(PER_SITTING):
            joined = starts_at + timedelta(minutes=k % 7)
            left = joined + timedelta(minutes=20 + (i + k) % 25)
            signed_in = k % 3 == 1
            person = others[(i * 7 + k) % OTHER_ACCOUNTS] if signed_in else None
            email = (
                host.email
                if k == 0
                else person.email
                if person is not None
                # A guest on a second device shows up with the same address twice.
                else f"guest{(i * 31 + k // 2) % 5_000}@bench.example"
            )
            sessions.append(
                ParticipantSession(
                    occurrence_id=occurrence_pk,
                    user=host if k == 0 else person,
                    email=email,
                    display_name="Busy Host" if k == 0 else f"Guest {k}",
                    is_host=k == 0,
                    state=ParticipantSession.State.LEFT,
                    requested_at=joined,
                    admitted_at=joined,
                    left_at=left,
                    last_seen_at=left,
                    leave_reason=ParticipantSession.LeaveReason.LEFT,
                )
            )
    ParticipantSession.objects.bulk_create(sessions, batch_size=5_000)
    return host


def _bench_gather(subject) -> tuple[Result, dict[str, int]]:  # type: ignore[no-untyped-def]
    from privacy.requests import data_map

    timings: list[int] = []
    data = {}
    started = time.perf_counter()
    for _ in range(RUNS):
        t0 = time.perf_counter_ns()
        data = data_map.export_person(subject)
        timings.append(time.perf_counter_ns() - t0)
    total = time.perf_counter() - started
    sections = {
        f"{app}/{section}": len(rows)
        for app, parts in data.items()
        for section, rows in parts.items()
        if rows
    }
    return Result.from_timings("gather (every app's export)", timings, total), sections


def _bench_zip(subject) -> tuple[Result, int]:  # type: ignore[no-untyped-def]
    from privacy.requests.export_zip import build_export_zip

    timings: list[int] = []
    size = 0
    with tempfile.TemporaryDirectory(prefix="bench-export-") as scratch:
        started = time.perf_counter()
        for run_number in range(RUNS):
            destination = Path(scratch) / f"export-{run_number}.zip"
            t0 = time.perf_counter_ns()
            build_export_zip(subject, destination=destination)
            timings.append(time.perf_counter_ns() - t0)
            size = destination.stat().st_size
        total = time.perf_counter() - started
    return Result.from_timings("ZIP (gather, JSON, CSV, deflate)", timings, total), size
