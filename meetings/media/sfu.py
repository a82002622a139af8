"""The media room: a selective forwarding unit on aiortc, in plain asyncio.

One ``MediaRoom`` per meeting, one ``Peer`` (one server-side ``RTCPeerConnection``) per
participant. Each participant publishes its tracks on its one connection and receives every
other participant's tracks on the same connection. The server forwards encoded frames: it
never decodes or re-encodes (``aiortc_tap`` + ``forwarding``).

Signalling API (all coroutines; the signalling layer moves the messages, the room never
touches a socket)::

    room = MediaRoom("meeting-token")
    await room.add_peer(peer_id, on_signal)      # on_signal(message: dict) -> Awaitable
    await room.handle_signal(peer_id, message)   # every media message from that participant
    await room.remove_peer(peer_id)              # left, kicked or disconnected
    room.start_recording(recording_id, directory, consented_peer_ids)   # see recorder.py
    room.set_recording_consent(recording_id, peer_id, accepted)
    await room.stop_recording(recording_id)
    await room.close()                           # meeting over (stops a recording)
    room.stats()                                 # plain dict, JSON-serializable

Messages from the participant to ``handle_signal``::

    {"type": "sdp", "description": {"type": "offer", "sdp": "..."},
     "sources": {"<mid>": "camera" | "mic" | "screen"}}        # "sources" optional
    {"type": "sdp", "description": {"type": "answer", "sdp": "..."}}
    {"type": "candidate", "candidate": {"candidate": "candidate:...", "sdpMid": "0",
                                        "sdpMLineIndex": 0}}    # or "candidate": null

Messages the room sends through ``on_signal`` (in order, from one task per participant, so
``on_signal`` may await and may even call back into the room)::

    {"type": "sdp", "description": {"type": "answer" | "offer", "sdp": "..."}}
    {"type": "tracks", "tracks": [{"mid": "3", "peer_id": "alice", "kind": "video",
                                   "source": "camera", "track_id": "...",
                                   "stream_id": "alice"}, ...]}

Notes for the client author (the browser side of the negotiation):

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
- Which remote track is whose: the room sends ``tracks`` right before each of its offers
  (and alone when only labels changed); look up ``event.transceiver.mid`` in the latest
  list. As a second source, each forwarded track's msid stream id is the publisher's
  ``peer_id`` (``event.streams[0].id``), which is why ``peer_id`` must be an SDP token
  (letters, digits, ``-._~`` and the like, at most 64 characters).
- Trickle ICE from the client is accepted; the server's descriptions carry all of its
  candidates (aiortc gathers before answering), so it sends no candidate messages.
- If the client's connection fails, start over: ``remove_peer`` then ``add_peer`` and a
  fresh ``RTCPeerConnection`` (aiortc has no ICE restart).

Notes for the signalling author:

- Await ``handle_signal`` for one participant's messages in the order they arrived (one
  consumer does that naturally). It raises ``SignalError`` (a ``ValueError``) for a
  malformed message and leaves the room as it was: answer the client with an error.
- ``add_peer`` raises ``ValueError`` for a bad or duplicate ``peer_id``; after a reconnect,
  ``remove_peer`` the old one first. ``remove_peer`` is idempotent.
- A new subscriber's video starts at a keyframe the room asks the publisher for (PLI) at
  once; PLI/FIR from subscribers are relayed to the publisher (coalesced, 4 per second max).
- Everything runs on the event loop that calls the room; one room per meeting, one loop.

Negotiation is serialized per peer by an ``asyncio.Lock``; the server's offers come from one
background task per peer that batches whatever changed since its last offer.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiortc import (
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCRtpSender,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.exceptions import InternalError, InvalidStateError, OperationError
from aiortc.rtcrtpparameters import RTCRtpCodecCapability
from aiortc.sdp import candidate_from_sdp

from . import aiortc_tap
from .forwarding import ForwardedTrack, TrackForwarder
from .ice import build_configuration
from .recorder import RoomRecorder

logger = logging.getLogger(__name__)

Signal = Callable[[dict[str, Any]], Awaitable[Any]]

SOURCES = ("camera", "mic", "screen")
FORWARDED_CODECS = {"audio": "audio/opus", "video": "video/VP8"}
_TOKEN = re.compile(r"[A-Za-z0-9!#$%&'*+\-.^_`{|}~]{1,64}")
_MAX_SDP = 256 * 1024
MAX_PUBLICATIONS_PER_PEER = 8  # camera, mic, screen and its audio, with room to spare


class SignalError(ValueError):
    """A malformed or unexpected message from a participant (the room state is unchanged)."""


def _codec_preferences(kind: str) -> list[RTCRtpCodecCapability]:
    wanted = FORWARDED_CODECS[kind].lower()
    codecs = RTCRtpSender.getCapabilities(kind).codecs
    main = [c for c in codecs if c.mimeType.lower() == wanted]
    rtx = [c for c in codecs if c.mimeType.lower() == "video/rtx"] if kind == "video" else []
    return main + rtx


@dataclass(eq=False)
class Inbound:
    """A server-side receiver the participant sends on, with its tap."""

    transceiver: RTCRtpTransceiver
    tap: aiortc_tap.ReceiverTap | None = None
    forwarder: TrackForwarder | None = None
    record: Callable[[aiortc_tap.EncodedFrame], None] | None = None  # while recorded

    def on_frame(self, frame: aiortc_tap.EncodedFrame) -> None:
        forwarder = self.forwarder
        if forwarder is not None:
            forwarder.push(frame)
        record = self.record
        if record is not None:
            record(frame)


@dataclass(eq=False)
class Publication:
    """One track a participant publishes, keyed in the room by (peer_id, mid)."""

    peer_id: str
    mid: str
    kind: str
    source: str
    track_id: str
    forwarder: TrackForwarder
    inbound: Inbound

    @property
    def key(self) -> tuple[str, str]:
        return (self.peer_id, self.mid)

    @property
    def live(self) -> bool:
        return not self.forwarder.closed


@dataclass(eq=False)
class Subscription:
    """One publication forwarded to one participant: a transceiver on its connection."""

    publication: Publication
    track: ForwardedTrack
    transceiver: RTCRtpTransceiver
    keyframe_requests: int = 0  # PLI/FIR received from the subscriber

    @property
    def mid(self) -> str | None:
        return self.transceiver.mid


@dataclass(eq=False)
class Peer:
    """A participant's server-side connection and what flows through it."""

    peer_id: str
    pc: RTCPeerConnection
    on_signal: Signal
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    publications: dict[str, Publication] = field(default_factory=dict)  # by mid
    subscriptions: dict[tuple[str, str], Subscription] = field(default_factory=dict)
    inbound: dict[RTCRtpReceiver, Inbound] = field(default_factory=dict)
    source_hints: dict[str, str] = field(default_factory=dict)  # mid -> source
    ready: bool = False  # the client's first offer has been answered
    closed: bool = False
    offers_sent: int = 0
    answers_sent: int = 0
    glare_ignored: int = 0
    # (sender, offers_sent when retired): see MediaRoom._stop_retired
    retired_senders: list[tuple[RTCRtpSender, int]] = field(default_factory=list)
    last_tracks: list[dict[str, Any]] | None = None
    _outbox: asyncio.Queue[dict[str, Any] | None] = field(default_factory=asyncio.Queue)
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def connection_state(self) -> str:
        return self.pc.connectionState

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


class MediaRoom:
    """The media side of one meeting (see the module docstring for the API and messages)."""

    def __init__(
        self,
        room_id: str = "",
        *,
        configuration: RTCConfiguration | None = None,
        configuration_factory: Callable[[str], RTCConfiguration] | None = None,
    ) -> None:
        aiortc_tap.check_aiortc_version()
        self.room_id = room_id
        self._configuration = configuration
        self._configuration_factory = configuration_factory
        self._peers: dict[str, Peer] = {}
        self._serial = itertools.count(1)
        self._closed = False
        self._recorder: RoomRecorder | None = None
        # totals of publications that have ended (stats() adds the live ones)
        self._ended_frames_received = 0
        self._ended_frames_forwarded = 0

    # --- the API the signalling layer calls ---------------------------------------------

    @property
    def peers(self) -> dict[str, Peer]:
        return dict(self._peers)

    async def add_peer(self, peer_id: str, on_signal: Signal) -> Peer:
        """Register a participant; it then sends its first offer through ``handle_signal``."""
        if self._closed:
            raise RuntimeError("the room is closed")
        if not isinstance(peer_id, str) or not _TOKEN.fullmatch(peer_id):
            raise ValueError("peer_id must be 1-64 token characters (no spaces, no ':')")
        if peer_id in self._peers:
            raise ValueError(f"peer {peer_id!r} is already in the room; remove it first")
        pc = RTCPeerConnection(self._config_for(peer_id))
        peer = Peer(peer_id=peer_id, pc=pc, on_signal=on_signal)
        self._peers[peer_id] = peer

        @pc.on("track")
        def on_track(track: Any) -> None:
            self._on_remote_track(peer, track)

        @pc.on("connectionstatechange")
        def on_state() -> None:
            logger.debug("peer %s: connection %s", peer_id, pc.connectionState)

        peer._tasks = [
            asyncio.create_task(self._outbox_loop(peer), name=f"media-outbox-{peer_id}"),
            asyncio.create_task(self._negotiation_loop(peer), name=f"media-nego-{peer_id}"),
        ]
        return peer

    async def handle_signal(self, peer_id: str, message: dict[str, Any]) -> None:
        """Apply one message from ``peer_id``; raises ``SignalError`` if it is malformed."""
        peer = self._peers.get(peer_id)
        if peer is None:
            raise SignalError(f"unknown peer {peer_id!r}")
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
                await self._on_offer(peer, sdp, message.get("sources"))
            elif sdp_type == "answer":
                await self._on_answer(peer, sdp)
            else:
                raise SignalError(f"unsupported description type {sdp_type!r}")
        elif kind == "candidate":
            await self._on_candidate(peer, message.get("candidate"))
        else:
            raise SignalError(f"unknown message type {kind!r}")

    async def remove_peer(self, peer_id: str) -> None:
        """The participant left: stop its tracks everywhere and close its connection."""
        peer = self._peers.pop(peer_id, None)
        if peer is None:
            return
        peer.closed = True
        peer._wake.set()
        async with peer.lock:
            for mid in list(peer.publications):
                self._unpublish(peer, mid)
            for sub in peer.subscriptions.values():
                sub.track.stop()
            peer.subscriptions.clear()
            for inbound in peer.inbound.values():
                if inbound.tap is not None:
                    inbound.tap.detach()
            await peer.pc.close()
        peer._outbox.put_nowait(None)
        for task in peer._tasks:
            if task is not asyncio.current_task():
                task.cancel()
        for task in peer._tasks:
            if task is not asyncio.current_task():
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        for other in self._peers.values():
            other.want_negotiation()

    async def close(self) -> None:
        self._closed = True
        await self.stop_recording(reason="room_closed")
        await asyncio.gather(*(self.remove_peer(p) for p in list(self._peers)))

    # --- recording (see recorder.py) -----------------------------------------------------

    @property
    def recording(self) -> str | None:
        """The id of the recording running in this room, if any."""
        return self._recorder.recording_id if self._recorder is not None else None

    def start_recording(
        self, recording_id: str, directory: str | Path, consented: Iterable[str] = ()
    ) -> bool:
        """Record the publications of the ``consented`` participants, now and as they
        publish. Idempotent for the running recording (its consents are merged); False
        if another recording runs."""
        if self._closed:
            raise RuntimeError("the room is closed")
        recorder = self._recorder
        if recorder is not None:
            if recorder.recording_id != recording_id:
                return False
        else:
            recorder = self._recorder = RoomRecorder(recording_id, Path(directory))
        for peer_id in consented:
            self.set_recording_consent(recording_id, peer_id, True)
        return True

    def set_recording_consent(self, recording_id: str, peer_id: str, accepted: bool) -> bool:
        """A participant accepted (recorded from now on) or declined (their files end now
        and nothing more of theirs is written)."""
        recorder = self._recorder
        if recorder is None or recorder.recording_id != recording_id:
            return False
        if accepted:
            recorder.consented.add(peer_id)
            peer = self._peers.get(peer_id)
            for pub in peer.publications.values() if peer is not None else ():
                self._record(pub)
        else:
            recorder.consented.discard(peer_id)
            peer = self._peers.get(peer_id)
            for pub in peer.publications.values() if peer is not None else ():
                pub.inbound.record = None
            for key in recorder.recorded_keys():
                if recorder.peer_of(key) == peer_id:
                    recorder.end(key)
        return True

    async def stop_recording(
        self, recording_id: str | None = None, *, reason: str = "stopped"
    ) -> dict[str, Any] | None:
        """Close the files and the journal; None if that recording is not running here."""
        recorder = self._recorder
        if recorder is None or (recording_id is not None and recorder.recording_id != recording_id):
            return None
        self._recorder = None
        for peer in self._peers.values():
            for inbound in peer.inbound.values():
                inbound.record = None
        return await asyncio.to_thread(recorder.close, reason)

    def _record(self, pub: Publication) -> None:
        recorder = self._recorder
        if recorder is None or recorder.is_recording(pub.key):
            return
        if recorder.add(
            pub.key,
            peer_id=pub.peer_id,
            kind=pub.kind,
            source=pub.source,
            mime_type=pub.forwarder.mime_type or "",
        ):
            pub.inbound.record = functools.partial(recorder.push, pub.key)
            pub.forwarder.ask_keyframe("record")  # the file starts at a keyframe

    def stats(self) -> dict[str, Any]:
        publications = [p for peer in self._peers.values() for p in peer.publications.values()]
        subscriptions = [s for peer in self._peers.values() for s in peer.subscriptions.values()]
        taps = [i.tap for peer in self._peers.values() for i in peer.inbound.values() if i.tap]
        return {
            "room": self.room_id,
            "peers": len(self._peers),
            "publications": len(publications),
            "subscriptions": len(subscriptions),
            "frames_received": sum(t.frames for t in taps),
            "bytes_received": sum(t.bytes for t in taps),
            "frames_forwarded": sum(p.forwarder.frames_forwarded() for p in publications),
            "frames_received_total": self._ended_frames_received
            + sum(p.forwarder.frames_in for p in publications),
            "frames_forwarded_total": self._ended_frames_forwarded
            + sum(p.forwarder.frames_forwarded() for p in publications),
            "frames_dropped": sum(s.track.frames_dropped for s in subscriptions),
            "keyframe_requests_sent": sum(p.forwarder.keyframe_requests_sent for p in publications),
            "decoders_running": sum(
                aiortc_tap.decoder_running(i.transceiver.receiver)
                for peer in self._peers.values()
                for i in peer.inbound.values()
            ),
            "by_peer": {
                peer.peer_id: {
                    "connection_state": peer.pc.connectionState,
                    "signaling_state": peer.pc.signalingState,
                    "publications": [
                        {"mid": p.mid, "source": p.source, **p.forwarder.stats()}
                        for p in peer.publications.values()
                    ],
                    "subscriptions": len(peer.subscriptions),
                    "offers_sent": peer.offers_sent,
                    "answers_sent": peer.answers_sent,
                    "glare_ignored": peer.glare_ignored,
                }
                for peer in self._peers.values()
            },
        }

    # --- negotiation -------------------------------------------------------------------

    async def _on_offer(self, peer: Peer, sdp: str, sources: Any) -> None:
        hints = self._parse_sources(sources)
        async with peer.lock:
            if peer.closed:
                return
            pc = peer.pc
            if pc.signalingState == "have-local-offer":
                # Glare: the server is impolite, the client rolls back and answers ours.
                peer.glare_ignored += 1
                logger.debug("peer %s: ignoring its offer during ours (glare)", peer.peer_id)
                return
            peer.source_hints.update(hints)
            try:
                await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
            except (ValueError, InvalidStateError, OperationError, InternalError) as exc:
                raise SignalError(f"offer rejected: {exc}") from exc
            self._guard_routing(peer)
            for transceiver in pc.getTransceivers():
                if transceiver.receiver in peer.inbound:
                    aiortc_tap.restrict_codecs(transceiver, FORWARDED_CODECS[transceiver.kind])
            answer = await pc.createAnswer()
            await pc.setLocalDescription(answer)
            peer.answers_sent += 1
            peer.send(
                {"type": "sdp", "description": {"type": "answer", "sdp": pc.localDescription.sdp}}
            )
            changed = self._sync_publications(peer)
            peer.ready = True
            # First offer answered: subscribe it to the others. Later: an m-line it took over
            # may need a fresh one (see _sync_subscriptions); a no-op otherwise.
            peer.want_negotiation()
        if changed:
            self._publications_changed(peer)

    async def _on_answer(self, peer: Peer, sdp: str) -> None:
        async with peer.lock:
            if peer.closed:
                return
            pc = peer.pc
            if pc.signalingState != "have-local-offer":
                logger.debug("peer %s: ignoring an answer in %s", peer.peer_id, pc.signalingState)
                return
            try:
                await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
            except (ValueError, InvalidStateError, OperationError, InternalError) as exc:
                raise SignalError(f"answer rejected: {exc}") from exc
            self._guard_routing(peer)
            changed = self._sync_publications(peer)
            await self._stop_retired(peer)
            peer.want_negotiation()  # anything that changed meanwhile goes in the next offer
        if changed:
            self._publications_changed(peer)

    async def _on_candidate(self, peer: Peer, candidate: Any) -> None:
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
        async with peer.lock:
            if peer.closed or peer.pc.remoteDescription is None:
                return
            try:
                await peer.pc.addIceCandidate(ice)
            except Exception as exc:  # a candidate for an m-line we never saw, etc.
                logger.debug("peer %s: candidate ignored: %r", peer.peer_id, exc)

    async def _negotiation_loop(self, peer: Peer) -> None:
        while not peer.closed:
            await peer._wake.wait()
            peer._wake.clear()
            async with peer.lock:
                if peer.closed:
                    return
                if not peer.ready or peer.pc.signalingState != "stable":
                    continue  # woken again when the pending answer arrives
                try:
                    changed = await self._sync_subscriptions(peer)
                    if changed:
                        await self._send_offer(peer)
                    elif peer.tracks_message() != peer.last_tracks:
                        self._send_tracks(peer)
                except Exception:
                    logger.exception("peer %s: renegotiation failed", peer.peer_id)

    async def _send_offer(self, peer: Peer) -> None:
        pc = peer.pc
        await pc.setLocalDescription(await pc.createOffer())
        self._guard_routing(peer)
        peer.offers_sent += 1
        self._send_tracks(peer)  # before the offer: the client can map tracks in ontrack
        peer.send({"type": "sdp", "description": {"type": "offer", "sdp": pc.localDescription.sdp}})

    def _send_tracks(self, peer: Peer) -> None:
        tracks = peer.tracks_message()
        peer.last_tracks = tracks
        peer.send({"type": "tracks", "tracks": tracks})

    async def _outbox_loop(self, peer: Peer) -> None:
        while True:
            message = await peer._outbox.get()
            if message is None:
                return
            try:
                await peer.on_signal(message)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("peer %s: on_signal failed", peer.peer_id)

    # --- publications ------------------------------------------------------------------

    def _on_remote_track(self, peer: Peer, track: Any) -> None:
        """aiortc's ``track`` event: fired inside setRemoteDescription, before receive()."""
        transceiver = next(
            (t for t in peer.pc.getTransceivers() if t.receiver.track is track), None
        )
        if transceiver is None or transceiver.receiver in peer.inbound:
            return
        inbound = Inbound(transceiver=transceiver)
        receiver = transceiver.receiver
        inbound.tap = aiortc_tap.tap_receiver(
            receiver, inbound.on_frame, lambda: self._on_inbound_end(peer, inbound)
        )
        peer.inbound[receiver] = inbound

    def _on_inbound_end(self, peer: Peer, inbound: Inbound) -> None:
        """The receiver stopped (RTCP BYE, DTLS closed, connection closed)."""
        for mid, pub in list(peer.publications.items()):
            if pub.inbound is inbound:
                self._unpublish(peer, mid)
                if not peer.closed:
                    self._publications_changed(peer)

    def _sync_publications(self, peer: Peer) -> bool:
        """Match publications to what the participant sends after a negotiation."""
        changed = False
        for transceiver in peer.pc.getTransceivers():
            mid = transceiver.mid
            if mid is None:
                continue
            inbound = peer.inbound.get(transceiver.receiver)
            receiving = (
                inbound is not None
                and inbound.tap is not None
                and not inbound.tap.ended
                and not transceiver.stopped
                and transceiver.currentDirection in ("recvonly", "sendrecv")
            )
            pub = peer.publications.get(mid)
            if receiving and pub is None:
                assert inbound is not None
                if len(peer.publications) >= MAX_PUBLICATIONS_PER_PEER:
                    logger.warning("peer %s: too many tracks, mid %s ignored", peer.peer_id, mid)
                    continue
                codec = aiortc_tap.negotiated_codec(transceiver)
                if (
                    codec is None
                    or codec.mimeType.lower() != FORWARDED_CODECS[transceiver.kind].lower()
                ):
                    logger.warning(
                        "peer %s: mid %s sends %s, not forwarded (only %s)",
                        peer.peer_id,
                        mid,
                        codec.mimeType if codec else "no codec",
                        FORWARDED_CODECS[transceiver.kind],
                    )
                    continue
                self._publish(peer, transceiver, inbound, codec.mimeType)
                changed = True
            elif pub is not None and not receiving:
                self._unpublish(peer, mid)
                changed = True
            elif pub is not None:
                source = peer.source_hints.get(mid)
                if source and source != pub.source:
                    pub.source = source
                    changed = True
        return changed

    def _publish(
        self, peer: Peer, transceiver: RTCRtpTransceiver, inbound: Inbound, mime_type: str
    ) -> None:
        mid = transceiver.mid
        assert mid is not None
        kind = transceiver.kind
        source = peer.source_hints.get(mid) or self._default_source(peer, kind)
        receiver = transceiver.receiver
        forwarder = TrackForwarder(
            kind,
            mime_type=mime_type,
            request_keyframe=lambda: aiortc_tap.request_keyframe(receiver),
            name=f"{peer.peer_id}/{mid}",
        )
        pub = Publication(
            peer_id=peer.peer_id,
            mid=mid,
            kind=kind,
            source=source,
            track_id=f"{peer.peer_id}-{source}-{next(self._serial)}",
            forwarder=forwarder,
            inbound=inbound,
        )
        inbound.forwarder = forwarder
        peer.publications[mid] = pub
        self._record(pub)
        logger.debug("peer %s publishes %s (%s) on mid %s", peer.peer_id, kind, source, mid)

    def _unpublish(self, peer: Peer, mid: str) -> None:
        pub = peer.publications.pop(mid, None)
        if pub is None:
            return
        pub.inbound.forwarder = None
        pub.inbound.record = None
        if self._recorder is not None:
            self._recorder.end(pub.key)
        pub.forwarder.close()  # ends every subscriber's ForwardedTrack
        self._ended_frames_received += pub.forwarder.frames_in
        self._ended_frames_forwarded += pub.forwarder.frames_forwarded()
        logger.debug("peer %s unpublishes mid %s", peer.peer_id, mid)

    def _publications_changed(self, publisher: Peer) -> None:
        for other in self._peers.values():
            if other is not publisher:
                other.want_negotiation()

    @staticmethod
    def _default_source(peer: Peer, kind: str) -> str:
        if kind == "audio":
            return "mic"
        has_camera = any(p.source == "camera" for p in peer.publications.values())
        return "screen" if has_camera else "camera"

    @staticmethod
    def _parse_sources(sources: Any) -> dict[str, str]:
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

    # --- subscriptions -----------------------------------------------------------------

    async def _sync_subscriptions(self, peer: Peer) -> bool:
        """Add a transceiver per new publication of the others, retire ended ones."""
        wanted: dict[tuple[str, str], Publication] = {}
        for other in self._peers.values():
            if other is peer or other.closed:
                continue
            for pub in other.publications.values():
                if pub.live:
                    wanted[pub.key] = pub
        changed = False
        for key, sub in list(peer.subscriptions.items()):
            # "recvonly" here: the participant took the m-line over to publish on it and
            # declined to receive there (an aiortc client may do that after a glare); the
            # publication then gets a fresh m-line.
            taken_over = sub.transceiver.currentDirection == "recvonly"
            if wanted.get(key) is not sub.publication or not sub.publication.live or taken_over:
                await self._retire(peer, key)
                changed = True
        for key, pub in wanted.items():
            # (re-checked: the awaits above let publications end meanwhile)
            if key not in peer.subscriptions and pub.live and not peer.closed:
                self._subscribe(peer, pub)
                changed = True
        return changed

    def _subscribe(self, peer: Peer, pub: Publication) -> None:
        track = pub.forwarder.subscribe(track_id=pub.track_id)
        # sendrecv, not sendonly: a browser's addTrack may reuse this transceiver to publish.
        transceiver = peer.pc.addTransceiver(track, direction="sendrecv")
        transceiver.setCodecPreferences(_codec_preferences(pub.kind))
        aiortc_tap.set_stream_id(transceiver.sender, pub.peer_id)
        sub = Subscription(publication=pub, track=track, transceiver=transceiver)

        def on_keyframe_request(kind: str) -> None:
            sub.keyframe_requests += 1
            pub.forwarder.ask_keyframe(f"subscriber {kind}")

        aiortc_tap.on_keyframe_request(transceiver.sender, on_keyframe_request)
        peer.subscriptions[pub.key] = sub

    async def _retire(self, peer: Peer, key: tuple[str, str]) -> None:
        sub = peer.subscriptions.pop(key)
        sub.track.stop()  # the sender's loop ends on MediaStreamError
        # Keep the m-line, stop sending on it; the participant may still publish there.
        sub.transceiver.direction = "recvonly"
        sender = sub.transceiver.sender
        await sender.stop()  # RTCP BYE now: the subscriber's track ends without waiting
        peer.retired_senders.append((sender, peer.offers_sent))

    async def _stop_retired(self, peer: Peer) -> None:
        """After an answer: stop retired senders again, in case an earlier answer's connect
        step started one after it was retired (``stop`` is idempotent). Once the offer that
        made their m-lines recvonly is answered, nothing starts them any more."""
        keep = []
        for sender, retired_at in peer.retired_senders:
            await sender.stop()
            if retired_at >= peer.offers_sent:
                keep.append((sender, retired_at))
        peer.retired_senders = keep

    @staticmethod
    def _guard_routing(peer: Peer) -> None:
        for transport in {t.receiver.transport for t in peer.pc.getTransceivers()}:
            aiortc_tap.route_by_mid(transport)

    def _config_for(self, peer_id: str) -> RTCConfiguration:
        if self._configuration_factory is not None:
            return self._configuration_factory(peer_id)
        if self._configuration is not None:
            return self._configuration
        return build_configuration()
