"""ICE configuration: STUN/TURN servers and short-lived TURN credentials (pure functions).

TURN credentials follow the TURN REST API shared-secret scheme that coturn implements with
``--use-auth-secret --static-auth-secret=<secret>``::

    username   = "<unix expiry time>:<user id>"
    credential = base64(HMAC-SHA1(secret, username))

coturn recomputes the credential from the username and refuses it after the expiry time.
The same credentials go to the browser (``browser_ice_servers``) and, if the media server
itself must relay, to aiortc (``build_configuration``).

Note aiortc's defaults: with ``iceServers=None`` it uses Google's public STUN server;
``build_configuration`` always passes an explicit list (empty means host candidates only,
which is what tests on loopback want). aiortc uses only the first STUN and the first TURN
URL it can use (turn: over udp/tcp, turns: over tcp).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiortc import RTCConfiguration, RTCIceServer
from aiortc.rtcconfiguration import RTCBundlePolicy, RTCIceTransportPolicy

DEFAULT_TTL_SECONDS = 6 * 3600
STUN_SCHEMES = ("stun", "stuns")
TURN_SCHEMES = ("turn", "turns")


@dataclass(frozen=True)
class TurnCredentials:
    username: str
    credential: str
    expires_at: int  # unix time


def turn_credential(secret: str | bytes, username: str) -> str:
    """base64(HMAC-SHA1(secret, username)), as coturn's --use-auth-secret computes it."""
    key = secret.encode() if isinstance(secret, str) else secret
    digest = hmac.new(key, username.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def turn_rest_credentials(
    secret: str | bytes,
    user_id: str,
    *,
    ttl: int = DEFAULT_TTL_SECONDS,
    now: float | None = None,
) -> TurnCredentials:
    """Credentials valid for ``ttl`` seconds from ``now`` (default: the current time)."""
    if not secret:
        raise ValueError("the TURN shared secret is empty")
    if not user_id or ":" in user_id:
        raise ValueError("the TURN user id must be non-empty and contain no ':'")
    if ttl <= 0:
        raise ValueError("ttl must be positive")
    expires_at = int(time.time() if now is None else now) + int(ttl)
    username = f"{expires_at}:{user_id}"
    return TurnCredentials(username, turn_credential(secret, username), expires_at)


def _scheme(url: str) -> str:
    scheme, sep, rest = url.partition(":")
    if not sep or not rest or scheme not in STUN_SCHEMES + TURN_SCHEMES:
        raise ValueError(f"not a STUN/TURN URL: {url!r}")
    return scheme


def ice_servers(
    urls: Sequence[str],
    *,
    turn_secret: str | bytes | None = None,
    user_id: str = "",
    ttl: int = DEFAULT_TTL_SECONDS,
    now: float | None = None,
) -> list[RTCIceServer]:
    """One ``RTCIceServer`` for the STUN URLs and one, with fresh credentials, for TURN."""
    stun = [u for u in urls if _scheme(u) in STUN_SCHEMES]
    turn = [u for u in urls if _scheme(u) in TURN_SCHEMES]
    servers: list[RTCIceServer] = []
    if stun:
        servers.append(RTCIceServer(urls=stun))
    if turn:
        if turn_secret is None:
            raise ValueError("TURN URLs need the TURN shared secret")
        creds = turn_rest_credentials(turn_secret, user_id, ttl=ttl, now=now)
        servers.append(
            RTCIceServer(urls=turn, username=creds.username, credential=creds.credential)
        )
    return servers


def build_configuration(
    urls: Sequence[str] = (),
    *,
    turn_secret: str | bytes | None = None,
    user_id: str = "media-server",
    ttl: int = DEFAULT_TTL_SECONDS,
    now: float | None = None,
    relay_only: bool = False,
) -> RTCConfiguration:
    """The media server's ``RTCConfiguration`` (max-bundle: one transport per participant)."""
    return RTCConfiguration(
        iceServers=ice_servers(urls, turn_secret=turn_secret, user_id=user_id, ttl=ttl, now=now),
        iceTransportPolicy=RTCIceTransportPolicy.RELAY if relay_only else RTCIceTransportPolicy.ALL,
        bundlePolicy=RTCBundlePolicy.MAX_BUNDLE,
    )


def browser_ice_servers(
    urls: Sequence[str],
    *,
    turn_secret: str | bytes | None = None,
    user_id: str = "",
    ttl: int = DEFAULT_TTL_SECONDS,
    now: float | None = None,
) -> list[dict[str, Any]]:
    """The same servers as JSON for ``new RTCPeerConnection({iceServers, bundlePolicy:
    "max-bundle"})`` in the browser; give each participant its own ``user_id``."""
    result: list[dict[str, Any]] = []
    for server in ice_servers(urls, turn_secret=turn_secret, user_id=user_id, ttl=ttl, now=now):
        entry: dict[str, Any] = {"urls": list(server.urls)}
        if server.username is not None:
            entry["username"] = server.username
            entry["credential"] = server.credential
        result.append(entry)
    return result
