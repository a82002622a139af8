"""The Janus API over its HTTP transport: sessions, plugin handles, keepalives and events.

Every request carries a token that Django added through the admin API (``token_auth`` is
on, there is no API secret). Synchronous plugin requests (``create``, ``kick``, ...) answer
in the HTTP response; asynchronous ones (``join``, ``publish``, ...) are acknowledged and
answered by an event that the session's long poll delivers to the waiting request by its
transaction. Events that answer no request (``webrtcup``, ``hangup``, publishers joining)
go to ``JanusSession.events``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from .transport import (
    DEFAULT_TIMEOUT,
    SESSION_NOT_FOUND,
    JanusError,
    JanusHttp,
    JanusUnavailable,
    JsonObject,
    transaction_id,
)

logger = logging.getLogger(__name__)

VIDEOROOM = "janus.plugin.videoroom"

# Janus answers a long poll after 30 s without events; give it a margin.
LONG_POLL_TIMEOUT = 40.0
# Events nobody has consumed yet; past this the oldest are dropped (with a warning).
EVENT_BACKLOG = 1000


@dataclass(frozen=True)
class JanusEvent:
    """A plugin's answer or notification: its data, and an SDP if it carries one."""

    sender: int
    data: JsonObject
    jsep: JsonObject | None = None
    raw: JsonObject = field(default_factory=dict, repr=False)


def plugin_data(body: JsonObject) -> JsonObject:
    data = (body.get("plugindata") or {}).get("data")
    if not isinstance(data, dict):
        raise JanusUnavailable(f"Janus answered without plugin data: {body!r}")
    # Plugins report errors inside their data (the VideoRoom: error_code and error).
    if "error_code" in data:
        raise JanusError(int(data["error_code"]), str(data.get("error") or "unknown"))
    return data


class JanusClient:
    """The Janus API at ``url`` (``.../janus``); create sessions through it, then close it."""

    def __init__(self, url: str, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.url = url.rstrip("/")
        self.http = JanusHttp(timeout)

    @classmethod
    def from_settings(cls) -> JanusClient:
        from django.conf import settings

        return cls(settings.JANUS_URL)

    async def __aenter__(self) -> JanusClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self.http.close()

    async def call(
        self, path: str, payload: JsonObject, transaction: str | None = None
    ) -> JsonObject:
        """POST one Janus request under a fresh transaction and check the echo."""
        transaction = transaction or transaction_id()
        body = await self.http.post(f"{self.url}{path}", {**payload, "transaction": transaction})
        if not isinstance(body, dict) or body.get("transaction") != transaction:
            raise JanusUnavailable(f"Janus answered another transaction: {body!r}")
        return body

    async def create_session(self, token: str) -> JanusSession:
        body = await self.call("", {"janus": "create", "token": token})
        return JanusSession(self, int(body["data"]["id"]), token)


class JanusSession:
    """One Janus session: its handles share its token, its keepalive and its long poll."""

    def __init__(self, client: JanusClient, session_id: int, token: str) -> None:
        self.client = client
        self.id = session_id
        self.token = token
        self.events: asyncio.Queue[JanusEvent] = asyncio.Queue(EVENT_BACKLOG)
        self._waiters: dict[str, asyncio.Future[JsonObject]] = {}
        self._poller: asyncio.Task[None] | None = None
        self._keepalive: asyncio.Task[None] | None = None
        self.closed = False
        # Set when the long poll or a keepalive fails: Janus restarted or dropped us.
        self.lost = asyncio.Event()

    @property
    def path(self) -> str:
        return f"/{self.id}"

    async def call(
        self, payload: JsonObject, path: str = "", transaction: str | None = None
    ) -> JsonObject:
        payload = {**payload, "token": self.token}
        return await self.client.call(self.path + path, payload, transaction)

    async def attach(self, plugin: str = VIDEOROOM, opaque_id: str | None = None) -> JanusHandle:
        payload: JsonObject = {"janus": "attach", "plugin": plugin}
        if opaque_id:
            payload["opaque_id"] = opaque_id
        body = await self.call(payload)
        return JanusHandle(self, int(body["data"]["id"]))

    async def keepalive(self) -> None:
        body = await self.call({"janus": "keepalive"})
        if body.get("janus") != "ack":
            raise JanusUnavailable(f"Janus answered a keepalive with {body!r}")

    def keep_alive(self, interval: float) -> None:
        """Send a keepalive every ``interval`` seconds (below Janus's session_timeout)."""
        if self._keepalive is None or self._keepalive.done():
            self._keepalive = asyncio.create_task(self._keep_alive(interval))

    async def _keep_alive(self, interval: float) -> None:
        while not self.closed:
            await asyncio.sleep(interval)
            try:
                await self.keepalive()
            except (JanusUnavailable, JanusError) as exc:
                # The session is gone or Janus is down: whoever uses it sees the same error.
                logger.warning("Janus session %s: keepalive failed: %s", self.id, exc)
                if not self.closed:
                    self.lost.set()
                return

    async def destroy(self) -> None:
        """End the session (and its handles); a session Janus already dropped is fine."""
        self.closed = True
        for task in (self._keepalive, self._poller):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._fail_waiters(JanusUnavailable(f"Janus session {self.id} was destroyed"))
        try:
            await self.call({"janus": "destroy"})
        except JanusError as exc:
            if exc.code != SESSION_NOT_FOUND:
                raise

    async def wait_for(self, transaction: str, timeout: float) -> JsonObject:
        """The event that answers ``transaction``; register it before sending (``expect``)."""
        future = self._waiters[transaction]
        try:
            async with asyncio.timeout(timeout):
                return await future
        except TimeoutError as exc:
            raise JanusUnavailable(
                f"Janus sent no answer to {transaction} within {timeout:g} s"
            ) from exc

    def expect(self, transaction: str) -> None:
        self._waiters[transaction] = asyncio.get_running_loop().create_future()
        self.listen()

    def forget(self, transaction: str) -> None:
        future = self._waiters.pop(transaction, None)
        if future is None or future.cancelled():
            return
        if future.done():
            future.exception()  # retrieved: asyncio does not log it as lost
        else:
            future.cancel()

    def listen(self) -> None:
        """Start the long poll (it also keeps the session alive while it runs)."""
        if not self.closed and (self._poller is None or self._poller.done()):
            self._poller = asyncio.create_task(self._poll())

    async def _poll(self) -> None:
        url = f"{self.client.url}{self.path}"
        while not self.closed:
            params = {"maxev": "10", "token": self.token, "rid": transaction_id()}
            try:
                body = await self.client.http.get(url, params, LONG_POLL_TIMEOUT)
            except (JanusUnavailable, JanusError) as exc:
                self._fail_waiters(exc)
                if not self.closed:
                    logger.warning("Janus session %s: long poll ended: %s", self.id, exc)
                    self.lost.set()
                return
            for event in body if isinstance(body, list) else [body]:
                self._dispatch(event)

    def _dispatch(self, event: JsonObject) -> None:
        kind = event.get("janus")
        if kind == "keepalive":
            return
        waiter = self._waiters.get(str(event.get("transaction")))
        if waiter is not None and kind in ("event", "error") and not waiter.done():
            waiter.set_result(event)
            return
        data = (event.get("plugindata") or {}).get("data") or {}
        notice = JanusEvent(int(event.get("sender") or 0), data, event.get("jsep"), event)
        if self.events.full():
            dropped = self.events.get_nowait()
            logger.warning("Janus session %s: dropped unconsumed %r", self.id, dropped.raw)
        self.events.put_nowait(notice)

    def _fail_waiters(self, exc: Exception) -> None:
        for waiter in self._waiters.values():
            if not waiter.done():
                waiter.set_exception(exc)


class JanusHandle:
    """A handle on one plugin inside a session."""

    def __init__(self, session: JanusSession, handle_id: int) -> None:
        self.session = session
        self.id = handle_id

    async def request(self, body: JsonObject) -> JsonObject:
        """A synchronous plugin request: its answer's data (plugin errors raise)."""
        answer = await self.session.call({"janus": "message", "body": body}, f"/{self.id}")
        if answer.get("janus") != "success":
            raise JanusUnavailable(f"Janus answered a synchronous request with {answer!r}")
        return plugin_data(answer)

    async def send(
        self, body: JsonObject, jsep: JsonObject | None = None, timeout: float = 10.0
    ) -> JanusEvent:
        """An asynchronous plugin request (``join``, ``publish``...): the event answering it."""
        transaction = transaction_id()
        payload: JsonObject = {"janus": "message", "body": body}
        if jsep is not None:
            payload["jsep"] = jsep
        session = self.session
        # Registered before sending: the event may come back before the acknowledgement.
        session.expect(transaction)
        try:
            ack = await session.call(payload, f"/{self.id}", transaction)
            if ack.get("janus") == "success":  # answered at once after all
                return JanusEvent(self.id, plugin_data(ack), ack.get("jsep"), ack)
            if ack.get("janus") != "ack":
                raise JanusUnavailable(f"Janus answered an asynchronous request with {ack!r}")
            event = await session.wait_for(transaction, timeout)
        finally:
            session.forget(transaction)
        if event.get("janus") == "error":
            error = event.get("error") or {}
            raise JanusError(int(error.get("code") or 0), str(error.get("reason") or "unknown"))
        return JanusEvent(self.id, plugin_data(event), event.get("jsep"), event)

    async def trickle(self, candidate: JsonObject | None) -> None:
        """One ICE candidate of the peer (``None``: it has gathered them all)."""
        payload: JsonObject = {"janus": "trickle"}
        payload["candidate"] = candidate if candidate is not None else {"completed": True}
        answer = await self.session.call(payload, f"/{self.id}")
        if answer.get("janus") != "ack":
            raise JanusUnavailable(f"Janus answered a trickle with {answer!r}")

    async def detach(self) -> None:
        await self.session.call({"janus": "detach"}, f"/{self.id}")
