"""The one place that touches aiortc internals (aiortc is pinned to ``PINNED_AIORTC_VERSION``).

aiortc has no public hook for the *encoded* frames a receiver gets, and no public way to
learn that a subscriber asked for a keyframe. This module provides both, plus a few small
helpers the SFU needs, on top of private attributes of aiortc 1.16.0. Every private name
used here is listed in ``PRIVATE_NAMES`` and checked by ``tests/media/test_aiortc_internals``,
which fails loudly (naming the attribute) when an aiortc upgrade changes one of them.

How the receive side works in aiortc 1.16.0 (``aiortc/rtcrtpreceiver.py``):

- ``RTCRtpReceiver._handle_rtp_packet`` runs on the event loop thread (the DTLS transport
  awaits it for every SRTP packet). It depayloads, feeds the jitter buffer and, for each
  complete frame, calls ``self.__decoder_queue.put((codec, encoded_frame))`` where
  ``encoded_frame`` is a ``JitterFrame`` (``data``: the whole encoded frame after
  depayloading, e.g. a VP8 frame or an Opus packet; ``timestamp``: the RTP timestamp made
  relative to the first one). It only does so while ``self.__decoder_thread`` is set.
- ``receive()`` starts that decoder thread on ``decoder_worker(loop, input_q, ...)`` with
  ``input_q`` being the receiver's ``__decoder_queue`` object at that moment. The worker
  loops on ``input_q.get()``; ``None`` makes it put ``None`` on the remote track's queue
  and exit.
- ``stop()``, a DTLS disconnect and an RTCP BYE call ``__stop_decoder``, which puts
  ``None`` on ``__decoder_queue``, joins the thread and clears ``__decoder_thread``.

``tap_receiver`` replaces ``__decoder_queue`` with a ``ReceiverTap``. Before ``receive()``,
the decoder thread is started on the tap itself: its ``get()`` returns ``None`` at once, so
the thread exits without ever creating a decoder (the remote track sees end-of-stream, which
is right: it will never carry decoded frames). After ``receive()``, the running thread is
stopped with its ``None`` sentinel on the old queue. Either way the thread object stays
set, so ``_handle_rtp_packet`` keeps handing frames to the tap's ``put()``, which turns each
into an ``av.Packet`` and calls the callback right there on the loop thread.

On the send side, ``RTCRtpSender._next_encoded_frame`` calls ``encoder.pack(packet)`` for
anything that is not an ``av.Frame``: VP8's ``pack`` packetizes ``bytes(packet)`` with its
own picture id and Opus's sends it as one payload; both take the RTP timestamp from
``convert_timebase(packet.pts, packet.time_base, 1/clock rate)`` and the sender adds its
own random origin. So a packet with ``pts`` = relative RTP timestamp and ``time_base`` =
1/clock rate is forwarded as is, with no encoder involved.
"""

from __future__ import annotations

import asyncio
import fractions
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiortc
import av
from aiortc import RTCRtpReceiver, RTCRtpSender, RTCRtpTransceiver
from aiortc.jitterbuffer import JitterBuffer
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import RTCP_PSFB_FIR, RTCP_PSFB_PLI, RtcpPsfbPacket

logger = logging.getLogger(__name__)

PINNED_AIORTC_VERSION = "1.16.0"

# The private names this module relies on (checked by tests/media/test_aiortc_internals.py).
DECODER_QUEUE = "_RTCRtpReceiver__decoder_queue"  # queue.Queue fed (codec, JitterFrame)
DECODER_THREAD = "_RTCRtpReceiver__decoder_thread"  # threading.Thread | None
JITTER_BUFFER = "_RTCRtpReceiver__jitter_buffer"  # JitterBuffer(capacity, prefetch, is_video)
RTX_SSRC = "_RTCRtpReceiver__rtx_ssrc"  # dict[rtx ssrc, media ssrc]
REMOTE_STREAMS = "_RTCRtpReceiver__remote_streams"  # dict[ssrc, StreamStatistics]
RECEIVER_KIND = "_RTCRtpReceiver__kind"  # "audio" | "video"
SEND_PLI = "_send_rtcp_pli"  # async (self, media_ssrc: int) -> None
SENDER_HANDLE_RTCP = "_handle_rtcp_packet"  # async (self, packet) -> None
SENDER_STREAM_ID = "_stream_id"  # str, the msid stream id written into the SDP
SENDER_FORCE_KEYFRAME = "_RTCRtpSender__force_keyframe"  # set by PLI/FIR (encoder path only)
TRANSCEIVER_CODECS = "_codecs"  # list[RTCRtpCodecParameters], what createAnswer offers
DTLS_RTP_ROUTER = "_rtp_router"  # RtpRouter: route_rtp(), ssrc_table, mid_table, pt table

PRIVATE_NAMES = (
    DECODER_QUEUE,
    DECODER_THREAD,
    JITTER_BUFFER,
    RTX_SSRC,
    REMOTE_STREAMS,
    RECEIVER_KIND,
    SEND_PLI,
    SENDER_HANDLE_RTCP,
    SENDER_STREAM_ID,
    SENDER_FORCE_KEYFRAME,
    TRANSCEIVER_CODECS,
    DTLS_RTP_ROUTER,
)

# aiortc's audio jitter buffer holds 4 frames (80 ms) before releasing one, to smooth the
# input of its own decoder. A forwarder does not decode; the subscriber's browser has its
# own jitter buffer, so the server releases each audio frame as soon as it is complete.
AUDIO_JITTER_CAPACITY = 16
AUDIO_JITTER_PREFETCH = 0


def check_aiortc_version() -> None:
    """Raise if the installed aiortc is not the version this module was written against."""
    if aiortc.__version__ != PINNED_AIORTC_VERSION:
        raise RuntimeError(
            f"meetings.media.aiortc_tap relies on aiortc {PINNED_AIORTC_VERSION} internals, "
            f"but aiortc {aiortc.__version__} is installed: run tests/media/"
            "test_aiortc_internals.py and update the tap before changing the pin"
        )


@dataclass(frozen=True, slots=True)
class EncodedFrame:
    """One complete encoded frame taken from a receiver, ready for an ``RTCRtpSender``.

    ``packet`` holds the frame with ``pts`` = the RTP timestamp relative to the start of the
    stream and ``time_base`` = 1/clock rate, which is what aiortc's encoders' ``pack()``
    expect. ``data`` is the same encoded frame as ``bytes`` (a VP8 frame, an Opus packet),
    for cheap inspection (keyframe bit) without copying it out of the packet again.
    """

    packet: av.Packet
    data: bytes
    kind: str
    mime_type: str
    timestamp: int
    clock_rate: int


FrameCallback = Callable[[EncodedFrame], None]
EndCallback = Callable[[], None]

_TIME_BASES: dict[int, fractions.Fraction] = {}


def _time_base(clock_rate: int) -> fractions.Fraction:
    base = _TIME_BASES.get(clock_rate)
    if base is None:
        base = _TIME_BASES[clock_rate] = fractions.Fraction(1, clock_rate)
    return base


def make_packet(data: bytes, timestamp: int, clock_rate: int) -> av.Packet:
    """An ``av.Packet`` an ``RTCRtpSender`` packs as is (see the module docstring)."""
    packet = av.Packet(data)
    packet.pts = timestamp
    packet.time_base = _time_base(clock_rate)
    return packet


class ReceiverTap:
    """Stands in for an ``RTCRtpReceiver``'s decoder queue (the ``queue.Queue`` methods aiortc
    calls: ``put`` from the loop thread, ``get`` from the decoder thread).

    Each complete frame is handed to ``on_frame`` on the event loop thread; ``None`` (the
    receiver stopping: ``stop()``, DTLS closed, RTCP BYE) calls ``on_end`` once.
    """

    def __init__(
        self,
        receiver: RTCRtpReceiver,
        on_frame: FrameCallback,
        on_end: EndCallback | None,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.receiver = receiver
        self.kind: str = getattr(receiver, RECEIVER_KIND)
        self._on_frame: FrameCallback | None = on_frame
        self._on_end = on_end
        self._loop = loop
        self._loop_thread = threading.get_ident()
        self.frames = 0
        self.bytes = 0
        self.ended = False
        # The receiver's decoder thread, recorded when it asks us for work (it gets none).
        self.decoder_thread: threading.Thread | None = None
        self.decoder_gets = 0

    # --- the queue.Queue interface aiortc uses ---------------------------------------

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        if threading.get_ident() != self._loop_thread:
            # aiortc 1.16.0 only puts from the loop thread; stay correct if that changes.
            self._loop.call_soon_threadsafe(self.put, item)
            return
        if item is None:
            self._end()
            return
        if self._on_frame is None:
            return
        codec, encoded_frame = item
        data: bytes = encoded_frame.data
        if not data:
            return
        self.frames += 1
        self.bytes += len(data)
        clock_rate = codec.clockRate
        frame = EncodedFrame(
            packet=make_packet(data, encoded_frame.timestamp, clock_rate),
            data=data,
            kind=self.kind,
            mime_type=codec.mimeType,
            timestamp=encoded_frame.timestamp,
            clock_rate=clock_rate,
        )
        try:
            self._on_frame(frame)
        except Exception:  # a subscriber's bug must not break the publisher's receiver
            logger.exception("encoded frame callback failed")

    def put_nowait(self, item: Any) -> None:
        self.put(item)

    def get(self, block: bool = True, timeout: float | None = None) -> None:
        # Called by aiortc's decoder thread: no work, ever. None makes it exit at once.
        self.decoder_thread = threading.current_thread()
        self.decoder_gets += 1
        return None

    def get_nowait(self) -> None:
        return self.get(block=False)

    def qsize(self) -> int:
        return 0

    def empty(self) -> bool:
        return True

    # --- ours ------------------------------------------------------------------------

    def detach(self) -> None:
        """Stop delivering frames (the receiver keeps its tap, so it still never decodes)."""
        self._on_frame = None
        self._on_end = None

    def _end(self) -> None:
        if self.ended:
            return
        self.ended = True
        on_end, self._on_end = self._on_end, None
        self._on_frame = None
        if on_end is not None:
            try:
                on_end()
            except Exception:
                logger.exception("end-of-stream callback failed")


def tap_receiver(
    receiver: RTCRtpReceiver,
    on_frame: FrameCallback,
    on_end: EndCallback | None = None,
    *,
    low_latency_audio: bool = True,
) -> ReceiverTap:
    """Take ``receiver``'s encoded frames for ``on_frame`` instead of its decoder.

    Call it from the event loop, best before ``receive()`` starts (e.g. in the peer
    connection's ``track`` event, which aiortc emits inside ``setRemoteDescription`` before
    it schedules ``receive()``); after is fine too, the running decoder thread is stopped.
    """
    current = getattr(receiver, DECODER_QUEUE)
    if isinstance(current, ReceiverTap):
        raise RuntimeError("this receiver is already tapped")
    tap = ReceiverTap(receiver, on_frame, on_end, asyncio.get_running_loop())
    if low_latency_audio and tap.kind == "audio":
        setattr(
            receiver,
            JITTER_BUFFER,
            JitterBuffer(capacity=AUDIO_JITTER_CAPACITY, prefetch=AUDIO_JITTER_PREFETCH),
        )
    setattr(receiver, DECODER_QUEUE, tap)
    thread: threading.Thread | None = getattr(receiver, DECODER_THREAD)
    if thread is not None and thread.is_alive():
        # receive() already started the decoder on the old queue: give it nothing more and
        # let it exit on its sentinel. The attribute stays set, so frames still reach put().
        tap.decoder_thread = thread
        while True:
            try:
                current.get_nowait()
            except queue.Empty:
                break
        current.put(None)
        thread.join(timeout=2.0)
    return tap


def receiver_tap(receiver: RTCRtpReceiver) -> ReceiverTap | None:
    current = getattr(receiver, DECODER_QUEUE)
    return current if isinstance(current, ReceiverTap) else None


def decoder_running(receiver: RTCRtpReceiver) -> bool:
    """Whether ``receiver`` has a live decoder thread."""
    thread: threading.Thread | None = getattr(receiver, DECODER_THREAD)
    return thread is not None and thread.is_alive()


def media_ssrcs(receiver: RTCRtpReceiver) -> list[int]:
    """The SSRCs of the media (not RTX) streams ``receiver`` has seen, latest first."""
    rtx = getattr(receiver, RTX_SSRC)
    seen = sorted(receiver.getSynchronizationSources(), key=lambda s: s.timestamp, reverse=True)
    ssrcs = [s.source for s in seen if s.source not in rtx]
    for ssrc in getattr(receiver, REMOTE_STREAMS):
        if ssrc not in rtx and ssrc not in ssrcs:
            ssrcs.append(ssrc)
    return ssrcs


async def request_keyframe(receiver: RTCRtpReceiver, ssrc: int | None = None) -> bool:
    """Send a PLI for ``ssrc`` (default: the stream ``receiver`` last got media on).

    Returns False when no media SSRC is known yet (nothing received, so nothing to repair:
    a sender starts with a keyframe).
    """
    if ssrc is None:
        ssrcs = media_ssrcs(receiver)
        if not ssrcs:
            return False
        ssrc = ssrcs[0]
    send_pli = getattr(receiver, SEND_PLI)
    await send_pli(ssrc)
    return True


KeyframeRequestCallback = Callable[[str], None]
_HOOK_ATTR = "_meetings_media_keyframe_callbacks"


def on_keyframe_request(sender: RTCRtpSender, callback: KeyframeRequestCallback) -> None:
    """Call ``callback("pli" | "fir")`` when the remote end asks ``sender`` for a keyframe.

    Wraps the sender's ``_handle_rtcp_packet`` (the DTLS transport routes RTCP feedback to it
    by media SSRC); the original still runs afterwards (NACK retransmissions, RTT, REMB).
    """
    callbacks: list[KeyframeRequestCallback] | None = getattr(sender, _HOOK_ATTR, None)
    if callbacks is not None:
        callbacks.append(callback)
        return
    callbacks = [callback]
    setattr(sender, _HOOK_ATTR, callbacks)
    original = getattr(sender, SENDER_HANDLE_RTCP)

    async def handle_rtcp_packet(packet: Any) -> None:
        if isinstance(packet, RtcpPsfbPacket) and packet.fmt in (RTCP_PSFB_PLI, RTCP_PSFB_FIR):
            kind = "pli" if packet.fmt == RTCP_PSFB_PLI else "fir"
            for cb in list(callbacks):
                try:
                    cb(kind)
                except Exception:
                    logger.exception("keyframe request callback failed")
        await original(packet)

    setattr(sender, SENDER_HANDLE_RTCP, handle_rtcp_packet)


def set_stream_id(sender: RTCRtpSender, stream_id: str) -> None:
    """Set the msid stream id the SDP announces for ``sender``'s track.

    aiortc writes ``a=msid:<sender._stream_id> <track id>`` and gives every sender of a
    connection the same random stream id; browsers expose it as ``event.streams[0].id``.
    """
    setattr(sender, SENDER_STREAM_ID, stream_id)


def stream_id(sender: RTCRtpSender) -> str:
    return getattr(sender, SENDER_STREAM_ID)


def restrict_codecs(transceiver: RTCRtpTransceiver, mime_type: str) -> RTCRtpCodecParameters | None:
    """Keep only ``mime_type`` (and its RTX) in what was negotiated from a remote offer.

    Call between ``setRemoteDescription(offer)`` and ``createAnswer()``: aiortc computes the
    common codecs in ``setRemoteDescription`` (``setCodecPreferences`` cannot act on a
    transceiver created by the offer itself) and ``createAnswer`` writes them. Forwarding
    needs the publisher's codec to be one every subscriber connection negotiates.
    Returns the kept codec, or None (codecs left untouched) if the offer lacks it.
    """
    codecs: list[RTCRtpCodecParameters] = getattr(transceiver, TRANSCEIVER_CODECS)
    wanted = mime_type.lower()
    primary = next((c for c in codecs if c.mimeType.lower() == wanted), None)
    if primary is None:
        return None
    kept = [primary]
    for codec in codecs:
        if codec.name.lower() == "rtx" and codec.parameters.get("apt") == primary.payloadType:
            kept.append(codec)
            break
    setattr(transceiver, TRANSCEIVER_CODECS, kept)
    return primary


def negotiated_codec(transceiver: RTCRtpTransceiver) -> RTCRtpCodecParameters | None:
    codecs: list[RTCRtpCodecParameters] = getattr(transceiver, TRANSCEIVER_CODECS)
    return next((c for c in codecs if c.name.lower() != "rtx"), None)


_ROUTER_GUARD_ATTR = "_meetings_media_routes_by_mid"


def route_by_mid(transport: Any) -> None:
    """Route RTP of not-yet-known SSRCs by their MID header extension, never by guesswork.

    aiortc's ``RtpRouter.route_rtp`` sends a packet whose SSRC it does not know to the one
    receiver registered for its payload type, and remembers that. When a participant starts
    sending on a new m-line before the server has registered its receiver (it answered our
    offer with "send", e.g. after a perfect-negotiation rollback reused a transceiver), those
    first packets would land in, and corrupt, another track's jitter buffer (the camera's,
    since camera and screen share VP8's payload type). With this guard a packet that names
    its MID goes to that MID's receiver, or is dropped if it is not registered yet; a packet
    without MID falls back to aiortc's routing. Idempotent; call it for each DTLS transport.
    """
    router = getattr(transport, DTLS_RTP_ROUTER)
    if getattr(router, _ROUTER_GUARD_ATTR, False):
        return
    original = router.route_rtp
    ssrc_table = router.ssrc_table
    mid_table = router.mid_table
    payload_type_table = router.payload_type_table

    def route_rtp(packet: Any) -> Any:
        if packet.ssrc not in ssrc_table:
            mid = packet.extensions.mid
            if mid is not None:
                receiver = mid_table.get(mid)
                if receiver is None or receiver not in payload_type_table.get(
                    packet.payload_type, ()
                ):
                    return None
                ssrc_table[packet.ssrc] = receiver
                return receiver
        return original(packet)

    router.route_rtp = route_rtp
    setattr(router, _ROUTER_GUARD_ATTR, True)
