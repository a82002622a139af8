"""Under ASGI, Django's sync code runs on a pool of threads, each with its own database
connection: kept alive (CONN_MAX_AGE > 0), they pile up with concurrency until PostgreSQL
refuses clients. Closed at each request's end (0, the default), the server's connections
stay bounded by the requests in flight, and drop back when the load stops."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.request import urlopen

import pytest
from django.db import connection, connections

from tests.meetings.factories import MeetingFactory
from tests.threaded_server import serve_in_thread

pytestmark = pytest.mark.django_db(transaction=True)
REQUESTS = 400
CONCURRENCY = 20


def _server_connections() -> int:
    with connections["default"].cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return int(cursor.fetchone()[0])


@pytest.fixture
def close_at_request_end(settings):
    for alias in settings.DATABASES:
        settings.DATABASES[alias]["CONN_MAX_AGE"] = 0
        connections[alias].settings_dict["CONN_MAX_AGE"] = 0


def test_connections_stay_bounded_under_concurrent_requests(close_at_request_end):
    if connection.vendor != "postgresql":
        pytest.skip("counts PostgreSQL's connections")
    meeting = MeetingFactory()
    peak, done = [0], threading.Event()

    def sample() -> None:
        try:
            while not done.is_set():
                peak[0] = max(peak[0], _server_connections())
                time.sleep(0.02)
        finally:
            connections.close_all()  # this thread's own connection

    with serve_in_thread() as base:
        url = f"{base}/j/{meeting.join_token}/"  # reads the meeting: one query or more

        def fetch(_: int) -> int:
            with urlopen(url, timeout=30) as response:
                return response.status

        sampler = threading.Thread(target=sample)
        sampler.start()
        with ThreadPoolExecutor(CONCURRENCY) as pool:
            statuses = list(pool.map(fetch, range(REQUESTS)))
        done.set()
        sampler.join()
        time.sleep(0.5)
        after = _server_connections()

    assert set(statuses) == {200}
    assert 0 < peak[0] <= CONCURRENCY + 2
    assert after <= 1
