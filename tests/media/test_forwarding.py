"""ForwardedTrack and TrackForwarder on their own: queues, keyframes, fan-out, ending."""

from __future__ import annotations

import asyncio

import av
import pytest
from aiortc.mediastreams import MediaStreamError

from meetings.media import forwarding
from meetings.media.aiortc_tap import EncodedFrame, make_packet
from meetings.media.forwarding import ForwardedTrack, TrackForwarder, is_vp8_keyframe


def video_frame(n: int, keyframe: bool) -> EncodedFrame:
    if keyframe:  # frame tag with the key frame bit clear, then the start code
        data = b"\x10\x02\x00\x9d\x01\x2a\x80\x02\xe0\x01" + bytes([n & 0xFF]) * 100
    else:
        data = b"\x11\x02\x00" + bytes([n & 0xFF]) * 100
    return EncodedFrame(
        packet=make_packet(data, n * 3000, 90000),
        data=data,
        kind="video",
        mime_type="video/VP8",
        timestamp=n * 3000,
        clock_rate=90000,
    )


def audio_frame(n: int) -> EncodedFrame:
    data = bytes([0x78, n & 0xFF])
    return EncodedFrame(
        packet=make_packet(data, n * 960, 48000),
        data=data,
        kind="audio",
        mime_type="audio/opus",
        timestamp=n * 960,
        clock_rate=48000,
    )


class Requests:
    def __init__(self) -> None:
        self.count = 0

    async def __call__(self) -> bool:
        self.count += 1
        return True


def test_vp8_keyframe_bit() -> None:
    # 640x480 key frame header: tag (P bit 0), start code, width and height
    assert is_vp8_keyframe(b"\x10\x02\x00\x9d\x01\x2a\x80\x02\xe0\x01\x00")
    assert not is_vp8_keyframe(b"\x11\x02\x00\x9d\x01\x2a\x80\x02\xe0\x01")  # P bit 1
    # the tail of a frame whose first packet was lost: bit 0 clear, no start code
    assert not is_vp8_keyframe(b"\x84\x45\x28\x00\x11\x22\x33\x44\x55\x66")
    assert not is_vp8_keyframe(b"")


async def test_a_keyframe_request_that_could_not_be_sent_is_retried_with_the_next_frame() -> None:
    calls: list[int] = []

    async def nothing_received_yet() -> bool:
        calls.append(1)
        return len(calls) > 1

    forwarder = TrackForwarder(
        "video", mime_type="video/VP8", request_keyframe=nothing_received_yet
    )
    forwarder.subscribe()
    await asyncio.sleep(0.01)
    assert len(calls) == 1
    forwarder.push(video_frame(1, keyframe=False))  # first media: now the SSRC is known
    await asyncio.sleep(0.01)
    assert len(calls) == 2


async def test_new_video_subscriber_waits_for_a_keyframe_and_asks_for_one() -> None:
    requests = Requests()
    forwarder = TrackForwarder("video", mime_type="video/VP8", request_keyframe=requests)
    track = forwarder.subscribe()
    await asyncio.sleep(0)
    assert requests.count == 1, "subscribing did not ask the publisher for a keyframe"
    for n in range(3):
        forwarder.push(video_frame(n, keyframe=False))
    assert track.frames_skipped == 3 and track._queue.empty()
    forwarder.push(video_frame(3, keyframe=True))
    forwarder.push(video_frame(4, keyframe=False))
    first = await asyncio.wait_for(track.recv(), 1)
    second = await asyncio.wait_for(track.recv(), 1)
    assert isinstance(first, av.Packet)
    assert (first.pts, second.pts) == (9000, 12000)
    assert track.frames_sent == 2


async def test_one_packet_object_is_shared_by_all_subscribers() -> None:
    forwarder = TrackForwarder("video", mime_type="video/VP8", request_keyframe=Requests())
    tracks = [forwarder.subscribe() for _ in range(4)]
    frame = video_frame(0, keyframe=True)
    forwarder.push(frame)
    received = [await asyncio.wait_for(t.recv(), 1) for t in tracks]
    assert all(p is frame.packet for p in received)
    assert forwarder.frames_forwarded() == 4


async def test_video_overflow_drops_the_queue_and_waits_for_the_next_keyframe() -> None:
    requests = Requests()
    forwarder = TrackForwarder("video", mime_type="video/VP8", request_keyframe=requests)
    track = forwarder.subscribe()
    track.started = True  # as if the sender had already called recv()
    forwarder.push(video_frame(0, keyframe=True))
    for n in range(1, forwarding.VIDEO_QUEUE_FRAMES):
        forwarder.push(video_frame(n, keyframe=False))
    assert track._queue.full()
    await asyncio.sleep(forwarding.KEYFRAME_MIN_INTERVAL + 0.05)
    before = requests.count
    forwarder.push(video_frame(100, keyframe=False))  # overflow
    assert track._queue.empty() and track.waiting_for_keyframe
    assert track.frames_dropped == forwarding.VIDEO_QUEUE_FRAMES
    await asyncio.sleep(0)
    assert requests.count == before + 1, "a dropped video frame did not ask for a keyframe"
    forwarder.push(video_frame(101, keyframe=False))
    forwarder.push(video_frame(102, keyframe=True))
    packet = await asyncio.wait_for(track.recv(), 1)
    assert packet.pts == 102 * 3000


async def test_audio_overflow_drops_the_oldest() -> None:
    forwarder = TrackForwarder("audio", mime_type="audio/opus")
    track = forwarder.subscribe()
    total = forwarding.AUDIO_QUEUE_FRAMES + 3
    for n in range(total):
        forwarder.push(audio_frame(n))
    assert track.frames_dropped == 3
    first = await asyncio.wait_for(track.recv(), 1)
    assert first.pts == 3 * 960


async def test_stale_backlog_is_dropped_when_the_sender_starts() -> None:
    requests = Requests()
    forwarder = TrackForwarder("video", mime_type="video/VP8", request_keyframe=requests)
    track = forwarder.subscribe()
    forwarder.push(video_frame(0, keyframe=True))
    for n in range(1, forwarding.START_BACKLOG_FRAMES + 3):
        forwarder.push(video_frame(n, keyframe=False))
    await asyncio.sleep(forwarding.KEYFRAME_MIN_INTERVAL + 0.05)
    receiving = asyncio.ensure_future(track.recv())
    await asyncio.sleep(0.01)
    assert not receiving.done() and track.waiting_for_keyframe
    assert requests.count == 2, "starting on a stale backlog did not ask for a fresh keyframe"
    forwarder.push(video_frame(50, keyframe=True))
    assert (await asyncio.wait_for(receiving, 1)).pts == 50 * 3000


async def test_keyframe_requests_are_coalesced_and_retried() -> None:
    requests = Requests()
    forwarder = TrackForwarder("video", mime_type="video/VP8", request_keyframe=requests)
    for _ in range(10):
        forwarder.ask_keyframe("pli")
    await asyncio.sleep(0)
    assert requests.count == 1
    await asyncio.sleep(forwarding.KEYFRAME_MIN_INTERVAL + 0.1)
    assert requests.count == 2, "a request asked during the quiet interval was lost"
    forwarder.push(video_frame(0, keyframe=True))  # satisfied: nothing more is sent
    forwarder.ask_keyframe("pli")
    await asyncio.sleep(forwarding.KEYFRAME_MIN_INTERVAL + 0.1)
    assert requests.count == 3
    forwarder.push(video_frame(1, keyframe=True))
    await asyncio.sleep(forwarding.KEYFRAME_MIN_INTERVAL + 0.1)
    assert requests.count == 3


async def test_keyframe_request_is_repeated_while_still_waiting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(forwarding, "KEYFRAME_RETRY", 0.05)
    requests = Requests()
    forwarder = TrackForwarder("video", mime_type="video/VP8", request_keyframe=requests)
    forwarder.subscribe()
    await asyncio.sleep(forwarding.KEYFRAME_MIN_INTERVAL + 0.05)
    forwarder.push(video_frame(1, keyframe=False))  # the PLI was lost: still no keyframe
    await asyncio.sleep(0)
    assert requests.count == 2


async def test_ending_wakes_a_pending_recv_and_detaches() -> None:
    forwarder = TrackForwarder("video", mime_type="video/VP8", request_keyframe=Requests())
    track = forwarder.subscribe()
    pending = asyncio.ensure_future(track.recv())
    await asyncio.sleep(0)
    forwarder.close()
    with pytest.raises(MediaStreamError):
        await asyncio.wait_for(pending, 1)
    assert track.readyState == "ended"
    assert forwarder.subscribers == ()
    with pytest.raises(MediaStreamError):
        await track.recv()
    with pytest.raises(RuntimeError):
        forwarder.subscribe()


async def test_a_subscriber_can_leave_alone() -> None:
    forwarder = TrackForwarder("audio", mime_type="audio/opus")
    staying, leaving = forwarder.subscribe(), forwarder.subscribe()
    leaving.stop()
    forwarder.push(audio_frame(0))
    assert forwarder.subscribers == (staying,)
    assert (await asyncio.wait_for(staying.recv(), 1)).pts == 0


def test_track_kind_is_checked() -> None:
    with pytest.raises(ValueError):
        ForwardedTrack("data")


async def test_a_paused_subscriber_gets_nothing_and_resumes_at_a_keyframe() -> None:
    requests = Requests()
    forwarder = TrackForwarder("video", mime_type="video/VP8", request_keyframe=requests)
    paused, other = forwarder.subscribe(), forwarder.subscribe()
    paused.started = other.started = True  # as if both senders had called recv()
    forwarder.push(video_frame(0, keyframe=True))
    paused.pause()
    forwarder.push(video_frame(1, keyframe=False))
    assert paused._queue.empty(), "a paused subscriber kept what was queued"
    assert other._queue.qsize() == 2
    await asyncio.sleep(forwarding.KEYFRAME_MIN_INTERVAL + 0.05)
    before = requests.count

    paused.resume()
    forwarder.push(video_frame(2, keyframe=False))  # undecodable after the gap
    forwarder.push(video_frame(3, keyframe=True))

    await asyncio.sleep(0)
    assert requests.count == before + 1, "resuming did not ask the publisher for a keyframe"
    assert (await asyncio.wait_for(paused.recv(), 1)).pts == 3 * 3000


async def test_resync_restarts_every_video_subscriber_at_a_keyframe() -> None:
    requests = Requests()
    forwarder = TrackForwarder("video", mime_type="video/VP8", request_keyframe=requests)
    tracks = [forwarder.subscribe() for _ in range(2)]
    forwarder.push(video_frame(0, keyframe=True))
    await asyncio.sleep(forwarding.KEYFRAME_MIN_INTERVAL + 0.05)
    before = requests.count

    forwarder.resync("resume")
    forwarder.push(video_frame(1, keyframe=False))
    forwarder.push(video_frame(2, keyframe=True))

    await asyncio.sleep(0)
    assert requests.count == before + 1
    for track in tracks:
        assert (await asyncio.wait_for(track.recv(), 1)).pts == 0
        assert (await asyncio.wait_for(track.recv(), 1)).pts == 2 * 3000
