"""Helpers for the room tests.

People join through the real HTTP join flow (Django's test ``Client``: the join form, the
lobby, the status poll that hands out the ticket) and open the room's websocket through the
real ASGI application. Each socket is read by a background task into a queue, so a wait
that times out fails the test without cancelling the application (``WebsocketCommunicator``
cancels it when one of its own receives times out).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from asgiref.sync import sync_to_async
from channels.layers import channel_layers, get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.db import connections
from django.test import Client
from django.urls import reverse

from meetings import links, lobby
from meetings.models import Invitation, Meeting, ParticipantSession
from meetings.room.media_gateway import LocalMediaGateway, get_gateway

ORIGIN = b"http://testserver"
HOST = b"testserver"
WAIT = 5.0  # seconds: the longest any single wait for a message may take


# --- Joining over HTTP --------------------------------------------------------------------


@dataclass
class Joined:
    """Someone who passed the join form: their browser's cookies and their session."""

    meeting: Meeting
    browser: Client
    session: ParticipantSession
    room: str  # the media room's name: the occurrence's public id

    @property
    def id(self) -> str:
        return str(self.session.public_id)

    def status(self) -> dict[str, Any]:
        response = self.browser.get(
            reverse("meetings:lobby_status", args=[self.meeting.join_token])
        )
        return response.json()

    def ticket(self) -> str:
        status = self.status()
        assert "ticket" in status, status
        return status["ticket"]

    def refresh(self) -> ParticipantSession:
        self.session.refresh_from_db()
        return self.session


def join(
    meeting: Meeting,
    *,
    user: Any = None,
    name: str = "Ada Guest",
    email: str = "ada@example.com",
    invitation: Invitation | None = None,
    admit: bool = True,
) -> Joined:
    """Pass the join form as ``user`` (signed in) or as a guest; admit a guest from the lobby."""
    browser = Client()
    if user is not None:
        browser.force_login(user)
    url = reverse("meetings:join", args=[meeting.join_token])
    if invitation is not None:
        url = links.personal_join_url(invitation).removeprefix(settings.SITE_URL)
    data = {"display_name": name, "email": email, "passcode": meeting.passcode}
    response = browser.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    session = ParticipantSession.objects.filter(occurrence__meeting=meeting).latest("pk")
    if admit and session.state == ParticipantSession.State.WAITING:
        session = lobby.admit(session=session)
    return Joined(meeting, browser, session, str(session.occurrence.public_id))


async def ajoin(meeting: Meeting, **kwargs: Any) -> Joined:
    return await sync_to_async(join)(meeting, **kwargs)


async def aticket(joined: Joined) -> str:
    return await sync_to_async(joined.ticket)()


# --- Websockets ----------------------------------------------------------------------------


def cookie_header(browser: Client) -> tuple[bytes, bytes]:
    name = settings.SESSION_COOKIE_NAME
    return (b"cookie", f"{name}={browser.cookies[name].value}".encode())


class Socket:
    """One room websocket through ``conferencing.asgi.application``."""

    def __init__(
        self,
        token: str,
        *,
        ticket: str | None = None,
        browser: Client | None = None,
        origin: bytes | None = ORIGIN,
    ) -> None:
        query = f"?{urlencode({'ticket': ticket})}" if ticket is not None else ""
        # The Host a browser sends with it: the origin check compares scheme, host and port.
        headers = [(b"host", HOST)] + ([(b"origin", origin)] if origin is not None else [])
        if browser is not None and settings.SESSION_COOKIE_NAME in browser.cookies:
            headers.append(cookie_header(browser))
        from conferencing.asgi import application  # imported when first needed

        self.communicator = WebsocketCommunicator(
            application, f"/ws/meetings/{token}/{query}", headers=headers
        )
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()  # all but media messages
        self.media: asyncio.Queue[dict[str, Any]] = asyncio.Queue()  # the media server's signals
        self.received: list[dict[str, Any]] = []
        self.close_code: int | None = None
        self._closed = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None
        self.accepted = False

    async def open(self, timeout: float = WAIT) -> Socket:
        self.accepted, _ = await self.communicator.connect(timeout=timeout)
        if self.accepted:
            self._reader = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        while True:
            output = await self.communicator.output_queue.get()
            if output["type"] == "websocket.send":
                message = json.loads(output["text"])
                self.received.append(message)
                if message["type"] == "media":
                    await self.media.put(message["signal"])
                else:
                    await self.inbox.put(message)
            elif output["type"] == "websocket.close":
                self.close_code = output.get("code", 1000)
                self._closed.set()
                return

    # sending

    async def send(self, message: dict[str, Any]) -> None:
        await self.communicator.send_json_to(message)

    async def send_text(self, text: str) -> None:
        # send_input, not send_to: that one refuses an empty frame, which a browser can send
        await self.communicator.send_input({"type": "websocket.receive", "text": text})

    async def send_bytes(self, data: bytes) -> None:
        await self.communicator.send_input({"type": "websocket.receive", "bytes": data})

    # receiving

    async def next(self, timeout: float = WAIT) -> dict[str, Any]:
        try:
            return await asyncio.wait_for(self.inbox.get(), timeout)
        except TimeoutError:
            raise AssertionError(
                f"no message within {timeout}s (close code {self.close_code})"
            ) from None

    async def expect(self, kind: str, timeout: float = WAIT, **fields: Any) -> dict[str, Any]:
        """The next message of type ``kind`` (with ``fields``), skipping others."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        skipped = []
        while True:
            remaining = deadline - loop.time()
            try:
                message = await asyncio.wait_for(self.inbox.get(), max(remaining, 0))
            except TimeoutError:
                raise AssertionError(
                    f"no {kind} {fields or ''} within {timeout}s; skipped {skipped}, "
                    f"close code {self.close_code}"
                ) from None
            if message["type"] == kind and all(message.get(k) == v for k, v in fields.items()):
                return message
            skipped.append(message)

    async def error(self, code: str, timeout: float = WAIT) -> dict[str, Any]:
        return await self.expect("error", timeout, code=code)

    async def closed(self, timeout: float = WAIT) -> int:
        try:
            await asyncio.wait_for(self._closed.wait(), timeout)
        except TimeoutError:
            raise AssertionError(f"the server did not close within {timeout}s") from None
        assert self.close_code is not None
        return self.close_code

    async def settle(self, seconds: float = 0.3) -> list[dict[str, Any]]:
        """Whatever arrives within ``seconds``."""
        await asyncio.sleep(seconds)
        messages = []
        while not self.inbox.empty():
            messages.append(self.inbox.get_nowait())
        return messages

    async def alive(self) -> dict[str, Any]:
        """Prove the connection is up and served: a resync gets a snapshot."""
        await self.send({"type": "resync"})
        return await self.expect("snapshot")

    async def disconnect(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        with contextlib.suppress(Exception):
            await self.communicator.disconnect(timeout=WAIT)


class Sockets:
    """Opens a test's websockets, each on a fresh channel layer, and closes them at the end."""

    def __init__(self) -> None:
        # A cached layer may hold connections or queues of a previous test's event loop.
        channel_layers.backends.clear()
        self.opened: list[Socket] = []

    async def open(self, joined: Joined | None = None, **kwargs: Any) -> Socket:
        """``joined``'s websocket (their ticket and cookies) unless told otherwise."""
        if joined is not None:
            kwargs.setdefault("browser", joined.browser)
            if "ticket" not in kwargs:
                kwargs["ticket"] = await aticket(joined)
            kwargs.setdefault("token", joined.meeting.join_token)
        socket = Socket(**kwargs)
        self.opened.append(socket)
        return await socket.open()

    async def enter(self, joined: Joined, **kwargs: Any) -> tuple[Socket, dict[str, Any]]:
        """Open and take the first snapshot."""
        socket = await self.open(joined, **kwargs)
        return socket, await socket.expect("snapshot")

    async def close_all(self) -> None:
        for socket in self.opened:
            await socket.disconnect()
        gateway = get_gateway()
        if isinstance(gateway, LocalMediaGateway):
            for room in gateway.rooms():
                await gateway.close_room(room=room)
        layer = get_channel_layer()
        if hasattr(layer, "flush"):
            await layer.flush()
        if hasattr(layer, "close_pools"):
            await layer.close_pools()
        channel_layers.backends.clear()
        # The consumers' database thread keeps its connection (CONN_MAX_AGE): close it, or
        # PostgreSQL refuses to drop the test database at the end.
        await sync_to_async(connections.close_all)()
