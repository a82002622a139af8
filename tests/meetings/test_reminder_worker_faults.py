"""Real Celery workers on Redis: one is SIGKILLed in the middle of a batch of reminders,
after queueing its emails and before the batch commits. Beat (in a second worker)
and a duplicated scan hand the rest out again, the dead worker's whole batch is
delivered a second time as well, and every recipient still gets exactly one reminder.

Needs PostgreSQL and Redis (CI has both): the workers share the test database and the
broker, as in tests/privacy/test_outbox_worker_faults.py."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from django.db import connections
from django.utils import timezone

from meetings import reminders, services
from meetings.models import ReminderDelivery
from meetings.schedule import Schedule
from meetings.tasks import send_reminders
from privacy.models import OutgoingEmail
from tests.celery_workers import NEEDS_REAL_WORKERS, Worker, wait_for
from tests.factories import UserFactory

INVITEES = [f"guest{n}@example.net" for n in range(8)]
PAUSE_AFTER = 3

pytestmark = NEEDS_REAL_WORKERS


class ReminderWorker(Worker):
    """A worker whose reminder batch can pause after its `pause_after`-th email (and
    say so by creating its marker file) until it is killed."""

    def __init__(self, tmp_path: Path, name: str, *, pause_after: int = 0, beat: bool = False):
        self.marker = tmp_path / f"{name}-paused"
        super().__init__(
            tmp_path,
            name,
            settings_module="tests.meetings.reminder_worker_settings",
            env={
                "REMINDER_SCAN_SECONDS": "1",
                "REMINDER_DISPATCH_LEASE_SECONDS": "2",
                "REMINDER_PAUSE_AFTER": str(pause_after),
                "REMINDER_PAUSE_MARKER": str(self.marker),
            },
            beat=beat,
        )


def _sitting_in_nine_minutes() -> None:
    """A meeting starting within the next 8 to 9 minutes: its 10-minute reminder is due."""
    start = (timezone.now() + timedelta(minutes=9)).astimezone(ZoneInfo("UTC"))
    services.schedule_meeting(
        host=UserFactory(email="host@example.com"),
        title="Release review",
        schedule=Schedule(
            time_zone="UTC",
            starts_on=start.date(),
            start_time=start.time().replace(second=0, microsecond=0),
            duration_minutes=30,
        ),
        invitees=INVITEES,
    )


def _reminders_to() -> list[str]:
    return sorted(
        OutgoingEmail.objects.filter(category="meeting_reminders").values_list("to", flat=True)
    )


def _duplicated_beat_run() -> None:
    """Two scans at the same moment, as two beats would run them."""

    def scan() -> None:
        try:
            reminders.scan()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=scan) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_a_worker_killed_mid_batch_leaves_every_reminder_sent_once(broker, tmp_path, settings):
    settings.REMINDER_DISPATCH_LEASE_SECONDS = 2
    _sitting_in_nine_minutes()
    first = ReminderWorker(tmp_path, "first", pause_after=PAUSE_AFTER)
    try:
        reminders.scan()  # as beat: arms nine reminders and hands them out in one batch
        batch = list(ReminderDelivery.objects.order_by("pk").values_list("pk", flat=True))
        assert len(batch) == 1 + len(INVITEES)
        wait_for(lambda: first.marker.exists(), 30, lambda: f"never paused:\n{first.output()}")
    finally:
        first.kill()

    # The batch's claims and emails died with the worker's transaction, none half-done.
    assert _reminders_to() == []
    assert ReminderDelivery.objects.filter(status="pending").count() == len(batch)

    second = ReminderWorker(tmp_path, "second", beat=True)
    try:
        time.sleep(2.1)  # the dead worker's dispatch lease runs out
        _duplicated_beat_run()
        send_reminders.delay(batch)  # and the dead worker's batch arrives once more
        wait_for(
            lambda: not ReminderDelivery.objects.filter(status="pending").exists(),
            30,
            lambda: f"the second worker did not finish:\n{second.output()}",
        )
        time.sleep(1.5)  # another beat scan or two: nothing more goes out
    finally:
        second.stop()

    assert _reminders_to() == sorted(["host@example.com", *INVITEES])
    assert ReminderDelivery.objects.filter(status="sent").count() == len(batch)
