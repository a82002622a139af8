"""What a participant receives: one ``Subscription`` per publication of someone else
forwarded to it (mediasoup's Consumer), on an m-line of its connection.

A subscription owns its sending side: the ``ForwardedTrack`` its sender reads, the
transceiver it sends on, keyframe requests from the subscriber (relayed to the publisher),
pause and resume, and the two ways it ends (``retire``, keeping the m-line for the
participant; ``close``, when the whole connection goes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiortc import RTCPeerConnection, RTCRtpSender, RTCRtpTransceiver
from aiortc.rtcrtpparameters import RTCRtpCodecCapability

from . import aiortc_tap
from .forwarding import FORWARDED_CODECS, ForwardedTrack

if TYPE_CHECKING:
    from .publication import Publication


def _codec_preferences(kind: str) -> list[RTCRtpCodecCapability]:
    wanted = FORWARDED_CODECS[kind].lower()
    codecs = RTCRtpSender.getCapabilities(kind).codecs
    main = [c for c in codecs if c.mimeType.lower() == wanted]
    rtx = [c for c in codecs if c.mimeType.lower() == "video/rtx"] if kind == "video" else []
    return main + rtx


class Subscription:
    """One publication forwarded to one participant: a transceiver on its connection."""

    def __init__(
        self, publication: Publication, track: ForwardedTrack, transceiver: RTCRtpTransceiver
    ) -> None:
        self.publication = publication
        self.track = track
        self.transceiver = transceiver
        self.keyframe_requests = 0  # PLI/FIR received from the subscriber

    @classmethod
    def open(cls, pc: RTCPeerConnection, publication: Publication) -> Subscription:
        """A new transceiver on ``pc`` for ``publication``; the next offer announces it."""
        forwarder = publication.forwarder
        track = forwarder.subscribe(track_id=publication.track_id)
        # sendrecv, not sendonly: a browser's addTrack may reuse this transceiver to publish.
        transceiver = pc.addTransceiver(track, direction="sendrecv")
        transceiver.setCodecPreferences(_codec_preferences(publication.kind))
        aiortc_tap.set_stream_id(transceiver.sender, publication.peer_id)
        subscription = cls(publication, track, transceiver)

        def on_keyframe_request(request: str) -> None:
            subscription.keyframe_requests += 1
            forwarder.ask_keyframe(f"subscriber {request}")

        aiortc_tap.on_keyframe_request(transceiver.sender, on_keyframe_request)
        return subscription

    @property
    def mid(self) -> str | None:
        return self.transceiver.mid

    @property
    def taken_over(self) -> bool:
        """The participant took the m-line over to publish on it and declined to receive
        there (an aiortc client may do that after a glare)."""
        return self.transceiver.currentDirection == "recvonly"

    @property
    def paused(self) -> bool:
        return self.track.paused

    def pause(self) -> None:
        """Stop sending to this participant; the publication goes on for the others."""
        self.track.pause()

    def resume(self) -> None:
        """Send again; video restarts at a keyframe, asked of the publisher now."""
        self.track.resume()

    async def retire(self) -> RTCRtpSender:
        """Stop sending but keep the m-line: the participant may still publish there.
        Returns the stopped sender (the next answer must not restart it)."""
        self.track.stop()  # the sender's loop ends on MediaStreamError
        self.transceiver.direction = "recvonly"
        sender = self.transceiver.sender
        await sender.stop()  # RTCP BYE now: the subscriber's track ends without waiting
        return sender

    def close(self) -> None:
        """The subscriber's connection is closing: just end the track."""
        self.track.stop()
