"""Real Celery workers on Redis for the tests whose behaviour depends on them (a worker
killed mid-task, a task Redis hands out again): the skip rule, the broker fixture, and
a worker process started with its own settings module and environment."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connection

from conferencing.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[1]
QUEUE_KEYS = ("celery", "unacked", "unacked_index", "unacked_mutex")


def redis_reachable() -> bool:
    if not settings.REDIS_URL:
        return False
    try:
        return bool(redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2).ping())
    except redis.RedisError:
        return False


# The workers share the test database, so it must be a server, and they need a broker.
NEEDS_REAL_WORKERS = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not (connection.vendor == "postgresql" and redis_reachable()),
        reason="needs a reachable Redis broker and PostgreSQL shared with worker processes",
    ),
]


@pytest.fixture
def broker() -> Iterator[redis.Redis]:
    """Tasks go to Redis, which starts without anything queued or unacknowledged."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.delete(*QUEUE_KEYS)
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    yield client
    celery_app.conf.task_always_eager = eager
    client.delete(*QUEUE_KEYS)


def database_url() -> str:
    """The test database, for processes of their own."""
    database = connection.settings_dict
    return (
        f"postgres://{database['USER']}:{database['PASSWORD'] or ''}@{database['HOST']}:"
        f"{database['PORT']}/{database['NAME']}"
    )


class Worker:
    """One `celery worker --pool solo` process (optionally with beat) in its own session,
    so that kill() takes the whole process group, as SIGKILL from outside would."""

    def __init__(
        self,
        tmp_path: Path,
        name: str,
        *,
        settings_module: str,
        env: dict[str, str],
        beat: bool = False,
    ) -> None:
        environment = os.environ | {
            "DJANGO_SETTINGS_MODULE": settings_module,
            "DATABASE_URL": database_url(),
            "REDIS_URL": settings.REDIS_URL,
            "CELERY_TASK_ALWAYS_EAGER": "0",
            **env,
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
                env=environment,
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


def wait_for(
    predicate: Callable[[], object], timeout: float, message: str | Callable[[], str]
) -> None:
    """Poll `predicate`; fail with `message` (called then, if it is a function: a
    worker's log read at the moment of failure) when it stays false for `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(message() if callable(message) else message)
