"""Meeting reminders: the beat scan's query, and claim-and-send on one worker.

- 100,000 sittings start in the next 24 hours (one-off meetings of 1,000 hosts, one
  invitee each), next to 100,000 that are over, as a table that has run for a while.
- scan query: `reminders.due_sittings` for each kind, as beat runs it every minute:
  sittings whose reminder has come due and is not armed yet. EXPLAIN ANALYZE of one run
  is printed and kept in the JSON (PostgreSQL).
- claim and send, on one worker with the console backend (its output discarded): the
  due 10-minute reminders of one scan (host and invitee of each sitting) armed, claimed
  and queued to the outbox in batches of `reminders.BATCH` as a worker does, then
  delivered from the outbox in batches of `mailer.DELIVERY_BATCH` (one claim, one
  connection each). Then end to end, twice: a beat scan 10 and 20 minutes on arms what
  has come due (both kinds) and hands it out in batches, and each batch is claimed,
  queued and delivered by the eager outbox task in the same process. p50/p99 are per
  reminder, from each batch's time (the scan's share included end to end). The scan
  query runs again once those claims are in the table.
"""

import contextlib
import io
import logging
import math
import time
from datetime import datetime, timedelta

from . import Report, Result, django_test_database, percentile

SITTINGS = 100_000
HOSTS = 1_000
SCAN_RUNS = 50


def run() -> Report:
    with django_test_database("reminders") as vendor:
        from django.conf import settings
        from django.utils import timezone

        from conferencing.celery import app as celery_app

        # One log line per eager delivery task would drown the table.
        logging.getLogger("celery.app.trace").setLevel(logging.WARNING)
        previous = (celery_app.conf.task_always_eager, settings.EMAIL_BACKEND)
        celery_app.conf.task_always_eager = True
        settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
        try:
            now = timezone.now()
            _populate(now)
            results = [_bench_scan(kind, now) for kind in ("24h", "10m")]
            results += _bench_send(now)
            # With the claims of the sends above in the table, as beat sees it.
            _analyze()
            results += [_bench_scan(kind, now) for kind in ("24h", "10m")]
            explain = _explain(now) if vendor == "postgresql" else ""
        finally:
            celery_app.conf.task_always_eager, settings.EMAIL_BACKEND = previous
        print(explain)
        return Report(
            results=results,
            context={
                "database": vendor,
                "sittings_next_24h": SITTINGS,
                "email_backend": "console",
                "scan_explain": explain,
            },
        )


def _populate(now) -> None:  # type: ignore[no-untyped-def]
    from accounts.models import User
    from meetings.models import Invitation, Meeting, Occurrence

    User.objects.bulk_create(
        [User(email=f"host{i}@bench.example", time_zone="Europe/Berlin") for i in range(HOSTS)],
        batch_size=1_000,
    )
    hosts = list(User.objects.values_list("pk", flat=True))
    meetings = Meeting.objects.bulk_create(
        [
            Meeting(
                host_id=hosts[i % HOSTS],
                title=f"Sync {i}",
                time_zone="Europe/Berlin",
                starts_on=now.date(),
                start_time=now.time(),
                duration_minutes=30,
                join_token=f"bench-{i}",
            )
            for i in range(2 * SITTINGS)
        ],
        batch_size=2_000,
    )
    step = timedelta(days=1) / SITTINGS
    Occurrence.objects.bulk_create(
        [
            Occurrence(
                meeting=meeting,
                original_start=start,
                starts_at=start,
                duration_minutes=30,
                status="scheduled" if i < SITTINGS else "ended",
            )
            for i, meeting in enumerate(meetings)
            # The first half in the next 24 hours, the second half over during the last 24.
            for start in [now + step * (i + 1) if i < SITTINGS else now - step * (i - SITTINGS)]
        ],
        batch_size=2_000,
    )
    Invitation.objects.bulk_create(
        [Invitation(meeting=m, email=f"guest{i}@bench.example") for i, m in enumerate(meetings)],
        batch_size=2_000,
    )
    _analyze()


def _analyze() -> None:
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def _explain(now) -> str:  # type: ignore[no-untyped-def]
    from django.db import connection

    from meetings.reminders import due_sittings

    sql, params = due_sittings("10m", now).values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


def _bench_scan(kind: str, now) -> Result:  # type: ignore[no-untyped-def]
    from meetings.reminders import due_sittings

    timings: list[int] = []
    started = time.perf_counter()
    for _ in range(SCAN_RUNS):
        t0 = time.perf_counter_ns()
        found = len(list(due_sittings(kind, now).values_list("pk", flat=True)))
        timings.append(time.perf_counter_ns() - t0)
    total = time.perf_counter() - started
    return Result.from_timings(f"scan query {kind} ({found:,} due)", timings, total)


def _bench_send(now) -> list[Result]:  # type: ignore[no-untyped-def]
    """One window of due 10-minute reminders claimed and queued with the outbox's
    hand-off to Celery left out, then delivered from the outbox; then two beat scans
    later on, sent all the way, as beat and a worker with eager delivery would."""
    from unittest import mock

    from meetings import reminders
    from meetings.models import ReminderDelivery
    from privacy.mailer import DELIVERY_BATCH, deliver_batch
    from privacy.models import OutgoingEmail

    reminders.arm("10m", now)
    window = sorted(ReminderDelivery.objects.values_list("pk", flat=True))
    with mock.patch("privacy.mailer._dispatch_all"):
        claim = _send_batches("claim and queue", window, now)
    queued = list(OutgoingEmail.objects.order_by("pk").values_list("pk", flat=True))
    timings: list[int] = []
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()) as discarded:
        for first in range(0, len(queued), DELIVERY_BATCH):
            batch = queued[first : first + DELIVERY_BATCH]
            t0 = time.perf_counter_ns()
            deliver_batch(batch)
            timings += [(time.perf_counter_ns() - t0) // len(batch)] * len(batch)
            discarded.seek(0)
            discarded.truncate()
    delivery = Result.from_timings(
        "outbox delivery (console)", timings, time.perf_counter() - started
    )
    both = _end_to_end([now + timedelta(minutes=10 * scan) for scan in (1, 2)])
    delivered = OutgoingEmail.objects.filter(status="sent").count()
    armed = ReminderDelivery.objects.count()
    if delivered != armed:
        raise RuntimeError(f"{armed} reminders armed, {delivered} delivered")
    return [claim, delivery, both]


def _end_to_end(scans: list[datetime]) -> Result:
    """Scan, claim, queue, deliver, as beat and one worker do: each scan arms what has
    come due and hands it out in batches (to this process: its dispatch is captured),
    then each batch is sent as the worker's task does, the outbox delivering eagerly."""
    from unittest import mock

    from meetings import reminders

    handed_out: list[list[int]] = []
    per_reminder: list[int] = []
    sent = 0
    started = time.perf_counter()
    with (
        mock.patch("meetings.reminders._dispatch", handed_out.append),
        contextlib.redirect_stdout(io.StringIO()) as discarded,
    ):
        for at in scans:
            t0 = time.perf_counter_ns()
            reminders.scan(now=at)
            scan_share = (time.perf_counter_ns() - t0) // max(1, len(handed_out))
            for batch in handed_out:
                t0 = time.perf_counter_ns()
                sent += reminders.send(batch, now=at)
                per_reminder += [(time.perf_counter_ns() - t0 + scan_share) // len(batch)] * len(
                    batch
                )
                discarded.seek(0)
                discarded.truncate()
            handed_out.clear()
    total = time.perf_counter() - started
    if sent != len(per_reminder):
        raise RuntimeError(f"{len(per_reminder)} handed out, {sent} sent")
    return _result("scan, claim, queue, deliver (console)", per_reminder, total)


def _send_batches(name: str, ids: list[int], now) -> Result:  # type: ignore[no-untyped-def]
    from meetings import reminders

    batches = [ids[i : i + reminders.BATCH] for i in range(0, len(ids), reminders.BATCH)]
    per_reminder: list[int] = []
    sent = 0
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()) as discarded:
        for batch in batches:
            t0 = time.perf_counter_ns()
            sent += reminders.send(batch, now=now)
            per_reminder += [(time.perf_counter_ns() - t0) // len(batch)] * len(batch)
            discarded.seek(0)
            discarded.truncate()
    total = time.perf_counter() - started
    if sent != len(ids):
        raise RuntimeError(f"{len(ids)} armed, {sent} sent")
    return _result(name, per_reminder, total)


def _result(name: str, per_reminder: list[int], total: float) -> Result:
    ordered = sorted(per_reminder)
    return Result(
        name=name,
        count=len(ordered),
        total_s=total,
        per_second=len(ordered) / total if total else math.inf,
        p50_ms=percentile(ordered, 50) / 1e6,
        p99_ms=percentile(ordered, 99) / 1e6,
    )
