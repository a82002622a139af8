"""The whole ASGI application under uvicorn in a background thread, on a free port.

For browser tests and benchmarks that need HTTP and websockets in the same process as
their own database work (pytest-django's live server speaks WSGI only). Test
infrastructure, so it lives with the tests; ``bench`` imports it from here too.
"""

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator

START_TIMEOUT_SECONDS = 15


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _close_media_rooms() -> None:
    from meetings.room.media_gateway import get_gateway

    gateway = get_gateway()
    for room in list(getattr(gateway, "rooms", dict)()):
        await gateway.close_room(room=room)
    aclose = getattr(gateway, "aclose", None)
    if aclose is not None:  # a gateway holding connections (Janus's) on this loop
        await aclose()


@contextlib.contextmanager
def serve_in_thread(*, forwarded_allow_ips: str | None = None) -> Iterator[str]:
    """Yield the server's base URL; on exit close its media rooms, then stop it.

    ``forwarded_allow_ips`` is uvicorn's ``--proxy-headers --forwarded-allow-ips``; an
    empty string trusts no proxy. None keeps uvicorn's default (its environment variable).
    """
    import uvicorn

    from conferencing.asgi import application

    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            application,
            host="127.0.0.1",
            port=port,
            ws="websockets",
            lifespan="off",
            log_level="warning",
            forwarded_allow_ips=forwarded_allow_ips,
        )
    )
    loop = asyncio.new_event_loop()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(server.serve())
        finally:
            # Closed on its own thread: channels_redis flushes its layer on close with
            # run_until_complete, which fails beside another running loop (Playwright's).
            loop.close()

    thread = threading.Thread(target=serve, name="asgi-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the ASGI server did not start within {START_TIMEOUT_SECONDS} s")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(_close_media_rooms(), loop).result(timeout=10)
        server.should_exit = True
        thread.join(timeout=15)
