"""Whether Janus can take a room now, and if not, why (for hosts and operators)."""

from __future__ import annotations

from dataclasses import dataclass

from .admin import JanusAdmin
from .client import VIDEOROOM
from .transport import UNAUTHORIZED, JanusError, JanusUnavailable

# Health answers fast: a host waits on it before a Janus room starts.
HEALTH_TIMEOUT = 2.0


@dataclass(frozen=True)
class JanusHealth:
    up: bool
    reason: str
    version: str = ""


async def janus_health(admin: JanusAdmin | None = None) -> JanusHealth:
    """Up when the admin API answers, takes our secret, runs VideoRoom and checks tokens."""
    if admin is None:
        from django.conf import settings

        if not settings.JANUS_ADMIN_SECRET:
            return JanusHealth(False, "Janus is not configured (JANUS_ADMIN_SECRET is empty)")
        async with JanusAdmin.from_settings(timeout=HEALTH_TIMEOUT) as own:
            return await janus_health(own)
    try:
        await admin.ping()
        info = await admin.info()
        status = await admin.status()
    except JanusUnavailable as exc:
        return JanusHealth(False, str(exc))
    except JanusError as exc:
        if exc.code == UNAUTHORIZED:
            return JanusHealth(False, "Janus refused the admin secret (JANUS_ADMIN_SECRET)")
        return JanusHealth(False, f"Janus admin API: {exc}")
    version = str(info.get("version_string") or "")
    if VIDEOROOM not in (info.get("plugins") or {}):
        return JanusHealth(False, f"Janus {version} has no VideoRoom plugin loaded", version)
    if not status.get("token_auth"):
        # Without it anyone reaching the API could join any room.
        return JanusHealth(False, f"Janus {version} runs without token_auth", version)
    return JanusHealth(True, f"Janus {version} is up with the VideoRoom plugin", version)
