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

How the pieces divide the work: ``negotiation`` (``Peer``: one participant's connection
and its offer/answer exchange, with notes for the client author), ``routing`` (``Router``:
who receives what), ``publication`` / ``subscription`` (one published track, one forwarded
track: each pauses, resumes and closes itself), ``forwarding`` (the frames' fan-out),
``recorder`` (recordings).

Notes for the signalling author:

- Await ``handle_signal`` for one participant's messages in the order they arrived (one
  consumer does that naturally). It raises ``SignalError`` (a ``ValueError``) for a
  malformed message and leaves the room as it was: answer the client with an error.
- ``add_peer`` raises ``ValueError`` for a bad or duplicate ``peer_id``; after a reconnect,
  ``remove_peer`` the old one first. ``remove_peer`` is idempotent.
- ``peer_id`` must be an SDP token (letters, digits, ``-._~`` and the like, at most 64
  characters): it is the msid stream id of the peer's forwarded tracks.
- Everything runs on the event loop that calls the room; one room per meeting, one loop.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from aiortc import RTCConfiguration, RTCPeerConnection

from . import aiortc_tap
from .ice import build_configuration
from .negotiation import Peer, Signal, SignalError
from .recorder import RoomRecorder
from .routing import Router

__all__ = ["MediaRoom", "Peer", "SignalError"]

logger = logging.getLogger(__name__)

_TOKEN = re.compile(r"[A-Za-z0-9!#$%&'*+\-.^_`{|}~]{1,64}")


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
        self._router = Router(self._peers)
        self._closed = False
        self._recorder: RoomRecorder | None = None

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
        peer = Peer(peer_id, pc, on_signal)
        self._peers[peer_id] = peer
        router = self._router

        @pc.on("track")
        def on_track(track: Any) -> None:
            router.on_remote_track(peer, track)

        @pc.on("connectionstatechange")
        def on_state() -> None:
            logger.debug("peer %s: connection %s", peer_id, pc.connectionState)

        peer.start(router)
        return peer

    async def handle_signal(self, peer_id: str, message: dict[str, Any]) -> None:
        """Apply one message from ``peer_id``; raises ``SignalError`` if it is malformed."""
        peer = self._peers.get(peer_id)
        if peer is None:
            raise SignalError(f"unknown peer {peer_id!r}")
        await peer.handle(message, self._router)

    async def remove_peer(self, peer_id: str) -> None:
        """The participant left: stop its tracks everywhere and close its connection."""
        peer = self._peers.pop(peer_id, None)
        if peer is None:
            return
        peer.mark_closed()
        async with peer.lock:
            self._router.drop(peer)
            await peer.close_connection()
        await peer.stop_tasks()
        self._router.peer_left()

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
            recorder = self._recorder = self._router.recorder = RoomRecorder(
                recording_id, Path(directory)
            )
        for peer_id in consented:
            self.set_recording_consent(recording_id, peer_id, True)
        return True

    def set_recording_consent(self, recording_id: str, peer_id: str, accepted: bool) -> bool:
        """A participant accepted (recorded from now on) or declined (their files end now
        and nothing more of theirs is written)."""
        recorder = self._recorder
        if recorder is None or recorder.recording_id != recording_id:
            return False
        peer = self._peers.get(peer_id)
        publications = list(peer.publications.values()) if peer is not None else []
        if accepted:
            recorder.consented.add(peer_id)
            for pub in publications:
                pub.record(recorder)
        else:
            recorder.consented.discard(peer_id)
            for pub in publications:
                pub.stop_recording()
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
        self._recorder = self._router.recorder = None
        for peer in self._peers.values():
            for pub in peer.publications.values():
                pub.stop_recording()
        return await asyncio.to_thread(recorder.close, reason)

    # --- stats -----------------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        peers = self._peers.values()
        publications = [p for peer in peers for p in peer.publications.values()]
        subscriptions = [s for peer in peers for s in peer.subscriptions.values()]
        taps = [i.tap for peer in peers for i in peer.inbound.values() if i.tap]
        router = self._router
        return {
            "room": self.room_id,
            "peers": len(self._peers),
            "publications": len(publications),
            "subscriptions": len(subscriptions),
            "frames_received": sum(t.frames for t in taps),
            "bytes_received": sum(t.bytes for t in taps),
            "frames_forwarded": sum(p.forwarder.frames_forwarded() for p in publications),
            "frames_received_total": router.ended_frames_received
            + sum(p.forwarder.frames_in for p in publications),
            "frames_forwarded_total": router.ended_frames_forwarded
            + sum(p.forwarder.frames_forwarded() for p in publications),
            "frames_dropped": sum(s.track.frames_dropped for s in subscriptions),
            "keyframe_requests_sent": sum(p.forwarder.keyframe_requests_sent for p in publications),
            "decoders_running": sum(
                aiortc_tap.decoder_running(i.transceiver.receiver)
                for peer in peers
                for i in peer.inbound.values()
            ),
            "by_peer": {
                peer.peer_id: {
                    "connection_state": peer.pc.connectionState,
                    "signaling_state": peer.pc.signalingState,
                    "publications": [p.stats() for p in peer.publications.values()],
                    "subscriptions": len(peer.subscriptions),
                    "offers_sent": peer.offers_sent,
                    "answers_sent": peer.answers_sent,
                    "glare_ignored": peer.glare_ignored,
                }
                for peer in peers
            },
        }

    def _config_for(self, peer_id: str) -> RTCConfiguration:
        if self._configuration_factory is not None:
            return self._configuration_factory(peer_id)
        if self._configuration is not None:
            return self._configuration
        return build_configuration()
