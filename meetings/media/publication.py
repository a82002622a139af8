"""What a participant publishes: one ``Publication`` per track it sends (mediasoup's
Producer), fed by the tapped server-side receiver (``Inbound``).

A publication owns its forwarding: it opens subscriptions for other participants, hands
its frames to a recording, pauses and resumes, and closes (which ends every subscription
of it). Frames reach it as aiortc delivers them, already encoded; nothing here decodes.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiortc import RTCPeerConnection, RTCRtpTransceiver

from . import aiortc_tap
from .forwarding import TrackForwarder
from .recorder import RoomRecorder
from .subscription import Subscription


@dataclass(eq=False)
class Inbound:
    """A server-side receiver the participant sends on, with its tap."""

    transceiver: RTCRtpTransceiver
    tap: aiortc_tap.ReceiverTap | None = None
    forwarder: TrackForwarder | None = None
    record: Callable[[aiortc_tap.EncodedFrame], None] | None = None  # while recorded
    paused: bool = False

    def on_frame(self, frame: aiortc_tap.EncodedFrame) -> None:
        if self.paused:
            return
        forwarder = self.forwarder
        if forwarder is not None:
            forwarder.push(frame)
        record = self.record
        if record is not None:
            record(frame)

    @property
    def receiving(self) -> bool:
        """Whether frames still arrive here (the tap is attached and not at its end)."""
        return self.tap is not None and not self.tap.ended


class Publication:
    """One track a participant publishes, keyed in the room by (peer_id, mid)."""

    def __init__(
        self,
        *,
        peer_id: str,
        transceiver: RTCRtpTransceiver,
        inbound: Inbound,
        mime_type: str,
        source: str,
        track_id: str,
    ) -> None:
        mid = transceiver.mid
        assert mid is not None
        receiver = transceiver.receiver
        self.peer_id = peer_id
        self.mid = mid
        self.kind: str = transceiver.kind
        self.source = source
        self.track_id = track_id
        self.inbound = inbound
        self.forwarder = TrackForwarder(
            self.kind,
            mime_type=mime_type,
            request_keyframe=lambda: aiortc_tap.request_keyframe(receiver),
            name=f"{peer_id}/{mid}",
        )
        self._recorder: RoomRecorder | None = None
        inbound.forwarder = self.forwarder

    @property
    def key(self) -> tuple[str, str]:
        return (self.peer_id, self.mid)

    @property
    def live(self) -> bool:
        return not self.forwarder.closed

    @property
    def paused(self) -> bool:
        return self.inbound.paused

    def subscribe(self, pc: RTCPeerConnection) -> Subscription:
        """Forward this track to another participant, on a new m-line of its connection."""
        return Subscription.open(pc, self)

    def record(self, recorder: RoomRecorder) -> None:
        """Hand this track's frames to ``recorder`` too, if its participant consented."""
        if recorder.is_recording(self.key):
            return
        if recorder.add(
            self.key,
            peer_id=self.peer_id,
            kind=self.kind,
            source=self.source,
            mime_type=self.forwarder.mime_type or "",
        ):
            self._recorder = recorder
            self.inbound.record = functools.partial(recorder.push, self.key)
            self.forwarder.ask_keyframe("record")  # the file starts at a keyframe

    def stop_recording(self) -> None:
        """No more frames to the recording (its file is the recorder's to end)."""
        self.inbound.record = None
        self._recorder = None

    def pause(self) -> None:
        """Stop sending this track's frames anywhere (subscribers, recording), now."""
        self.inbound.paused = True
        self.forwarder.drop_queued()

    def resume(self) -> None:
        """Send frames again; video restarts everywhere at a keyframe, asked for now."""
        if not self.inbound.paused:
            return
        self.inbound.paused = False
        self.forwarder.resync("resume")
        if self._recorder is not None:
            self._recorder.resync(self.key)

    def close(self) -> None:
        """The participant stopped sending it: end its file and every subscription."""
        self.inbound.forwarder = None
        self.inbound.record = None
        self.inbound.paused = False  # a later publication on this m-line starts afresh
        if self._recorder is not None:
            self._recorder.end(self.key)
            self._recorder = None
        self.forwarder.close()  # ends every subscriber's ForwardedTrack

    def stats(self) -> dict[str, Any]:
        return {"mid": self.mid, "source": self.source, **self.forwarder.stats()}
