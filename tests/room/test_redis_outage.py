"""Redis restarts under a live room: everyone reconnects, and whoever left during the
outage is announced as gone within the stale-session interval, leaving no ghost.

A real Redis server of the test's own, on a free loopback port, carries the channel layer
and the cache, as in production; the test stops it for 20 s and starts it again (empty,
as a restarted Redis without persistence is).
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from datetime import timedelta

import pytest
import redis
from asgiref.sync import sync_to_async

from meetings import lobby
from meetings.models import ParticipantSession
from meetings.room import consumer

from . import ajoin

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server"),
]
State = ParticipantSession.State
OUTAGE_SECONDS = 20
HEARTBEAT_TIMEOUT = timedelta(seconds=25)  # longer than the outage, as 45 s is in production


class RedisServer:
    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url)
        for _ in range(100):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def own_redis(settings):
    server = RedisServer()
    server.start()
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [{"address": server.url, "socket_timeout": None}]},
        }
    }
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": server.url,
        }
    }
    yield server
    server.stop()


async def test_a_departure_during_a_redis_restart_is_announced_and_leaves_no_ghost(
    own_redis, sockets, meeting, host, monkeypatch
):
    monkeypatch.setattr(lobby, "HEARTBEAT_TIMEOUT", HEARTBEAT_TIMEOUT)
    # As if the process that held Cy's socket died too: its own timer never fires, so
    # only the surviving connections' sweeps can tell the room.
    monkeypatch.setattr(consumer, "TIMEOUT_CHECK_DELAY_SECONDS", 3600.0)
    monkeypatch.setattr(consumer, "WATCH_INTERVAL_SECONDS", 1.0)
    people = [host] + [
        await ajoin(meeting, name=name, email=f"{name.lower()}@example.com")
        for name in ("Ana", "Ben", "Cy")
    ]
    *staying, leaving = people
    opened = [await sockets.enter(joined) for joined in people]
    assert {p["id"] for p in opened[-1][1]["participants"]} == {j.id for j in people}

    own_redis.stop()
    await opened[-1][0].disconnect()  # Cy closes the tab while Redis is down
    await asyncio.sleep(OUTAGE_SECONDS)
    own_redis.start()

    # Everyone else's socket failed with the channel layer: the browsers reconnect.
    for old, _ in opened[:-1]:
        await old.disconnect()
    back = [await sockets.enter(joined) for joined in staying]
    for socket_, _ in back:
        while True:
            left = await socket_.expect("participant_left", timeout=HEARTBEAT_TIMEOUT.seconds)
            if left["id"] == leaving.id:
                break
        assert left["reason"] == "disconnected"

    session = await sync_to_async(leaving.refresh)()
    assert (session.state, session.leave_reason) == (State.LEFT, "timeout")
    for joined in staying:
        assert (await sync_to_async(joined.refresh)()).state == State.ADMITTED
    snapshot = await back[0][0].alive()
    assert {p["id"] for p in snapshot["participants"]} == {j.id for j in staying}
