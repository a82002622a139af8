"""Which media worker carried a sitting's room, for the survey's technical context.

Embedded rooms run in the web process ("local"). With media workers, the room's lease in
Redis names the holder; its heartbeat says which host and process that is. A room whose
lease is gone (the meeting ended and the worker forgot it) has no known worker: "".
"""

from __future__ import annotations

import json
import logging

import redis
from django.conf import settings

from meetings.media_workers.leases import Keys

logger = logging.getLogger(__name__)

LOCAL = "local"


def media_worker_of(room: str) -> str:
    if not settings.MEDIA_GATEWAY.endswith(".WorkerMediaGateway") or not settings.REDIS_URL:
        return LOCAL
    keys = Keys.from_settings()
    try:
        client = redis.Redis.from_url(settings.REDIS_URL, decode_responses=True, socket_timeout=2)
        channel = str(client.get(keys.lease(room)) or "")
        if not channel:
            return ""
        info = json.loads(client.get(keys.worker(channel)) or "{}")
    except (redis.RedisError, ValueError):
        # The answer matters more than its context: store it without the worker.
        logger.warning("survey: could not read the media worker of room %s", room)
        return ""
    if isinstance(info, dict) and info.get("host"):
        return f"{info['host']}/{info.get('pid', '?')}"
    return str(channel)
