"""What web processes and media workers send each other over the channel layer.

Requests (channel-layer messages, ``type`` ``media.request``)::

    {"op": "join", "room", "peer_id", "reply_channel"}
    {"op": "leave", "room", "peer_id", "reply_channel"?}   (with it: only that connection)
    {"op": "signal", "room", "peer_id", "message"}         {"op": "close", "room"}
    {"op": "adopt", "room"}                                {"op": "stats", "reply_channel"}
    {"op": "record_start", "room", "recording", "directory", "consented": [peer_id, ...]}
    {"op": "record_consent", "room", "recording", "participant", "accepted"}
    {"op": "record_stop", "room", "recording"}

(recording requests carry ``peer_id`` ``~recording``: one lane per room keeps them in
order; a recording dies with its worker, whose files and journal stay for processing)

plus ``id`` (unique), ``hops`` (forwards so far) and, for claims, ``ack`` and ``expires``
(unix time). Media signals go back as ``{"type": "media.signal", "signal": {...}}`` to
each participant's ``reply_channel``; ``stats`` is answered with ``{"type":
"media.stats", "worker": <channel>, "rooms": {room: [peer_id, ...]}}``.

Protocol addition (server to client, inside a ``media`` message)::

    {"type": "media", "signal": {"type": "reset"}}

It tells the participant that its connection to the media server is gone (its media
worker died or shut down): close the current ``RTCPeerConnection``, create a fresh one,
publish again and send a new offer with plain ``media`` ``sdp`` messages. There is no need
to re-join or reconnect the websocket; the new media server already expects the peer. An
offer whose ICE ufrag differs from the peer's previous offer is taken as such a fresh
connection too: the server replaces its peer before answering (aiortc has no ICE restart,
so a new ufrag can only mean a new ``RTCPeerConnection``).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import Any

from channels.exceptions import ChannelFull
from channels.layers import BaseChannelLayer

logger = logging.getLogger(__name__)

SHARED_CHANNEL = "media-workers"
REQUEST = "media.request"
SEND_RETRY_SECONDS = 1.0
OPS = frozenset(
    {"join", "signal", "leave", "close", "adopt", "record_start", "record_consent", "record_stop"}
)
# Requests that never claim a room nobody hosts (there is nothing to act on).
NO_CLAIM_OPS = frozenset({"leave", "close", "record_stop"})
# Recording requests share one lane per room, named like no participant can be.
RECORDING_LANE = "~recording"


def new_request(op: str, room: str, **fields: Any) -> dict[str, Any]:
    return {"type": REQUEST, "op": op, "room": room, "id": uuid.uuid4().hex, "hops": 0, **fields}


async def send(layer: BaseChannelLayer, channel: str, message: dict[str, Any]) -> bool:
    """``layer.send``, retried for up to SEND_RETRY_SECONDS while the channel is full."""
    deadline = time.monotonic() + SEND_RETRY_SECONDS
    delay = 0.01
    while True:
        try:
            await layer.send(channel, message)
            return True
        except ChannelFull:
            if time.monotonic() > deadline:
                logger.warning("channel %s is full; %s dropped", channel, message.get("op"))
                return False
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.2)


def describe(message: Any) -> Any:
    """A request without its SDP, for logs."""
    if isinstance(message, dict):
        return {k: v for k, v in message.items() if k != "message"}
    return type(message).__name__
