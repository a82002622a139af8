"""Fails loudly when an aiortc internal that meetings/media/aiortc_tap.py relies on changes.

aiortc is pinned (pyproject: aiortc==1.16.0). Before moving the pin, run this file: every
failure names the attribute or behaviour that moved. The tests drive the real aiortc
classes (receiver, sender, jitter buffer, encoders, peer connection) with a fake transport
or in-process peer connections; nothing here goes over the network.
"""

from __future__ import annotations

import asyncio
import inspect
import queue
import threading
from typing import Any

import aiortc
import av
import pytest
from aiortc import (
    MediaStreamTrack,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.codecs import get_encoder
from aiortc.codecs.opus import OpusDecoder
from aiortc.codecs.vpx import Vp8Decoder, VpxPayloadDescriptor
from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.rtcrtpparameters import (
    RTCRtpCodecParameters,
    RTCRtpDecodingParameters,
    RTCRtpReceiveParameters,
)
from aiortc.rtcrtpreceiver import RemoteStreamTrack, decoder_worker
from aiortc.rtp import RTCP_PSFB_FIR, RTCP_PSFB_PLI, RtcpPacket, RtcpPsfbPacket, RtpPacket
from aiortc.stats import RTCStatsReport

from meetings.media import aiortc_tap
from meetings.media.ice import build_configuration

from . import use_loopback_ice

VERSION = aiortc.__version__
VP8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=97)
OPUS = RTCRtpCodecParameters(mimeType="audio/opus", clockRate=48000, channels=2, payloadType=96)
MEDIA_SSRC = 0x1234_5678


@pytest.fixture(autouse=True)
def _loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    use_loopback_ice(monkeypatch)


def require_attr(obj: Any, name: str) -> Any:
    assert hasattr(obj, name), (
        f"aiortc {VERSION}: {type(obj).__name__} has no attribute {name!r}; "
        "meetings/media/aiortc_tap.py relies on it"
    )
    return getattr(obj, name)


class FakeTransport:
    """Just enough of RTCDtlsTransport for a receiver or sender to run."""

    state = "connected"
    _stats_id = "transport_test"

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.registered: list[Any] = []

    def _register_rtp_receiver(self, receiver: Any, parameters: Any) -> None:
        self.registered.append(receiver)

    def _unregister_rtp_receiver(self, receiver: Any) -> None:
        pass

    def _register_rtp_sender(self, sender: Any, parameters: Any) -> None:
        pass

    def _unregister_rtp_sender(self, sender: Any) -> None:
        pass

    async def _send_rtp(self, data: bytes) -> None:
        self.sent.append(data)

    def _get_stats(self) -> RTCStatsReport:
        return RTCStatsReport()


def make_receiver(kind: str = "video") -> RTCRtpReceiver:
    receiver = RTCRtpReceiver(kind, FakeTransport())  # type: ignore[arg-type]
    receiver._track = RemoteStreamTrack(kind=kind)
    return receiver


def receive_parameters(codec: RTCRtpCodecParameters) -> RTCRtpReceiveParameters:
    return RTCRtpReceiveParameters(
        codecs=[codec],
        encodings=[RTCRtpDecodingParameters(ssrc=MEDIA_SSRC, payloadType=codec.payloadType)],
    )


def vp8_frame(index: int, keyframe: bool, size: int = 2500) -> bytes:
    """Bytes shaped like a VP8 frame: only the keyframe bit of the first byte matters."""
    first = 0x10 if keyframe else 0x11
    return bytes([first]) + bytes((index + i) & 0xFF for i in range(size - 1))


def vp8_rtp_packets(frames: list[bytes], *, first_seq: int = 1000) -> list[RtpPacket]:
    packets = []
    seq = first_seq
    for n, frame in enumerate(frames):
        chunks = [frame[i : i + 1000] for i in range(0, len(frame), 1000)]
        for i, chunk in enumerate(chunks):
            descriptor = VpxPayloadDescriptor(partition_start=int(i == 0), partition_id=0)
            packets.append(
                RtpPacket(
                    payload_type=VP8.payloadType,
                    marker=int(i == len(chunks) - 1),
                    sequence_number=seq & 0xFFFF,
                    timestamp=(90_000_000 + n * 3000) & 0xFFFFFFFF,
                    ssrc=MEDIA_SSRC,
                    payload=bytes(descriptor) + chunk,
                )
            )
            seq += 1
    return packets


@pytest.fixture
def no_decoding(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Any decode by aiortc's VP8/Opus decoders is recorded (and fails the test)."""
    calls: list[str] = []

    def vp8_decode(self: Any, encoded_frame: Any) -> list[Any]:
        calls.append("vp8")
        return []

    def opus_decode(self: Any, encoded_frame: Any) -> list[Any]:
        calls.append("opus")
        return []

    monkeypatch.setattr(Vp8Decoder, "decode", vp8_decode)
    monkeypatch.setattr(OpusDecoder, "decode", opus_decode)
    return calls


# --- the pin and the names -------------------------------------------------------------


def test_aiortc_is_the_pinned_version() -> None:
    assert VERSION == aiortc_tap.PINNED_AIORTC_VERSION, (
        f"aiortc {VERSION} installed, the tap was written for "
        f"{aiortc_tap.PINNED_AIORTC_VERSION}: check every test in this file, then update "
        "PINNED_AIORTC_VERSION and the pin in pyproject.toml together"
    )
    aiortc_tap.check_aiortc_version()


async def test_receiver_private_attributes() -> None:
    receiver = make_receiver("video")
    decoder_queue = require_attr(receiver, aiortc_tap.DECODER_QUEUE)
    assert type(decoder_queue) is queue.Queue, (
        f"aiortc {VERSION}: {aiortc_tap.DECODER_QUEUE} is a {type(decoder_queue)!r}, "
        "not a queue.Queue"
    )
    assert require_attr(receiver, aiortc_tap.DECODER_THREAD) is None, (
        f"{aiortc_tap.DECODER_THREAD} should be None before receive()"
    )
    jitter = require_attr(receiver, aiortc_tap.JITTER_BUFFER)
    assert isinstance(jitter, JitterBuffer), f"{aiortc_tap.JITTER_BUFFER} is {type(jitter)!r}"
    assert isinstance(require_attr(receiver, aiortc_tap.RTX_SSRC), dict)
    assert isinstance(require_attr(receiver, aiortc_tap.REMOTE_STREAMS), dict)
    assert require_attr(receiver, aiortc_tap.RECEIVER_KIND) == "video"
    assert require_attr(make_receiver("audio"), aiortc_tap.RECEIVER_KIND) == "audio"
    assert isinstance(require_attr(receiver, "_track"), RemoteStreamTrack)


def test_send_rtcp_pli_signature() -> None:
    send_pli = require_attr(RTCRtpReceiver, aiortc_tap.SEND_PLI)
    assert inspect.iscoroutinefunction(send_pli), f"{aiortc_tap.SEND_PLI} is no longer async"
    params = list(inspect.signature(send_pli).parameters)
    assert params == ["self", "media_ssrc"], (
        f"aiortc {VERSION}: RTCRtpReceiver.{aiortc_tap.SEND_PLI} takes {params}, "
        "expected (self, media_ssrc)"
    )


def test_decoder_worker_and_jitter_buffer_signatures() -> None:
    params = list(inspect.signature(decoder_worker).parameters)
    assert params == ["loop", "input_q", "output_q", "decode_error"], (
        f"aiortc {VERSION}: decoder_worker takes {params}; the tap relies on it reading "
        "input_q.get() and exiting on None"
    )
    jb_params = list(inspect.signature(JitterBuffer.__init__).parameters)
    assert jb_params == ["self", "capacity", "prefetch", "is_video"], (
        f"aiortc {VERSION}: JitterBuffer.__init__ takes {jb_params}"
    )
    frame = JitterFrame(data=b"x", timestamp=1)
    assert (frame.data, frame.timestamp) == (b"x", 1), "JitterFrame lost data/timestamp"


async def test_sender_private_attributes() -> None:
    sender = RTCRtpSender("video", FakeTransport())  # type: ignore[arg-type]
    assert isinstance(require_attr(sender, aiortc_tap.SENDER_STREAM_ID), str)
    assert require_attr(sender, aiortc_tap.SENDER_FORCE_KEYFRAME) is False
    handle = require_attr(RTCRtpSender, aiortc_tap.SENDER_HANDLE_RTCP)
    assert inspect.iscoroutinefunction(handle), f"{aiortc_tap.SENDER_HANDLE_RTCP} is not async"
    params = list(inspect.signature(handle).parameters)
    assert params == ["self", "packet"], f"RTCRtpSender._handle_rtcp_packet takes {params}"


async def test_transceiver_codecs_attribute() -> None:
    pc = RTCPeerConnection(build_configuration())
    try:
        transceiver = pc.addTransceiver("video")
        codecs = require_attr(transceiver, aiortc_tap.TRANSCEIVER_CODECS)
        assert isinstance(codecs, list), f"{aiortc_tap.TRANSCEIVER_CODECS} is {type(codecs)!r}"
    finally:
        await pc.close()


# --- the receive side: the tap ---------------------------------------------------------


async def test_tap_before_receive_gets_frames_and_the_decoder_gets_nothing(
    no_decoding: list[str],
) -> None:
    receiver = make_receiver("video")
    received: list[aiortc_tap.EncodedFrame] = []
    threads: list[int] = []

    def on_frame(frame: aiortc_tap.EncodedFrame) -> None:
        threads.append(threading.get_ident())
        received.append(frame)

    ended: list[bool] = []
    tap = aiortc_tap.tap_receiver(receiver, on_frame, lambda: ended.append(True))
    assert getattr(receiver, aiortc_tap.DECODER_QUEUE) is tap
    await receiver.receive(receive_parameters(VP8))

    thread = getattr(receiver, aiortc_tap.DECODER_THREAD)
    assert isinstance(thread, threading.Thread), (
        f"aiortc {VERSION}: receive() no longer sets {aiortc_tap.DECODER_THREAD} to a Thread"
    )
    thread.join(timeout=2)
    assert not thread.is_alive(), "the decoder thread did not exit on the tap's None"
    assert tap.decoder_thread is thread and tap.decoder_gets == 1, (
        f"aiortc {VERSION}: the decoder thread did not read the tapped queue object "
        "(receive() must pass __decoder_queue to decoder_worker)"
    )
    assert not aiortc_tap.decoder_running(receiver)

    frames = [vp8_frame(i, keyframe=(i == 0)) for i in range(6)]
    for packet in vp8_rtp_packets(frames):
        await receiver._handle_rtp_packet(packet, arrival_time_ms=0)

    # The jitter buffer releases a frame once the next one starts: 5 of 6.
    assert [f.data for f in received] == frames[:5], (
        f"aiortc {VERSION}: _handle_rtp_packet no longer puts (codec, JitterFrame) with the "
        "whole depayloaded frame on __decoder_queue"
    )
    assert set(threads) == {threading.get_ident()}, "put() did not run on the loop thread"
    assert [f.timestamp for f in received] == [i * 3000 for i in range(5)], (
        "frame timestamps are not relative RTP timestamps (TimestampMapper)"
    )
    first = received[0]
    assert isinstance(first.packet, av.Packet)
    assert bytes(first.packet) == frames[0]
    assert first.packet.time_base == aiortc_tap._time_base(90000)
    assert (first.kind, first.mime_type, first.clock_rate) == ("video", "video/VP8", 90000)
    assert tap.frames == 5
    assert no_decoding == [], "a decoder ran on a tapped receiver"

    await receiver.stop()
    assert ended == [True], "stop() did not reach the tap as end-of-stream (put(None))"
    assert tap.ended


async def test_tap_after_receive_stops_the_running_decoder(no_decoding: list[str]) -> None:
    receiver = make_receiver("video")
    await receiver.receive(receive_parameters(VP8))
    thread = getattr(receiver, aiortc_tap.DECODER_THREAD)
    assert thread is not None and thread.is_alive(), "receive() did not start a decoder thread"

    received: list[aiortc_tap.EncodedFrame] = []
    tap = aiortc_tap.tap_receiver(receiver, received.append)
    assert not thread.is_alive(), "the running decoder thread was not stopped by the tap"
    assert getattr(receiver, aiortc_tap.DECODER_THREAD) is thread, (
        "the thread attribute must stay set, or _handle_rtp_packet stops putting frames"
    )
    frames = [vp8_frame(i, keyframe=(i == 0)) for i in range(4)]
    for packet in vp8_rtp_packets(frames):
        await receiver._handle_rtp_packet(packet, arrival_time_ms=0)
    assert [f.data for f in received] == frames[:3]
    assert tap.frames == 3
    assert no_decoding == []
    await receiver.stop()


async def test_audio_tap_releases_each_frame_without_prefetch(no_decoding: list[str]) -> None:
    receiver = make_receiver("audio")
    received: list[aiortc_tap.EncodedFrame] = []
    aiortc_tap.tap_receiver(receiver, received.append)
    await receiver.receive(receive_parameters(OPUS))
    for n in range(5):
        packet = RtpPacket(
            payload_type=OPUS.payloadType,
            sequence_number=500 + n,
            timestamp=48_000 + n * 960,
            ssrc=MEDIA_SSRC,
            payload=bytes([0x78, n]) * 20,
        )
        await receiver._handle_rtp_packet(packet, arrival_time_ms=0)
    # aiortc's default audio buffer (prefetch=4) would have released only 1 of these.
    assert len(received) == 4
    assert received[0].packet.time_base == aiortc_tap._time_base(48000)
    assert [f.timestamp for f in received] == [0, 960, 1920, 2880]
    assert no_decoding == []
    await receiver.stop()


async def test_put_from_another_thread_is_handed_to_the_loop() -> None:
    receiver = make_receiver("video")
    loop_thread = threading.get_ident()
    seen: list[int] = []
    tap = aiortc_tap.tap_receiver(receiver, lambda f: seen.append(threading.get_ident()))
    item = (VP8, JitterFrame(data=vp8_frame(0, True, 10), timestamp=0))
    await asyncio.to_thread(tap.put, item)
    await asyncio.sleep(0.05)
    assert seen == [loop_thread]


async def test_request_keyframe_sends_a_pli_for_the_media_ssrc() -> None:
    receiver = make_receiver("video")
    aiortc_tap.tap_receiver(receiver, lambda f: None)
    receiver._set_rtcp_ssrc(4321)
    transport = receiver.transport
    await receiver.receive(receive_parameters(VP8))
    assert await aiortc_tap.request_keyframe(receiver) is False, "no media seen yet"
    for packet in vp8_rtp_packets([vp8_frame(0, True)]):
        await receiver._handle_rtp_packet(packet, arrival_time_ms=0)
    assert aiortc_tap.media_ssrcs(receiver) == [MEDIA_SSRC]
    transport.sent.clear()
    assert await aiortc_tap.request_keyframe(receiver) is True
    plis = [
        p
        for data in transport.sent
        for p in RtcpPacket.parse(data)
        if isinstance(p, RtcpPsfbPacket) and p.fmt == RTCP_PSFB_PLI
    ]
    assert [(p.ssrc, p.media_ssrc) for p in plis] == [(4321, MEDIA_SSRC)], (
        f"aiortc {VERSION}: {aiortc_tap.SEND_PLI} did not send a PLI for the media SSRC"
    )
    await receiver.stop()


# --- the send side ---------------------------------------------------------------------


class PacketTrack(MediaStreamTrack):
    def __init__(self, kind: str, packet: av.Packet) -> None:
        super().__init__()
        self.kind = kind
        self.packet = packet

    async def recv(self) -> av.Packet:
        return self.packet


@pytest.mark.parametrize(
    ("codec", "kind", "pts"),
    [(VP8, "video", 123_456), (OPUS, "audio", 96_000)],
    ids=["vp8", "opus"],
)
async def test_sender_packs_av_packets_without_encoding(
    codec: RTCRtpCodecParameters, kind: str, pts: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    encoder_cls = type(get_encoder(codec))

    def no_encode(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the sender encoded instead of packing the av.Packet")

    monkeypatch.setattr(encoder_cls, "encode", no_encode)
    data = vp8_frame(0, True, 3000) if kind == "video" else bytes(range(120))
    packet = aiortc_tap.make_packet(data, pts, codec.clockRate)
    sender = RTCRtpSender(PacketTrack(kind, packet), FakeTransport())  # type: ignore[arg-type]
    next_encoded_frame = require_attr(sender, "_next_encoded_frame")
    encoded = await next_encoded_frame(codec)
    assert encoded is not None, f"aiortc {VERSION}: the sender dropped an av.Packet"
    assert encoded.timestamp == pts, (
        f"aiortc {VERSION}: pack() no longer takes the RTP timestamp from pts/time_base"
    )
    if kind == "video":
        payload = b""
        for chunk in encoded.payloads:
            _, body = VpxPayloadDescriptor.parse(chunk)
            payload += body
        assert payload == data, "VP8 pack() changed the frame bytes"
    else:
        assert encoded.payloads == [data], "Opus pack() changed the packet"


@pytest.mark.parametrize("fmt", [RTCP_PSFB_PLI, RTCP_PSFB_FIR], ids=["pli", "fir"])
async def test_keyframe_request_hook_on_a_sender(fmt: int) -> None:
    sender = RTCRtpSender("video", FakeTransport())  # type: ignore[arg-type]
    requests: list[str] = []
    aiortc_tap.on_keyframe_request(sender, requests.append)
    await sender._handle_rtcp_packet(RtcpPsfbPacket(fmt=fmt, ssrc=1, media_ssrc=sender._ssrc))
    assert requests == ["pli" if fmt == RTCP_PSFB_PLI else "fir"]
    assert getattr(sender, aiortc_tap.SENDER_FORCE_KEYFRAME) is True, (
        "the original _handle_rtcp_packet did not run after the hook"
    )


# --- SDP-level effects: codecs kept in the answer, msid stream id in the offer ---------


async def test_restrict_codecs_and_stream_id_reach_the_sdp() -> None:
    client = RTCPeerConnection(build_configuration())
    server = RTCPeerConnection(build_configuration())
    try:
        client.addTransceiver("video", direction="sendonly")
        await client.setLocalDescription(await client.createOffer())
        assert "H264" in client.localDescription.sdp
        await server.setRemoteDescription(client.localDescription)
        (transceiver,) = server.getTransceivers()
        kept = aiortc_tap.restrict_codecs(transceiver, "video/VP8")
        assert kept is not None and kept.mimeType == "video/VP8"
        answer = await server.createAnswer()
        assert "H264" not in answer.sdp and "VP8/90000" in answer.sdp, (
            f"aiortc {VERSION}: createAnswer no longer writes transceiver."
            f"{aiortc_tap.TRANSCEIVER_CODECS}"
        )
        assert "rtx/90000" in answer.sdp, "VP8's RTX was dropped"
        assert aiortc_tap.negotiated_codec(transceiver) == kept

        await server.setLocalDescription(answer)
        await client.setRemoteDescription(
            RTCSessionDescription(sdp=server.localDescription.sdp, type="answer")
        )
        sending = server.addTransceiver("audio", direction="sendonly")
        aiortc_tap.set_stream_id(sending.sender, "alice")
        assert aiortc_tap.stream_id(sending.sender) == "alice"
        offer = await server.createOffer()
        assert f"a=msid:alice {sending.sender._track_id}" in offer.sdp, (
            f"aiortc {VERSION}: the offer's msid does not use sender.{aiortc_tap.SENDER_STREAM_ID}"
        )
    finally:
        await client.close()
        await server.close()


async def test_track_event_fires_before_receive_starts() -> None:
    """The SFU taps receivers in the pc's "track" event; it must come before receive()."""
    client = RTCPeerConnection(build_configuration())
    server = RTCPeerConnection(build_configuration())
    seen: list[Any] = []

    @server.on("track")
    def on_track(track: Any) -> None:
        transceiver = next(t for t in server.getTransceivers() if t.receiver.track is track)
        seen.append(getattr(transceiver.receiver, aiortc_tap.DECODER_THREAD))

    try:
        client.addTransceiver("video", direction="sendonly")
        await client.setLocalDescription(await client.createOffer())
        await server.setRemoteDescription(client.localDescription)
        assert seen == [None], (
            f"aiortc {VERSION}: the track event fired after receive() (or not at all)"
        )
    finally:
        await client.close()
        await server.close()


async def test_rtp_routing_by_mid_for_unknown_ssrcs() -> None:
    pc = RTCPeerConnection(build_configuration())
    try:
        transport = pc.addTransceiver("video").receiver.transport
        router = require_attr(transport, aiortc_tap.DTLS_RTP_ROUTER)
        for name in ("route_rtp", "ssrc_table", "mid_table", "payload_type_table"):
            require_attr(router, name)
        camera, screen = object(), object()
        router.register_receiver(camera, ssrcs=[111], payload_types=[97], mid="0")

        def packet(ssrc: int, mid: str | None) -> RtpPacket:
            rtp = RtpPacket(payload_type=97, ssrc=ssrc)
            require_attr(rtp.extensions, "mid")
            rtp.extensions.mid = mid
            return rtp

        # aiortc alone: an unknown SSRC goes to the only receiver of its payload type
        assert router.route_rtp(packet(222, "1")) is camera
        router.ssrc_table.pop(222)

        aiortc_tap.route_by_mid(transport)
        aiortc_tap.route_by_mid(transport)  # idempotent
        assert router.route_rtp(packet(222, "1")) is None, "guessed a receiver for mid 1"
        assert 222 not in router.ssrc_table
        router.register_receiver(screen, ssrcs=[], payload_types=[97], mid="1")
        assert router.route_rtp(packet(222, "1")) is screen
        assert router.route_rtp(packet(222, None)) is screen, "the SSRC was not learned"
        assert router.route_rtp(packet(111, None)) is camera
        assert router.route_rtp(packet(111, "0")) is camera
    finally:
        await pc.close()
