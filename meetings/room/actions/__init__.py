"""Every action on a live sitting, one function each (Zulip's ``zerver/actions`` is the
model): the database write under a conditional UPDATE or row lock, its audit entry, and
its effects (room events with their ``seq``, sockets closed with the documented codes,
commands for the media server) queued on commit through ``effects.queue``.

The room's websocket, the meeting page, the REST API and the Celery tasks all call these,
and nothing else broadcasts room events or drives the media server for them. A refusal is
``ActionRefused`` with the protocol's error code (and an HTTP status for the API).
"""

from . import lobby, moderation, participant, recording
from .common import ActionRefused, Actor

__all__ = ["ActionRefused", "Actor", "lobby", "moderation", "participant", "recording"]
