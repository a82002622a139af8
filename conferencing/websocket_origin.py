"""The websocket origin check: scheme, host and port, not the host alone.

A page may open the room's websocket only from an origin this site serves: SITE_URL, one
of CSRF_TRUSTED_ORIGINS (where `https://*.example.com` covers the subdomains, as for
Django's CSRF check), or the origin of the connection itself (its scheme and its Host
header, when that host is one of ALLOWED_HOSTS). Channels' AllowedHostsOriginValidator
compares hosts only, so an `http://` page or another port on an allowed host passed.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host
from django.utils.http import is_same_domain

DEFAULT_PORTS = {"http": 80, "https": 443}

Origin = tuple[str, str, int]  # scheme, host, port


def parse_origin(value: str) -> Origin | None:
    """An http(s) origin as (scheme, lower-case host, port), or None if it is not one."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        return None
    return scheme, parts.hostname.lower(), port or DEFAULT_PORTS[scheme]


def origin_allowed(origin: Origin, scope: dict[str, Any]) -> bool:
    if origin == _connection_origin(scope):
        return True
    for trusted in [settings.SITE_URL, *getattr(settings, "CSRF_TRUSTED_ORIGINS", [])]:
        wildcard = "://*." in trusted
        allowed = parse_origin(trusted.replace("://*.", "://", 1))
        if allowed is None:
            continue
        scheme, host, port = allowed
        if wildcard:
            if (origin[0], origin[2]) == (scheme, port) and is_same_domain(origin[1], "." + host):
                return True
        elif origin == allowed:
            return True
    return False


def _connection_origin(scope: dict[str, Any]) -> Origin | None:
    """The origin a page served by this connection's host would have."""
    host = _header(scope, b"host")
    if host is None:
        return None
    domain, port = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return None
    scheme = "https" if scope.get("scheme") == "wss" else "http"
    try:
        return scheme, domain, int(port) if port else DEFAULT_PORTS[scheme]
    except ValueError:
        return None


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    values = [value for key, value in scope.get("headers", []) if key.lower() == name]
    if len(values) != 1:
        return None  # missing, or sent twice: nothing to trust
    try:
        return values[0].decode("latin1")
    except UnicodeDecodeError:
        return None


class OriginValidator:
    """ASGI middleware: deny the websocket handshake unless its Origin is allowed."""

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] != "websocket":
            raise ValueError("OriginValidator is for websocket connections only")
        value = _header(scope, b"origin")
        origin = parse_origin(value) if value is not None else None
        if origin is not None and origin_allowed(origin, scope):
            return await self.application(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)
