"""PostgreSQL connections held by one uvicorn server under load, by `DB_CONN_MAX_AGE`.

Django keeps a persistent connection per thread; under ASGI every request's sync code
runs in a thread of its own (asgiref's per-request executor), so with a max age each
finished request can leave a connection behind. For each setting: a real uvicorn
process on a fresh, migrated PostgreSQL database, REQUESTS GETs at CONCURRENCY
in flight against a cheap page that reads the database (the California notice: one
query), while a sampler counts the server's rows in `pg_stat_activity` every
SAMPLE_EVERY_S. The row reports the requests' latency; the context (and the printed
lines) the connection counts: peak while loaded, and what is left a moment after.

With 0 the peak stays under the requests in flight (each in-flight request's thread holds
at most one connection, closed when the request finishes) and nothing is left after; with
a max age the count climbs to whatever limit there is and requests start failing.

Only runs on PostgreSQL (DATABASE_URL); skipped on SQLite. The database gets a connection limit
(CONNECTION_LIMIT) so that a leaking run fails its own requests, not a shared server's.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from typing import Any

from . import ROOT, Report, Result, django_test_database

REQUESTS = 5_000
CONCURRENCY = 50
PATH = "/privacy/california/"
SAMPLE_EVERY_S = 0.1
SETTLE_S = 2.0
CONNECTION_LIMIT = 70
MAX_AGES = (0, 60)


def run() -> Report:
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        print("  skipped: needs DATABASE_URL pointing at PostgreSQL", flush=True)
        return Report(results=[], context={"skipped": "needs PostgreSQL (DATABASE_URL)"})
    with django_test_database("db_connections"):
        from django.db import connection

        params = connection.get_connection_params()
        database = connection.settings_dict["NAME"]
        with connection.cursor() as cursor:
            cursor.execute(f'ALTER DATABASE "{database}" CONNECTION LIMIT {CONNECTION_LIMIT}')
        connection.close()
        url = (
            f"postgres://{params['user']}:{params.get('password', '')}@{params.get('host')}:"
            f"{params.get('port') or 5432}/{database}"
        )
        results, counts = [], {}
        for max_age in MAX_AGES:
            result, figures = _one_setting(url, database, params, max_age)
            results.append(result)
            counts[f"conn_max_age_{max_age}"] = figures
            print(
                f"  DB_CONN_MAX_AGE={max_age}: peak {figures['peak_connections']} server "
                f"connections under load, {figures['after_load_connections']} left "
                f"{SETTLE_S:.0f} s after, {figures['failed_requests']} failed requests "
                f"{figures['failures'] or ''}",
                flush=True,
            )
        return Report(
            results=results,
            context={
                "database": "postgresql",
                "requests": REQUESTS,
                "concurrency": CONCURRENCY,
                "path": PATH,
                "connection_limit": CONNECTION_LIMIT,
                "server": "uvicorn, one process, in-memory channel layer",
                "connections": counts,
            },
        )


def _one_setting(
    url: str, database: str, params: dict[str, Any], max_age: int
) -> tuple[Result, dict[str, Any]]:
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DB_CONN_MAX_AGE": str(max_age),
        "DEBUG": "0",
        "CELERY_TASK_ALWAYS_EAGER": "1",
    }
    env.pop("REDIS_URL", None)
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "uvicorn", "conferencing.asgi:application"),
            *("--host", "127.0.0.1", "--port", str(port), "--no-access-log"),
            *("--log-level", "error"),
        ],
        cwd=ROOT,
        env=env,
        # A leaking run logs every refused connection's traceback: the count is enough.
        stderr=subprocess.DEVNULL,
    )
    sampler = _Sampler(database, params, server_pid=server.pid)
    try:
        _wait_until_up(port)
        before = sampler.count()
        sampler.start()
        timings, failed, total_s = asyncio.run(_load(port))
        sampler.stop()
        time.sleep(SETTLE_S)
        after = sampler.count()
    finally:
        sampler.stop()
        server.terminate()
        server.wait(timeout=30)
    result = Result.from_timings(f"GET {PATH}, DB_CONN_MAX_AGE={max_age}", timings, total_s)
    return result, {
        "before_load_connections": before,
        "peak_connections": max(sampler.samples, default=before),
        "after_load_connections": after,
        "samples": len(sampler.samples),
        "failed_requests": sum(failed.values()),
        "failures": dict(failed),
        # Every connection on the PostgreSQL server, this benchmark's and anyone else's.
        "server_wide_peak_connections": max(sampler.server_wide, default=0),
        "server_threads_peak": max(sampler.threads, default=0),
    }


async def _load(port: int) -> tuple[list[int], Counter[str], float]:
    import aiohttp

    timings: list[int] = []
    failed: Counter[str] = Counter()
    remaining = iter(range(REQUESTS))
    url = f"http://127.0.0.1:{port}{PATH}"

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal failed
        for _ in remaining:
            start = time.perf_counter_ns()
            try:
                async with session.get(url) as response:
                    await response.read()
                    outcome = str(response.status)
            except aiohttp.ClientError as exc:
                outcome = type(exc).__name__
            if outcome == "200":
                timings.append(time.perf_counter_ns() - start)
            else:
                failed[outcome] += 1

    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as session:
        began = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(CONCURRENCY)))
        return timings, failed, time.perf_counter() - began


class _Sampler:
    """Counts the server's connections to the bench database from a separate session."""

    def __init__(self, database: str, params: dict[str, Any], *, server_pid: int) -> None:
        import psycopg2

        self.database = database
        self.conn = psycopg2.connect(**{**params, "dbname": "postgres"})
        self.conn.autocommit = True
        self.samples: list[int] = []
        self.server_wide: list[int] = []
        self.threads: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self.server_pid = server_pid

    def count(self) -> int:
        return self._counts()[0]

    def _counts(self) -> tuple[int, int]:
        with self.conn.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FILTER (WHERE datname = %s), count(*) FROM pg_stat_activity"
                " WHERE backend_type = 'client backend'",
                [self.database],
            )
            ours, everyone = cursor.fetchone()
            return int(ours), int(everyone)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._stop.set()
            self._thread.join()

    def _loop(self) -> None:
        while not self._stop.wait(SAMPLE_EVERY_S):
            ours, everyone = self._counts()
            self.samples.append(ours)
            self.server_wide.append(everyone)
            with contextlib.suppress(OSError):
                self.threads.append(len(os.listdir(f"/proc/{self.server_pid}/task")))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(port: int, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{PATH}", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the uvicorn server did not come up")
