"""The web processes' media gateway when media rooms run in media workers.

Each request goes to the worker holding the room's lease (``meetings.media_workers``). If
no worker holds it, the request goes to the workers' shared channel as a *claim* and the
gateway waits (``MEDIA_CLAIM_TIMEOUT_SECONDS``) until the worker that took it has queued
it, sending nothing more for that room meanwhile: a participant's messages keep their
order even across a claim.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from channels.layers import BaseChannelLayer, get_channel_layer
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from meetings.media_workers.leases import Keys, LeaseStore, claim_timeout_seconds
from meetings.media_workers.messages import RECORDING_LANE, SHARED_CHANNEL, new_request, send

logger = logging.getLogger(__name__)

# As meetings.media.sfu checks it: the peer id must be an SDP token.
_PEER_ID = re.compile(r"[A-Za-z0-9!#$%&'*+\-.^_`{|}~]{1,64}")


class WorkerMediaGateway:
    """``MediaGateway`` for web processes: requests go to the worker holding the room's lease.

    Calls return once the request is on its way (or, for a claim, once the owning worker
    has queued it); answers arrive later on the participant's ``reply_channel``. Malformed
    signals are logged by the worker, not raised here.
    """

    def __init__(
        self,
        *,
        channel_layer: BaseChannelLayer | None = None,
        redis_url: str | None = None,
        claim_timeout: float | None = None,
        keys: Keys | None = None,
    ) -> None:
        self._layer = channel_layer
        self.claim_timeout = claim_timeout if claim_timeout is not None else claim_timeout_seconds()
        self._store = LeaseStore(
            redis_url or settings.REDIS_URL,
            keys=keys,
            socket_timeout=max(30.0, self.claim_timeout + 10),
        )
        self.keys = self._store.keys

    @property
    def layer(self) -> BaseChannelLayer:
        layer = self._layer or get_channel_layer()
        if layer is None:
            raise ImproperlyConfigured("media workers need a channel layer")
        return layer

    async def join(self, *, room: str, peer_id: str, reply_channel: str) -> None:
        if not isinstance(peer_id, str) or not _PEER_ID.fullmatch(peer_id):
            raise ValueError("peer_id must be 1-64 token characters (no spaces, no ':')")
        await self._store.add_member(room, peer_id, reply_channel)
        await self._route(
            room, new_request("join", room, peer_id=peer_id, reply_channel=reply_channel)
        )

    async def signal(self, *, room: str, peer_id: str, message: dict[str, Any]) -> None:
        await self._route(room, new_request("signal", room, peer_id=peer_id, message=message))

    async def leave(self, *, room: str, peer_id: str, reply_channel: str | None = None) -> None:
        await self._store.remove_member(room, peer_id, reply_channel=reply_channel)
        fields: dict[str, Any] = {"peer_id": peer_id}
        if reply_channel is not None:
            fields["reply_channel"] = reply_channel
        await self._route(room, new_request("leave", room, **fields), claim=False)

    async def close_room(self, *, room: str) -> None:
        await self._store.forget_members(room)
        await self._route(room, new_request("close", room), claim=False)

    async def start_recording(
        self, *, room: str, recording_id: str, directory: str, consented: list[str]
    ) -> None:
        request = new_request(
            "record_start",
            room,
            peer_id=RECORDING_LANE,
            recording=recording_id,
            directory=directory,
            consented=consented,
        )
        await self._route(room, request)

    async def recording_consent(
        self, *, room: str, recording_id: str, peer_id: str, accepted: bool
    ) -> None:
        request = new_request(
            "record_consent",
            room,
            peer_id=RECORDING_LANE,
            recording=recording_id,
            participant=peer_id,
            accepted=accepted,
        )
        await self._route(room, request)

    async def stop_recording(self, *, room: str, recording_id: str) -> None:
        request = new_request("record_stop", room, peer_id=RECORDING_LANE, recording=recording_id)
        await self._route(room, request, claim=False)

    async def holder(self, room: str) -> str | None:
        """The channel of the worker holding ``room``'s lease, if any."""
        return await self._store.holder(room)

    async def _route(self, room: str, request: dict[str, Any], *, claim: bool = True) -> None:
        holder = await self._store.holder(room)
        if holder:
            await send(self.layer, holder, request)
            return
        if not claim:
            return  # nobody hosts the room: nothing to leave or close
        ack = self.keys.ack(request["id"])
        request["ack"] = ack
        request["expires"] = time.time() + self.claim_timeout
        if not await send(self.layer, SHARED_CHANNEL, request):
            return
        if not await self._store.wait_for_ack(ack, self.claim_timeout):
            logger.warning(
                "no media worker took room %s within %.1fs (is `manage.py media_worker` up?)",
                room,
                self.claim_timeout,
            )
