"""Who receives what in a media room: publications from what participants send,
subscriptions to what the others publish.

After each negotiation the ``Router`` matches a peer's receiving m-lines to publications
(``sync_publications``): a new one starts a ``Publication``, a stopped one closes it.
Whenever publications change, every other peer is woken to renegotiate, and its
negotiation task asks ``sync_subscriptions`` for a transceiver per live publication of
the others, retiring those whose publication ended.

Which remote track is whose: each peer is sent ``tracks`` right before each of its offers
(and alone when only labels changed); the client looks up ``event.transceiver.mid`` in the
latest list. As a second source, each forwarded track's msid stream id is the publisher's
``peer_id`` (``event.streams[0].id``), which is why ``peer_id`` must be an SDP token.

A new subscriber's video starts at a keyframe the room asks the publisher for (PLI) at
once; PLI/FIR from subscribers are relayed to the publisher (coalesced, 4 per second max).
"""

from __future__ import annotations

import itertools
import logging
from typing import Any

from aiortc import RTCRtpTransceiver

from . import aiortc_tap
from .forwarding import FORWARDED_CODECS
from .negotiation import Peer
from .publication import Inbound, Publication
from .recorder import RoomRecorder

logger = logging.getLogger(__name__)

MAX_PUBLICATIONS_PER_PEER = 8  # camera, mic, screen and its audio, with room to spare


class Router:
    """The routing between the peers of one room (see the module docstring)."""

    def __init__(self, peers: dict[str, Peer]) -> None:
        self._peers = peers  # the room's own: peers as they join and leave
        self._serial = itertools.count(1)
        self.recorder: RoomRecorder | None = None  # the recording running in the room
        # totals of publications that have ended (the room's stats add the live ones)
        self.ended_frames_received = 0
        self.ended_frames_forwarded = 0

    # --- publications --------------------------------------------------------------------

    def on_remote_track(self, peer: Peer, track: Any) -> None:
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
                self.unpublish(peer, mid)
                if not peer.closed:
                    self.publications_changed(peer)

    def sync_publications(self, peer: Peer) -> bool:
        """Match publications to what the participant sends after a negotiation."""
        changed = False
        for transceiver in peer.pc.getTransceivers():
            mid = transceiver.mid
            if mid is None:
                continue
            inbound = peer.inbound.get(transceiver.receiver)
            receiving = (
                inbound is not None
                and inbound.receiving
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
                self.unpublish(peer, mid)
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
        source = peer.source_hints.get(mid) or _default_source(peer, kind)
        pub = Publication(
            peer_id=peer.peer_id,
            transceiver=transceiver,
            inbound=inbound,
            mime_type=mime_type,
            source=source,
            track_id=f"{peer.peer_id}-{source}-{next(self._serial)}",
        )
        peer.publications[mid] = pub
        if self.recorder is not None:
            pub.record(self.recorder)
        logger.debug("peer %s publishes %s (%s) on mid %s", peer.peer_id, kind, source, mid)

    def unpublish(self, peer: Peer, mid: str) -> None:
        pub = peer.publications.pop(mid, None)
        if pub is None:
            return
        pub.close()
        self.ended_frames_received += pub.forwarder.frames_in
        self.ended_frames_forwarded += pub.forwarder.frames_forwarded()
        logger.debug("peer %s unpublishes mid %s", peer.peer_id, mid)

    def publications_changed(self, publisher: Peer) -> None:
        for other in self._peers.values():
            if other is not publisher:
                other.want_negotiation()

    # --- subscriptions -------------------------------------------------------------------

    async def sync_subscriptions(self, peer: Peer) -> bool:
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
            ended = wanted.get(key) is not sub.publication or not sub.publication.live
            # A publication whose m-line the participant took over gets a fresh m-line.
            if ended or sub.taken_over:
                del peer.subscriptions[key]
                peer.retired_senders.append((await sub.retire(), peer.offers_sent))
                changed = True
        for key, pub in wanted.items():
            # (re-checked: the awaits above let publications end meanwhile)
            if key not in peer.subscriptions and pub.live and not peer.closed:
                peer.subscriptions[key] = pub.subscribe(peer.pc)
                changed = True
        return changed

    # --- leaving -------------------------------------------------------------------------

    def drop(self, peer: Peer) -> None:
        """The peer is leaving (its lock held): end what it publishes and receives."""
        for mid in list(peer.publications):
            self.unpublish(peer, mid)
        for sub in peer.subscriptions.values():
            sub.close()
        peer.subscriptions.clear()

    def peer_left(self) -> None:
        """Everyone renegotiates: the leaver's m-lines go inactive."""
        for other in self._peers.values():
            other.want_negotiation()


def _default_source(peer: Peer, kind: str) -> str:
    if kind == "audio":
        return "mic"
    has_camera = any(p.source == "camera" for p in peer.publications.values())
    return "screen" if has_camera else "camera"
