"""JSON over HTTP to Janus, with a timeout on every call and two kinds of failure."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Mapping
from typing import Any

import aiohttp

JsonObject = dict[str, Any]

DEFAULT_TIMEOUT = 5.0

# Janus core error codes callers act on (src/apierror.h).
UNAUTHORIZED = 403
UNAUTHORIZED_PLUGIN = 405
SESSION_NOT_FOUND = 458
HANDLE_NOT_FOUND = 459


class JanusUnavailable(Exception):
    """Janus did not answer in time, refused the connection, or did not speak its API."""


class JanusError(Exception):
    """Janus answered with an error: the core's code (4xx) or the plugin's (4xx), and why."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"Janus error {code}: {reason}")
        self.code = code
        self.reason = reason


def transaction_id() -> str:
    # Unguessable, so another client of the same Janus cannot match our answers.
    return secrets.token_urlsafe(12)


def raise_for_error(body: JsonObject) -> None:
    if body.get("janus") == "error":
        error = body.get("error") or {}
        raise JanusError(int(error.get("code") or 0), str(error.get("reason") or "unknown"))


class JanusHttp:
    """One aiohttp connection pool, opened on first use and closed by ``close()``."""

    def __init__(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.timeout = timeout
        self._http: aiohttp.ClientSession | None = None

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=100), raise_for_status=False
            )
        return self._http

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def post(self, url: str, payload: JsonObject, timeout: float | None = None) -> JsonObject:
        return await self._call("POST", url, timeout, json=payload)

    async def get(
        self, url: str, params: Mapping[str, str], timeout: float | None = None
    ) -> JsonObject | list[JsonObject]:
        return await self._call("GET", url, timeout, params=dict(params))

    async def _call(self, method: str, url: str, timeout: float | None, **kwargs: Any) -> Any:
        limit = self.timeout if timeout is None else timeout
        try:
            async with asyncio.timeout(limit):
                async with self._session().request(method, url, **kwargs) as response:
                    text = await response.text()
                    status = response.status
        except TimeoutError as exc:
            raise JanusUnavailable(f"Janus at {url} did not answer within {limit:g} s") from exc
        except aiohttp.ClientError as exc:
            raise JanusUnavailable(f"Janus at {url} is unreachable: {exc}") from exc
        try:
            body = json.loads(text)
        except ValueError as exc:
            raise JanusUnavailable(f"Janus at {url} answered HTTP {status} without JSON") from exc
        if isinstance(body, dict):
            raise_for_error(body)
        elif not isinstance(body, list):
            raise JanusUnavailable(f"Janus at {url} answered HTTP {status} with {body!r}")
        if status != 200:
            raise JanusUnavailable(f"Janus at {url} answered HTTP {status}")
        return body
