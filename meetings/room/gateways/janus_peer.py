"""One participant on a Janus VideoRoom: our room protocol's media messages, translated.

Each participant has a Janus session of their own (on a one-time token) with two handles,
one per browser peer connection (the ``pc`` field of a media message):

- ``"publish"``: the browser offers what it sends; the publisher handle's ``publish`` (then
  ``configure`` for every later offer) carries the offer, and Janus's answer goes back.
  The offer's ``sources`` (mid -> "mic" | "camera" | "screen") become Janus's stream
  descriptions, so that every subscriber learns what each stream is.
- ``"subscribe"``: every stream of the others in one multistream subscription. Janus
  offers (subscriber ``join``, then ``update`` as publishers come and go), we send the
  browser the ``tracks`` list and the offer, and its answer goes to Janus as ``start``.
  One offer is outstanding at a time; changes meanwhile wait for the answer.

The browser trickles its candidates on either connection (Janus's own are in its SDP).
Messages without ``pc`` are ignored: they come from a client that started its media
before its snapshot told it the engine, and it starts over on two connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from meetings.janus.client import VIDEOROOM, JanusHandle, JanusSession
from meetings.janus.transport import JanusError, JanusUnavailable, JsonObject
from meetings.janus.videoroom import JanusRoom
from meetings.media.negotiation import SignalError, parse_sources

logger = logging.getLogger(__name__)

Deliver = Callable[[dict[str, Any]], Awaitable[None]]

PUBLISH, SUBSCRIBE = "publish", "subscribe"
_MAX_SDP = 256 * 1024
# A participant's answer to Janus's offer, or Janus's answer to theirs, within this.
JANUS_ANSWER_TIMEOUT = 10.0


class JanusPeer:
    """A participant's publisher and subscriber on the room's Janus VideoRoom."""

    def __init__(
        self,
        *,
        peer_id: str,
        room: JanusRoom,
        session: JanusSession,
        deliver: Deliver,
        on_lost: Callable[[JanusPeer], Awaitable[None]],
    ) -> None:
        self.peer_id = peer_id
        self.room = room
        self.session = session
        self.deliver = deliver
        self.on_lost = on_lost
        self.publisher: JanusHandle | None = None
        self.subscriber: JanusHandle | None = None
        self.participant_id = 0  # our publisher's id in the Janus room
        self.private_id = 0
        self.sources: dict[str, str] = {}  # our published mid -> source
        self.feeds: dict[int, list[JsonObject]] = {}  # other publishers' live streams
        self.displays: dict[int, str] = {}  # publisher id -> our participant id
        self.streams: list[JsonObject] = []  # the subscription as Janus last listed it
        self.published = False
        self.offering = False  # Janus's offer awaits the browser's answer
        self.closed = False
        self.lock = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def token(self) -> str:
        return self.session.token

    async def open(self) -> None:
        """Join the room as a publisher (publishing nothing yet) and subscribe to the others."""
        self.publisher = await self.session.attach(VIDEOROOM, opaque_id=self.peer_id)
        joined = await self.publisher.send(
            {
                "request": "join",
                "ptype": "publisher",
                "room": self.room.room_id,
                "pin": self.room.pin,
                # Janus only ever learns our opaque participant id, never a name.
                "display": self.peer_id,
            }
        )
        self.participant_id = int(joined.data["id"])
        self.private_id = int(joined.data.get("private_id") or 0)
        self._add_feeds(joined.data.get("publishers") or [])
        self._tasks = [
            asyncio.create_task(self._events(), name=f"janus-events-{self.peer_id}"),
            asyncio.create_task(self._watch_lost(), name=f"janus-lost-{self.peer_id}"),
        ]
        await self.reconcile()

    async def close(self) -> None:
        """Stop listening and end the Janus session (its handles leave the room)."""
        self.closed = True
        current = asyncio.current_task()
        for task in self._tasks:
            if task is not current:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        with contextlib.suppress(JanusError, JanusUnavailable):
            await self.session.destroy()

    def mid_of(self, source: str) -> str | None:
        return next((mid for mid, name in self.sources.items() if name == source), None)

    # --- from the browser ----------------------------------------------------------------

    async def handle(self, message: Any) -> None:
        """One media message of the participant; ``SignalError`` if it is malformed."""
        if not isinstance(message, dict):
            raise SignalError("a message must be an object")
        if "pc" not in message:
            # From a client that started its media before the snapshot named the engine:
            # it starts over on Janus's two connections once it has read the snapshot.
            return
        pc = message["pc"]
        if pc not in (PUBLISH, SUBSCRIBE):
            raise SignalError('pc must be "publish" or "subscribe"')
        kind = message.get("type")
        if kind == "sdp":
            description = message.get("description")
            if not isinstance(description, dict):
                raise SignalError("sdp message without a description")
            sdp_type, sdp = description.get("type"), description.get("sdp")
            if not isinstance(sdp, str) or not sdp or len(sdp) > _MAX_SDP:
                raise SignalError("missing or oversized sdp")
            if pc == PUBLISH and sdp_type == "offer":
                await self._publish(sdp, parse_sources(message.get("sources")))
            elif pc == SUBSCRIBE and sdp_type == "answer":
                await self._start(sdp)
            else:
                raise SignalError(f"no {sdp_type!r} is expected on the {pc} connection")
        elif kind == "candidate":
            await self._trickle(pc, message.get("candidate"))
        else:
            raise SignalError(f"unknown message type {kind!r}")

    async def _publish(self, sdp: str, sources: dict[str, str]) -> None:
        async with self.lock:
            if self.closed or self.publisher is None:
                return
            self.sources.update(sources)
            body: JsonObject = {
                "request": "configure" if self.published else "publish",
                "descriptions": [
                    {"mid": mid, "description": source} for mid, source in self.sources.items()
                ],
            }
            try:
                event = await self.publisher.send(
                    body, jsep={"type": "offer", "sdp": sdp}, timeout=JANUS_ANSWER_TIMEOUT
                )
            except JanusError as exc:
                raise SignalError(f"offer rejected: {exc.reason}") from exc
            self.published = True
            if event.jsep is not None:
                answer = {"type": "answer", "sdp": event.jsep["sdp"]}
                await self.deliver({"type": "sdp", "pc": PUBLISH, "description": answer})

    async def _start(self, sdp: str) -> None:
        async with self.lock:
            if self.closed or self.subscriber is None or not self.offering:
                return  # an answer to an offer Janus has replaced since
            try:
                await self.subscriber.send(
                    {"request": "start"},
                    jsep={"type": "answer", "sdp": sdp},
                    timeout=JANUS_ANSWER_TIMEOUT,
                )
            except JanusError as exc:
                raise SignalError(f"answer rejected: {exc.reason}") from exc
            self.offering = False
        await self.reconcile()  # whatever changed while the offer was out

    async def _trickle(self, pc: str, candidate: Any) -> None:
        if candidate is not None and not isinstance(candidate, dict):
            raise SignalError("candidate must be an object or null")
        forwarded: JsonObject | None = None
        if candidate and candidate.get("candidate"):
            line = candidate["candidate"]
            if not isinstance(line, str) or len(line) > 1024:
                raise SignalError("malformed candidate")
            forwarded = {"candidate": line}
            mid, index = candidate.get("sdpMid"), candidate.get("sdpMLineIndex")
            if isinstance(mid, str) and len(mid) <= 32:
                forwarded["sdpMid"] = mid
            if isinstance(index, int) and 0 <= index < 1024:
                forwarded["sdpMLineIndex"] = index
        handle = self.publisher if pc == PUBLISH else self.subscriber
        if handle is None or self.closed:
            return
        try:
            await handle.trickle(forwarded)
        except JanusError as exc:  # a candidate for a connection Janus has closed
            logger.debug("peer %s: candidate ignored: %s", self.peer_id, exc)

    # --- the subscription ---------------------------------------------------------------

    async def reconcile(self) -> None:
        """Subscribe to every live stream of the others, and to nothing else."""
        async with self.lock:
            if self.closed or self.offering:
                return
            wanted = {
                (feed, str(s["mid"])) for feed, streams in self.feeds.items() for s in streams
            }
            current = {
                (int(s["feed_id"]), str(s["feed_mid"]))
                for s in self.streams
                if s.get("active", True) and s.get("feed_id") is not None
            }
            add = sorted(wanted - current)
            # Streams of publishers who left are dropped by Janus itself.
            drop = sorted(key for key in current - wanted if key[0] in self.feeds)
            try:
                if self.subscriber is None:
                    if not add:
                        return
                    self.subscriber = await self.session.attach(
                        VIDEOROOM, opaque_id=f"{self.peer_id}-subscriber"
                    )
                    body: JsonObject = {
                        "request": "join",
                        "ptype": "subscriber",
                        "room": self.room.room_id,
                        "pin": self.room.pin,
                        "private_id": self.private_id,
                        "streams": [{"feed": feed, "mid": mid} for feed, mid in add],
                    }
                elif add or drop:
                    body = {"request": "update"}
                    if add:
                        body["subscribe"] = [{"feed": feed, "mid": mid} for feed, mid in add]
                    if drop:
                        body["unsubscribe"] = [{"feed": feed, "mid": mid} for feed, mid in drop]
                else:
                    return
                event = await self.subscriber.send(body, timeout=JANUS_ANSWER_TIMEOUT)
            except JanusError as exc:
                # A publisher left between its notice and our request: its leaving comes next.
                logger.info("peer %s: subscription change refused: %s", self.peer_id, exc)
                return
            await self._take_subscription(event.data, event.jsep)

    async def _take_subscription(self, data: JsonObject, jsep: JsonObject | None) -> None:
        if isinstance(data.get("streams"), list):
            self.streams = list(data["streams"])
        await self.deliver({"type": "tracks", "pc": SUBSCRIBE, "tracks": self.tracks()})
        if jsep is not None and jsep.get("type") == "offer":
            self.offering = True
            offer = {"type": "offer", "sdp": jsep["sdp"]}
            await self.deliver({"type": "sdp", "pc": SUBSCRIBE, "description": offer})

    def tracks(self) -> list[dict[str, Any]]:
        """The subscription's live streams as the room protocol's ``tracks`` list."""
        tracks = []
        for stream in self.streams:
            if not stream.get("active", True) or stream.get("type") not in ("audio", "video"):
                continue
            if stream.get("feed_id") is None:
                continue
            feed = int(stream["feed_id"])
            owner = self.displays.get(feed) or str(stream.get("feed_display") or feed)
            kind = str(stream["type"])
            tracks.append(
                {
                    "mid": str(stream["mid"]),
                    "peer_id": owner,
                    "kind": kind,
                    "source": stream.get("feed_description")
                    or ("mic" if kind == "audio" else "camera"),
                    "track_id": f"{feed}-{stream.get('feed_mid')}",
                    "stream_id": owner,
                }
            )
        return tracks

    def _add_feeds(self, publishers: list[JsonObject]) -> None:
        for publisher in publishers:
            feed = int(publisher["id"])
            if feed == self.participant_id:
                continue
            self.displays[feed] = str(publisher.get("display") or feed)
            self.feeds[feed] = [
                stream
                for stream in publisher.get("streams") or []
                if not stream.get("disabled") and stream.get("type") in ("audio", "video")
            ]

    # --- from Janus ---------------------------------------------------------------------

    async def _events(self) -> None:
        while not self.closed:
            event = await self.session.events.get()
            try:
                await self._on_event(event.sender, event.data, event.jsep, event.raw)
            except asyncio.CancelledError:
                raise
            except (JanusError, JanusUnavailable) as exc:
                logger.warning("peer %s: Janus event not handled: %s", self.peer_id, exc)
            except Exception:
                logger.exception("peer %s: Janus event not handled", self.peer_id)

    async def _on_event(
        self, sender: int, data: JsonObject, jsep: JsonObject | None, raw: JsonObject
    ) -> None:
        if raw.get("janus") == "trickle":
            await self._forward_candidate(sender, raw.get("candidate"))
            return
        if self.publisher is not None and sender == self.publisher.id:
            changed = False
            if isinstance(data.get("publishers"), list):
                self._add_feeds(data["publishers"])
                changed = True
            for key in ("unpublished", "leaving"):
                gone = data.get(key)
                if isinstance(gone, int) and gone in self.feeds:
                    del self.feeds[gone]
                    changed = True
            if changed:
                await self.reconcile()
        elif (
            self.subscriber is not None
            and sender == self.subscriber.id
            and (jsep is not None or isinstance(data.get("streams"), list))
        ):
            # Janus renegotiates by itself when a publisher we receive leaves.
            async with self.lock:
                await self._take_subscription(data, jsep)

    async def _forward_candidate(self, sender: int, candidate: Any) -> None:
        pc = PUBLISH if self.publisher is not None and sender == self.publisher.id else SUBSCRIBE
        if isinstance(candidate, dict) and not candidate.get("completed"):
            await self.deliver({"type": "candidate", "pc": pc, "candidate": candidate})

    async def _watch_lost(self) -> None:
        await self.session.lost.wait()
        if not self.closed:
            await self.on_lost(self)
