"""A real Celery worker killed in the middle of composing: nothing is lost, and a fresh
worker finishes with exactly one file. Needs PostgreSQL and Redis (CI has both): the worker
is another process sharing the test database and the broker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from conferencing.celery import app as celery_app
from recordings import services, states, storage
from recordings.models import Recording
from recordings.tasks import process_recording

from .test_lifecycle import _host_session
from .tracks import BLUE, GREEN, RED, Encoding, Participant, write_recording

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not (settings.REDIS_URL and connection.vendor == "postgresql"),
        reason="needs a Redis broker and PostgreSQL shared with a worker process",
    ),
]

ROOT = Path(__file__).resolve().parents[2]
LEASE_SECONDS = 3


def _worker(tmp_path: Path, name: str) -> subprocess.Popen[bytes]:
    database = connection.settings_dict
    url = (
        f"postgres://{database['USER']}:{database['PASSWORD'] or ''}@{database['HOST']}:"
        f"{database['PORT']}/{database['NAME']}"
    )
    env = os.environ | {
        "DATABASE_URL": url,
        "REDIS_URL": settings.REDIS_URL,
        "RECORDINGS_ROOT": str(settings.RECORDINGS_ROOT),
        "RECORDINGS_PROCESSING_LEASE_SECONDS": str(LEASE_SECONDS),
        "CELERY_TASK_ALWAYS_EAGER": "0",
    }
    log = (tmp_path / f"{name}.log").open("wb")
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "conferencing",
            "worker",
            "--pool",
            "solo",
            "--concurrency",
            "1",
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
            "-n",
            f"{name}@%h",
            "--loglevel",
            "INFO",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _wait(predicate, timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(message)


def _state(recording: Recording) -> Recording:
    recording.refresh_from_db()
    return recording


@pytest.fixture
def real_broker():
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    yield
    celery_app.conf.task_always_eager = eager


def test_a_worker_killed_mid_processing_loses_nothing(real_broker, tmp_path):
    occurrence = _host_session_occurrence()
    recording = services.start_recording(occurrence=occurrence, by=_host_session(occurrence))
    people = [
        Participant("hana", RED, 440.0),
        Participant("ada", BLUE, 660.0, joins=1.0),
        Participant("carol", GREEN, 880.0, joins=3.0),
    ]
    write_recording(
        storage.tracks_directory(recording),
        people,
        seconds=40.0,
        encoding=Encoding(width=320, height=240, clip_seconds=4.0),
    )
    states.move(recording.pk, source=Recording.State.RECORDING, target=Recording.State.PROCESSING)
    Recording.objects.filter(pk=recording.pk).update(stopped_at=timezone.now())

    first = _worker(tmp_path, "first")
    try:
        process_recording.delay(recording.pk)
        _wait(
            lambda: 5 <= _state(recording).progress <= 60,
            timeout=60,
            message="the first worker never got going",
        )
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=10)

    recording = _state(recording)
    assert recording.state == Recording.State.PROCESSING and recording.attempts == 1
    assert not storage.composed_path(recording).exists()  # never a half file under its name
    assert storage.tracks_directory(recording).exists()  # the originals are all there

    second = _worker(tmp_path, "second")
    try:
        time.sleep(LEASE_SECONDS)  # the dead worker's lease runs out
        assert services.requeue_stalled(stale_after=timedelta(0)) == [recording.pk]
        _wait(
            lambda: _state(recording).state != Recording.State.PROCESSING,
            timeout=120,
            message="the second worker did not finish",
        )
    finally:
        os.killpg(second.pid, signal.SIGTERM)
        second.wait(timeout=20)

    recording = _state(recording)
    assert recording.state == Recording.State.READY, recording.failure_reason
    assert recording.duration_seconds == pytest.approx(40.0, abs=0.5)
    assert sorted(p.name for p in storage.directory(recording).iterdir()) == [
        storage.COMPOSED,
        storage.THUMBNAIL,
    ]


def _host_session_occurrence():
    from tests.meetings.factories import MeetingFactory

    return MeetingFactory(recording_allowed=True).occurrences.first()
