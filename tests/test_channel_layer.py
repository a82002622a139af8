"""The Redis channel layer must keep an idle receive waiting (redis-py 8 defaults to 5 s)."""

import asyncio
import os

import pytest
from channels.layers import get_channel_layer

pytestmark = pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL")


async def test_an_idle_receive_outlives_redis_pys_default_socket_timeout():
    layer = get_channel_layer()
    channel = await layer.new_channel()

    async def late_send() -> None:
        await asyncio.sleep(6)
        await layer.send(channel, {"type": "ping"})

    sender = asyncio.create_task(late_send())
    message = await asyncio.wait_for(layer.receive(channel), timeout=12)

    await sender
    assert message == {"type": "ping"}
    await layer.flush()
