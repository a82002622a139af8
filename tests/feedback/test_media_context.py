"""The media worker an answer is stored with: the holder of the room's lease in Redis."""

import json
import os
import uuid

import pytest
import redis

from feedback.media_context import LOCAL, media_worker_of
from meetings.media_workers.leases import Keys

REDIS_URL = os.environ.get("FEEDBACK_TEST_REDIS_URL", "redis://127.0.0.1:6379/9")


def _redis_available() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def test_embedded_rooms_run_in_the_web_process(settings):
    settings.MEDIA_GATEWAY = "meetings.room.gateways.local.LocalMediaGateway"
    assert media_worker_of("any-room") == LOCAL


@pytest.mark.skipif(not _redis_available(), reason=f"no Redis at {REDIS_URL}")
def test_a_worker_room_names_the_lease_holders_host_and_process(settings):
    prefix = f"feedback-test-{uuid.uuid4().hex}"
    settings.MEDIA_GATEWAY = "meetings.room.gateways.workers.WorkerMediaGateway"
    settings.REDIS_URL = REDIS_URL
    settings.MEDIA_WORKERS_KEY_PREFIX = prefix
    keys = Keys(prefix)
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        client.set(keys.lease("room-a"), "media.abc!1")
        client.set(keys.worker("media.abc!1"), json.dumps({"pid": 41, "host": "media-1"}))
        client.set(keys.lease("room-b"), "media.gone!2")  # its heartbeat has expired

        assert media_worker_of("room-a") == "media-1/41"
        assert media_worker_of("room-b") == "media.gone!2"
        assert media_worker_of("room-ended") == ""  # the lease went with the room
    finally:
        client.delete(*client.keys(f"{prefix}:*"))
