"""One participant's connection to the media room and its offer/answer negotiation.

A ``Peer`` is one server-side ``RTCPeerConnection``. It validates what the participant
sends (``handle``), answers its offers, sends the server's own offers when the ``Router``
has changed what it receives, and delivers every message to the participant in order from
one outbox task, so ``on_signal`` may await and may even call back into the room.

Notes for the client author (the browser side of the negotiation; this is the aiortc
engine's: on a sitting that runs on Janus the client opens two connections instead, see
``meetings.room.gateways.janus_peer`` and the snapshot's ``media_engine``):

- The client opens: after ``add_peer``, it creates its ``RTCPeerConnection`` (``bundlePolicy:
  "max-bundle"``), adds what it publishes (preferably ``addTransceiver(track, {direction:
  "sendonly", streams: [stream]})``; with at least one m-line, e.g. the microphone) and sends
  its offer, with ``sources`` naming each published mid once it is known (after
  ``setLocalDescription``). Without ``sources``: audio is "mic", the first video "camera",
  further videos "screen". The server answers; it never sends its own offer before it has
  answered the client's first one. Video must be VP8 and audio Opus (every browser offers
  both; the server keeps only those in its answers and offers).
- Afterwards the server renegotiates whenever someone publishes, unpublishes or leaves: it
  sends an offer; the client answers. The client may also offer again (screen share on/off).
  Removed tracks are not deleted: their m-lines go inactive (the server offers "recvonly"
  there), and each ends with an RTCP BYE first.
- Glare (both offer at once): the server is the *impolite* peer. An offer from the client
  that arrives while the server's own offer is pending is ignored (no answer, no error).
  The client must be *polite*, as in the W3C "perfect negotiation" pattern: when it
  receives an offer while its own is pending, it rolls back
  (``setRemoteDescription(offer)`` does it implicitly), answers, and then sends its own
  offer again (``negotiationneeded`` fires again after the rollback).
- Trickle ICE from the client is accepted; the server's descriptions carry all of its
  candidates (aiortc gathers before answering), so it sends no candidate messages.
- If the client's connection fails, start over: ``remove_peer`` then ``add_peer`` and a
  fresh ``RTCPeerConnection`` (aiortc has no ICE restart).

Negotiation is serialized per peer by an ``asyncio.Lock``; the server's offers come from one
background task per peer that batches whatever changed since its last offer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCRtpSender, RTCSessionDescription
from aiortc.exceptions import InternalError, InvalidStateError, OperationError
from aiortc.sdp import candidate_from_sdp

from . import aiortc_tap
from .forwarding import FORWARDED_CODECS
from .publication import Inbound, Publication
from .subscription import Subscription

if TYPE_CHECKING:
    from .routing import Router

logger = logging.getLogger(__name__)

Signal = Callable[[dict[str, Any]], Awaitable[Any]]

SOURCES = ("camera", "mic", "screen")
_MAX_SDP = 256 * 1024
_REJECTED = (ValueError, InvalidStateError, OperationError, InternalError)


class SignalError(ValueError):
    """A malformed or unexpected message from a participant (the room state is unchanged)."""


class Peer:
    """A participant's server-side connection and what flows through it."""

    def __init__(self, peer_id: str, pc: RTCPeerConnection, on_signal: Signal) -> None:
        self.peer_id = peer_id
        self.pc = pc
        self.on_signal = on_signal
        self.lock = asyncio.Lock()
        self.publications: dict[str, Publication] = {}  # by mid
        self.subscriptions: dict[tuple[str, str], Subscription] = {}  # by publication key
        self.inbound: dict[RTCRtpReceiver, Inbound] = {}
        self.source_hints: dict[str, str] = {}  # mid -> source
        self.ready = False  # the client's first offer has been answered
        self.closed = False
        self.offers_sent = 0
        self.answers_sent = 0
        self.glare_ignored = 0
        # (sender, offers_sent when retired): see _stop_retired
        self.retired_senders: list[tuple[RTCRtpSender, int]] = []
        self.last_tracks: list[dict[str, Any]] | None = None
        self._outbox: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def connection_state(self) -> str:
        return self.pc.connectionState

    def start(self, router: Router) -> None:
        """Start delivering messages and renegotiating whenever ``router`` asks."""
        self._tasks = [
            asyncio.create_task(self._outbox_loop(), name=f"media-outbox-{self.peer_id}"),
            asyncio.create_task(self._negotiation_loop(router), name=f"media-nego-{self.peer_id}"),
        ]

    def send(self, message: dict[str, Any]) -> None:
        """Queue ``message`` for ``on_signal`` (delivered in order by the outbox task)."""
        if not self.closed:
            self._outbox.put_nowait(message)

    def want_negotiation(self) -> None:
        if not self.closed:
            self._wake.set()

    def tracks_message(self) -> list[dict[str, Any]]:
        tracks = []
        for sub in self.subscriptions.values():
            if sub.mid is None or not sub.publication.live:
                continue
            pub = sub.publication
            tracks.append(
                {
                    "mid": sub.mid,
                    "peer_id": pub.peer_id,
                    "kind": pub.kind,
                    "source": pub.source,
                    "track_id": pub.track_id,
                    "stream_id": pub.peer_id,
                }
            )
        tracks.sort(key=lambda t: int(t["mid"]) if t["mid"].isdigit() else 1 << 30)
        return tracks

    # --- what the participant sends ------------------------------------------------------

    async def handle(self, message: Any, router: Router) -> None:
        """Apply one message from the participant; ``SignalError`` if it is malformed."""
        if not isinstance(message, dict):
            raise SignalError("a message must be an object")
        kind = message.get("type")
        if kind == "sdp":
            description = message.get("description")
            if not isinstance(description, dict):
                raise SignalError("sdp message without a description")
            sdp_type, sdp = description.get("type"), description.get("sdp")
            if not isinstance(sdp, str) or not sdp or len(sdp) > _MAX_SDP:
                raise SignalError("missing or oversized sdp")
            if sdp_type == "offer":
                await self._on_offer(sdp, parse_sources(message.get("sources")), router)
            elif sdp_type == "answer":
                await self._on_answer(sdp, router)
            else:
                raise SignalError(f"unsupported description type {sdp_type!r}")
        elif kind == "candidate":
            await self._on_candidate(message.get("candidate"))
        else:
            raise SignalError(f"unknown message type {kind!r}")

    async def _on_offer(self, sdp: str, hints: dict[str, str], router: Router) -> None:
        async with self.lock:
            if self.closed:
                return
            pc = self.pc
            if pc.signalingState == "have-local-offer":
                # Glare: the server is impolite, the client rolls back and answers ours.
                self.glare_ignored += 1
                logger.debug("peer %s: ignoring its offer during ours (glare)", self.peer_id)
                return
            self.source_hints.update(hints)
            try:
                await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
            except _REJECTED as exc:
                raise SignalError(f"offer rejected: {exc}") from exc
            self._guard_routing()
            for transceiver in pc.getTransceivers():
                if transceiver.receiver in self.inbound:
                    aiortc_tap.restrict_codecs(transceiver, FORWARDED_CODECS[transceiver.kind])
            answer = await pc.createAnswer()
            await pc.setLocalDescription(answer)
            self.answers_sent += 1
            self.send(
                {"type": "sdp", "description": {"type": "answer", "sdp": pc.localDescription.sdp}}
            )
            changed = router.sync_publications(self)
            self.ready = True
            # First offer answered: subscribe it to the others. Later: an m-line it took over
            # may need a fresh one (see Router.sync_subscriptions); a no-op otherwise.
            self.want_negotiation()
        if changed:
            router.publications_changed(self)

    async def _on_answer(self, sdp: str, router: Router) -> None:
        async with self.lock:
            if self.closed:
                return
            pc = self.pc
            if pc.signalingState != "have-local-offer":
                logger.debug("peer %s: ignoring an answer in %s", self.peer_id, pc.signalingState)
                return
            try:
                await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
            except _REJECTED as exc:
                raise SignalError(f"answer rejected: {exc}") from exc
            self._guard_routing()
            changed = router.sync_publications(self)
            await self._stop_retired()
            self.want_negotiation()  # anything that changed meanwhile goes in the next offer
        if changed:
            router.publications_changed(self)

    async def _on_candidate(self, candidate: Any) -> None:
        if candidate is not None and not isinstance(candidate, dict):
            raise SignalError("candidate must be an object or null")
        ice = None
        if candidate and candidate.get("candidate"):
            line = candidate["candidate"]
            if not isinstance(line, str) or len(line) > 1024:
                raise SignalError("malformed candidate")
            try:
                ice = candidate_from_sdp(
                    line.split(":", 1)[1] if line.startswith("candidate:") else line
                )
            except (AssertionError, ValueError, IndexError) as exc:
                raise SignalError("malformed candidate") from exc
            ice.sdpMid = candidate.get("sdpMid")
            ice.sdpMLineIndex = candidate.get("sdpMLineIndex")
            if ice.sdpMid is None and ice.sdpMLineIndex is None:
                ice.sdpMLineIndex = 0
        async with self.lock:
            if self.closed or self.pc.remoteDescription is None:
                return
            try:
                await self.pc.addIceCandidate(ice)
            except Exception as exc:  # a candidate for an m-line we never saw, etc.
                logger.debug("peer %s: candidate ignored: %r", self.peer_id, exc)

    # --- what the server sends -----------------------------------------------------------

    async def _negotiation_loop(self, router: Router) -> None:
        while not self.closed:
            await self._wake.wait()
            self._wake.clear()
            async with self.lock:
                if self.closed:
                    return
                if not self.ready or self.pc.signalingState != "stable":
                    continue  # woken again when the pending answer arrives
                try:
                    changed = await router.sync_subscriptions(self)
                    if changed:
                        await self._send_offer()
                    elif self.tracks_message() != self.last_tracks:
                        self._send_tracks()
                except Exception:
                    logger.exception("peer %s: renegotiation failed", self.peer_id)

    async def _send_offer(self) -> None:
        pc = self.pc
        await pc.setLocalDescription(await pc.createOffer())
        self._guard_routing()
        self.offers_sent += 1
        self._send_tracks()  # before the offer: the client can map tracks in ontrack
        self.send({"type": "sdp", "description": {"type": "offer", "sdp": pc.localDescription.sdp}})

    def _send_tracks(self) -> None:
        tracks = self.tracks_message()
        self.last_tracks = tracks
        self.send({"type": "tracks", "tracks": tracks})

    async def _outbox_loop(self) -> None:
        while True:
            message = await self._outbox.get()
            if message is None:
                return
            try:
                await self.on_signal(message)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("peer %s: on_signal failed", self.peer_id)

    async def _stop_retired(self) -> None:
        """After an answer: stop retired senders again, in case an earlier answer's connect
        step started one after it was retired (``stop`` is idempotent). Once the offer that
        made their m-lines recvonly is answered, nothing starts them any more."""
        keep = []
        for sender, retired_at in self.retired_senders:
            await sender.stop()
            if retired_at >= self.offers_sent:
                keep.append((sender, retired_at))
        self.retired_senders = keep

    def _guard_routing(self) -> None:
        for transport in {t.receiver.transport for t in self.pc.getTransceivers()}:
            aiortc_tap.route_by_mid(transport)

    # --- closing -------------------------------------------------------------------------

    def mark_closed(self) -> None:
        """Nothing more is negotiated or sent; the negotiation task wakes up to end."""
        self.closed = True
        self._wake.set()

    async def close_connection(self) -> None:
        """Detach the taps and close the ``RTCPeerConnection`` (with the lock held)."""
        for inbound in self.inbound.values():
            if inbound.tap is not None:
                inbound.tap.detach()
        await self.pc.close()

    async def stop_tasks(self) -> None:
        """End both tasks; called from the outbox task itself (an ``on_signal`` that removes
        its peer), that task ends after the current message instead."""
        self._outbox.put_nowait(None)
        current = asyncio.current_task()
        for task in self._tasks:
            if task is not current:
                task.cancel()
        for task in self._tasks:
            if task is not current:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task


def parse_sources(sources: Any) -> dict[str, str]:
    """The client's ``sources`` (mid -> "camera" | "mic" | "screen"), checked."""
    if sources is None:
        return {}
    if not isinstance(sources, dict) or len(sources) > 64:
        raise SignalError("sources must be an object of mid -> source")
    hints = {}
    for mid, source in sources.items():
        if not isinstance(mid, str) or len(mid) > 32 or source not in SOURCES:
            raise SignalError(f"bad source {source!r} for mid {mid!r}")
        hints[mid] = source
    return hints
