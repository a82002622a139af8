"""Keepalives keep a Janus session past the session timeout; an idle one is dropped."""

import asyncio
import time

import pytest

from meetings.janus.client import VIDEOROOM
from meetings.janus.transport import SESSION_NOT_FOUND, JanusError


async def test_keepalive_keeps_a_session_past_the_timeout(
    janus_server, janus_client, janus_admin, token
):
    kept = await janus_client.create_session(token)
    kept.keep_alive(1.0)
    idle = await janus_client.create_session(token)
    started = time.monotonic()
    # Janus's watchdog drops the idle one between 2 and 4 s past the timeout (measured).
    async with asyncio.timeout(janus_server.session_timeout + 6):
        while idle.id in await janus_admin.list_sessions():
            await asyncio.sleep(0.2)
    assert time.monotonic() - started >= janus_server.session_timeout

    with pytest.raises(JanusError) as gone:
        await idle.attach(VIDEOROOM)
    assert gone.value.code == SESSION_NOT_FOUND
    assert kept.id in await janus_admin.list_sessions()
    assert (await kept.attach(VIDEOROOM)).id > 0
    await kept.destroy()
    await idle.destroy()  # already dropped by Janus: fine
