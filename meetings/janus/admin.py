"""Janus's admin API: liveness, server info and the tokens that ``token_auth`` checks."""

from __future__ import annotations

from collections.abc import Iterable

from .client import VIDEOROOM
from .transport import DEFAULT_TIMEOUT, JanusHttp, JanusUnavailable, JsonObject, transaction_id


class JanusAdmin:
    """The admin API at ``url`` (``.../admin``) with the admin secret; close it when done."""

    def __init__(self, url: str, secret: str, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.url = url.rstrip("/")
        self.secret = secret
        self.http = JanusHttp(timeout)

    @classmethod
    def from_settings(cls, *, timeout: float = DEFAULT_TIMEOUT) -> JanusAdmin:
        from django.conf import settings

        return cls(settings.JANUS_ADMIN_URL, settings.JANUS_ADMIN_SECRET, timeout=timeout)

    async def __aenter__(self) -> JanusAdmin:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self.http.close()

    async def call(self, request: str, **fields: object) -> JsonObject:
        transaction = transaction_id()
        payload = {
            "janus": request,
            "transaction": transaction,
            "admin_secret": self.secret,
            **fields,
        }
        body = await self.http.post(self.url, payload)
        if not isinstance(body, dict) or body.get("transaction") != transaction:
            raise JanusUnavailable(f"Janus admin answered another transaction: {body!r}")
        return body

    async def ping(self) -> None:
        body = await self.call("ping")
        if body.get("janus") != "pong":
            raise JanusUnavailable(f"Janus admin answered ping with {body!r}")

    async def info(self) -> JsonObject:
        """Version, plugins and transports (answered without checking the secret)."""
        return await self.call("info")

    async def status(self) -> JsonObject:
        """Core settings (token_auth, session_timeout...); refused without the secret."""
        return dict((await self.call("get_status"))["status"])

    async def list_sessions(self) -> list[int]:
        return [int(session_id) for session_id in (await self.call("list_sessions"))["sessions"]]

    async def add_token(self, token: str, plugins: Iterable[str] = (VIDEOROOM,)) -> None:
        """Allow ``token`` on the Janus API, for these plugins only (adding twice is fine)."""
        await self.call("add_token", token=token, plugins=list(plugins))

    async def remove_token(self, token: str) -> None:
        """Every later request with it is refused, on its open sessions too (403)."""
        await self.call("remove_token", token=token)

    async def list_tokens(self) -> dict[str, list[str]]:
        body = await self.call("list_tokens")
        return {
            str(item["token"]): [str(plugin) for plugin in item.get("allowed_plugins", [])]
            for item in body["data"]["tokens"]
        }
