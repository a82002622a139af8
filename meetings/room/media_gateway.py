"""Where the room's media requests go: the one place that picks the media gateway.

``settings.MEDIA_GATEWAY`` names the implementation of ``MediaGateway``
(``meetings.room.gateways``):

- ``LocalMediaGateway``: the embedded default. Rooms live in this process, beside the web
  server (one process, in-memory channel layer).
- ``WorkerMediaGateway``: with ``REDIS_URL`` set, media worker processes (``manage.py
  media_worker``) own the rooms, each pinned to one worker by a lease in Redis; see
  ``meetings.media_workers``.

``settings.MEDIA_ENGINE`` other than ``aiortc`` wraps it in ``EngineRouter``: each room's
requests then go to the engine recorded on its sitting, Janus (``JanusMediaGateway``) or
the aiortc gateway above.

Room code imports ``get_gateway`` and the interface from here and never knows which one
runs.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.module_loading import import_string

from .gateways.engines import EngineRouter
from .gateways.interface import MediaGateway, ModeratedGateway, media_signal_event
from .gateways.local import LocalMediaGateway

__all__ = [
    "LocalMediaGateway",
    "MediaGateway",
    "ModeratedGateway",
    "get_gateway",
    "media_signal_event",
    "reset_gateway",
]

_gateway: MediaGateway | None = None


def get_gateway() -> MediaGateway:
    """The gateway named by ``settings.MEDIA_GATEWAY``, one per process."""
    global _gateway
    if _gateway is None:
        aiortc = import_string(settings.MEDIA_GATEWAY)()
        _gateway = aiortc if settings.MEDIA_ENGINE == "aiortc" else EngineRouter(aiortc)
    return _gateway


def reset_gateway() -> None:
    """Forget the process's gateway (tests switch gateways between cases)."""
    global _gateway
    _gateway = None
