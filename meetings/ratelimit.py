"""Counters in the shared cache: a sliding-window estimate over two fixed windows.

Each attempt is counted with an atomic increment before it is judged, so a burst of
parallel requests cannot all slip under the limit.
"""

import functools
import ipaddress
import math
import time
from contextlib import suppress
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest


@dataclass(frozen=True)
class Limit:
    name: str
    max_hits: int
    window_seconds: int


def client_address(request: HttpRequest) -> str:
    """The client's IP: the nearest hop that is not one of our trusted proxies.

    Walks REMOTE_ADDR and then X-Forwarded-For from the right, as uvicorn's
    ``--proxy-headers`` does with the same ``FORWARDED_ALLOW_IPS``; anything left of the
    first untrusted hop the client wrote itself. When uvicorn has already put the client
    in REMOTE_ADDR, that address is untrusted and is the answer, so the walk is the same
    with or without uvicorn's rewrite.
    """
    remote = request.META.get("REMOTE_ADDR", "") or "unknown"
    trusted = trusted_proxies()
    if not trusted.networks and not trusted.everything:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    hops = [part for part in forwarded if part] + [remote]
    for hop in reversed(hops):
        if not trusted.contains(hop):
            return hop
    return hops[0]


@dataclass(frozen=True)
class TrustedProxies:
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
    everything: bool

    def contains(self, host: str) -> bool:
        if self.everything:
            return True
        try:
            address = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            return False
        return any(address in network for network in self.networks)


def trusted_proxies() -> TrustedProxies:
    """settings.TRUSTED_PROXIES (addresses or networks, or "*") parsed."""
    return _parse_trusted(tuple(settings.TRUSTED_PROXIES))


@functools.lru_cache(maxsize=8)
def _parse_trusted(entries: tuple[str, ...]) -> TrustedProxies:
    entries = tuple(entry.strip() for entry in entries if entry.strip())
    return TrustedProxies(
        networks=tuple(
            ipaddress.ip_network(entry, strict=False) for entry in entries if entry != "*"
        ),
        everything="*" in entries,
    )


def _keys(limit: Limit, subject: str, now: float) -> tuple[str, str, float]:
    bucket = int(now // limit.window_seconds)
    elapsed = (now % limit.window_seconds) / limit.window_seconds
    base = f"ratelimit:{limit.name}:{subject}"
    return f"{base}:{bucket}", f"{base}:{bucket - 1}", elapsed


def _weighted(limit: Limit, current: int, previous: int, elapsed: float) -> float:
    return previous * (1 - elapsed) + current


def _whole_seconds(seconds: float) -> int:
    return max(1, math.ceil(seconds - 1e-9))  # float noise must not add a second


def seconds_until_allowed(limit: Limit, current: int, previous: int, now: float) -> int:
    """How long until one more attempt fits under the limit, if nobody tries before."""
    window = limit.window_seconds
    elapsed = now % window
    room = limit.max_hits - current - 1  # what the previous window may still weigh
    if room >= 0 and previous > 0:
        # Still in this window: the previous one's weight fades linearly to zero.
        fraction = 1 - room / previous
        if fraction * window < window:
            return _whole_seconds(fraction * window - elapsed)
    # After the roll-over this window becomes "previous", starting at full weight.
    fraction = max(0.0, 1 - (limit.max_hits - 1) / current) if current else 0.0
    return _whole_seconds(window - elapsed + fraction * window)


def hit(limit: Limit, subject: str) -> int | None:
    """Count one attempt. Returns None when allowed, else seconds until one is.

    A refused attempt is not kept, so hammering does not push the wait further out.
    """
    now = time.time()
    current_key, previous_key, elapsed = _keys(limit, subject, now)
    cache.add(current_key, 0, timeout=limit.window_seconds * 2)
    try:
        current = cache.incr(current_key)
    except ValueError:  # evicted between add and incr
        cache.set(current_key, 1, timeout=limit.window_seconds * 2)
        current = 1
    previous = cache.get(previous_key, 0)
    if _weighted(limit, current, previous, elapsed) <= limit.max_hits:
        return None
    with suppress(ValueError):
        cache.decr(current_key)
    return seconds_until_allowed(limit, current - 1, previous, now)


def forgive(limit: Limit, subject: str) -> None:
    """Take back one counted attempt (a passcode that turned out right)."""
    current_key, _, _ = _keys(limit, subject, time.time())
    with suppress(ValueError):  # already expired: nothing to take back
        cache.decr(current_key)
