"""Real Celery workers on Redis: one is SIGKILLed in the middle of a batch of reminders,
after queueing its emails and before the batch commits. Beat (in a second worker)
and a duplicated scan hand the rest out again, the dead worker's whole batch is
delivered a second time as well, and every recipient still gets exactly one reminder.

Needs PostgreSQL and Redis (CI has both): the workers share the test database and the
broker, as in tests/privacy/test_outbox_worker_faults.py."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import redis
from django.conf import settings
from django.db import connection, connections
from django.utils import timezone

from conferencing.celery import app as celery_app
from meetings import reminders, services
from meetings.models import ReminderDelivery
from meetings.schedule import Schedule
from meetings.tasks import send_reminders
from privacy.models import OutgoingEmail
from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parents[2]
INVITEES = [f"guest{n}@example.net" for n in range(8)]
PAUSE_AFTER = 3


def _redis_reachable() -> bool:
    if not settings.REDIS_URL:
        return False
    try:
        return bool(redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2).ping())
    except redis.RedisError:
        return False


pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not (connection.vendor == "postgresql" and _redis_reachable()),
        reason="needs a reachable Redis broker and PostgreSQL shared with worker processes",
    ),
]


@pytest.fixture
def broker():
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.delete("celery", "unacked", "unacked_index", "unacked_mutex")
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    yield client
    celery_app.conf.task_always_eager = eager
    client.delete("celery", "unacked", "unacked_index", "unacked_mutex")


class Worker:
    def __init__(self, tmp_path: Path, name: str, *, pause_after: int = 0, beat: bool = False):
        database = connection.settings_dict
        url = (
            f"postgres://{database['USER']}:{database['PASSWORD'] or ''}@{database['HOST']}:"
            f"{database['PORT']}/{database['NAME']}"
        )
        self.marker = tmp_path / f"{name}-paused"
        env = os.environ | {
            "DJANGO_SETTINGS_MODULE": "tests.meetings.reminder_worker_settings",
            "DATABASE_URL": url,
            "REDIS_URL": settings.REDIS_URL,
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "REMINDER_SCAN_SECONDS": "1",
            "REMINDER_DISPATCH_LEASE_SECONDS": "2",
            "REMINDER_PAUSE_AFTER": str(pause_after),
            "REMINDER_PAUSE_MARKER": str(self.marker),
        }
        command = [sys.executable, "-m", "celery", "-A", "conferencing", "worker"]
        command += ["--pool", "solo", "--without-heartbeat", "--without-mingle"]
        command += ["--without-gossip", "-n", f"{name}@%h", "--loglevel", "INFO"]
        if beat:
            command += ["--beat", "--scheduler", "celery.beat:PersistentScheduler"]
            command += ["--schedule", str(tmp_path / f"{name}-beat")]
        self.log = tmp_path / f"{name}.log"
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


def _wait(predicate, timeout: float, message) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(message())


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
    first = Worker(tmp_path, "first", pause_after=PAUSE_AFTER)
    try:
        reminders.scan()  # as beat: arms nine reminders and hands them out in one batch
        batch = list(ReminderDelivery.objects.order_by("pk").values_list("pk", flat=True))
        assert len(batch) == 1 + len(INVITEES)
        _wait(lambda: first.marker.exists(), 30, lambda: f"never paused:\n{first.output()}")
    finally:
        first.kill()

    # The batch's claims and emails died with the worker's transaction, none half-done.
    assert _reminders_to() == []
    assert ReminderDelivery.objects.filter(status="pending").count() == len(batch)

    second = Worker(tmp_path, "second", beat=True)
    try:
        time.sleep(2.1)  # the dead worker's dispatch lease runs out
        _duplicated_beat_run()
        send_reminders.delay(batch)  # and the dead worker's batch arrives once more
        _wait(
            lambda: not ReminderDelivery.objects.filter(status="pending").exists(),
            30,
            lambda: f"the second worker did not finish:\n{second.output()}",
        )
        time.sleep(1.5)  # another beat scan or two: nothing more goes out
    finally:
        second.stop()

    assert _reminders_to() == sorted(["host@example.com", *INVITEES])
    assert ReminderDelivery.objects.filter(status="sent").count() == len(batch)
