"""Recording in the media room: consented participants' tracks remuxed into WebM files."""

from __future__ import annotations

import asyncio
from pathlib import Path

import av
import pytest

from meetings.media.aiortc_tap import EncodedFrame, make_packet
from meetings.media.recorder import RoomRecorder, vp8_dimensions
from meetings.media.sfu import MediaRoom
from recordings.journal import read_journal

from . import Client, join, use_loopback_ice, wait_until


@pytest.fixture(autouse=True)
def _loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    use_loopback_ice(monkeypatch)


async def flowing(room: MediaRoom, *clients: Client) -> None:
    for me in clients:
        for other in clients:
            if other is not me:
                await wait_until(
                    lambda me=me, other=other: me.frames_from(other.peer_id, "video") > 10,
                    timeout=8,
                    message=f"{me.peer_id} receiving {other.peer_id}",
                )


def probe(path: Path) -> tuple[str, float, int]:
    with av.open(str(path)) as container:
        stream = container.streams[0]
        frames = sum(1 for _ in container.decode(stream))
        duration = container.duration / 1e6 if container.duration else 0.0
        return stream.codec_context.name, duration, frames


async def test_consented_tracks_are_written_with_their_timing_and_others_never(
    room: MediaRoom, tmp_path: Path
) -> None:
    alice, bob = await join(room, "alice", "bob")
    await flowing(room, alice, bob)
    assert room.start_recording("rec-1", tmp_path, consented=["alice"])
    assert room.recording == "rec-1"
    assert not room.start_recording("rec-2", tmp_path / "other")  # one at a time
    await asyncio.sleep(2.0)
    summary = await room.stop_recording("rec-1")
    assert summary is not None and room.recording is None
    journal = read_journal(tmp_path)
    assert journal.complete and journal.recording == "rec-1"
    assert sorted((t.peer_id, t.kind, t.codec) for t in journal.tracks) == [
        ("alice", "audio", "opus"),
        ("alice", "video", "vp8"),
    ]
    for track in journal.tracks:
        assert track.ended_at is not None and track.frames > 0
        codec, duration, decoded = probe(tmp_path / track.file)
        assert codec == track.codec
        # from its first frame (the video's first keyframe) to the stop
        assert abs(duration - (track.ended_at - track.started_at)) < 0.3
        assert decoded >= (40 if track.kind == "video" else 70)
    assert not any("bob" in p.name for p in tmp_path.iterdir())


async def test_consent_given_later_starts_a_file_and_declining_ends_it(
    room: MediaRoom, tmp_path: Path
) -> None:
    alice, bob = await join(room, "alice", "bob")
    await flowing(room, alice, bob)
    room.start_recording("rec-1", tmp_path, consented=["alice"])
    await asyncio.sleep(0.6)
    assert room.set_recording_consent("rec-1", "bob", True)
    await asyncio.sleep(0.8)
    assert room.set_recording_consent("rec-1", "alice", False)
    await asyncio.sleep(0.6)
    assert not room.set_recording_consent("other", "alice", True)
    await room.stop_recording()
    journal = read_journal(tmp_path)
    by_peer = {(t.peer_id, t.kind): t for t in journal.tracks}
    assert set(by_peer) == {
        ("alice", "audio"),
        ("alice", "video"),
        ("bob", "audio"),
        ("bob", "video"),
    }
    assert by_peer[("bob", "video")].started_at - journal.started_at == pytest.approx(0.6, abs=0.35)
    alice_video = by_peer[("alice", "video")]
    assert alice_video.ended_at is not None
    assert alice_video.ended_at - journal.started_at == pytest.approx(1.4, abs=0.35)


async def test_leaving_ends_the_track_and_closing_the_room_stops_the_recording(
    room: MediaRoom, tmp_path: Path
) -> None:
    alice, bob = await join(room, "alice", "bob")
    await flowing(room, alice, bob)
    room.start_recording("rec-1", tmp_path, consented=["alice", "bob"])
    await asyncio.sleep(0.8)
    await room.remove_peer("bob")
    await room.close()
    journal = read_journal(tmp_path)
    assert journal.complete and journal.stop_reason == "room_closed"
    assert all(t.ended_at is not None for t in journal.tracks)
    bob_ends = [t.ended_at for t in journal.tracks if t.peer_id == "bob"]
    assert bob_ends and max(bob_ends) < journal.stopped_at  # type: ignore[operator]


def test_vp8_dimensions_come_from_the_keyframe_header() -> None:
    header = bytes([0x10, 0x02, 0x00, 0x9D, 0x01, 0x2A]) + (640).to_bytes(2, "little")
    header += (480 | 0x4000).to_bytes(2, "little")  # the top bits are the scale
    assert vp8_dimensions(header) == (640, 480)


def vp8_frame(n: int, *, keyframe: bool) -> EncodedFrame:
    header = b"\x10\x02\x00\x9d\x01\x2a\x80\x02\xe0\x01" if keyframe else b"\x11\x02\x00"
    data = header + bytes([n]) * 100
    timestamp = n * 3000
    return EncodedFrame(
        packet=make_packet(data, timestamp, 90000),
        data=data,
        kind="video",
        mime_type="video/VP8",
        timestamp=timestamp,
        clock_rate=90000,
    )


def test_after_a_gap_a_video_file_goes_on_from_the_next_keyframe(tmp_path: Path) -> None:
    recorder = RoomRecorder("rec-1", tmp_path, consented={"alice"})
    key = ("alice", "1")
    assert recorder.add(key, peer_id="alice", kind="video", source="camera", mime_type="video/VP8")
    recorder.push(key, vp8_frame(0, keyframe=True))
    recorder.push(key, vp8_frame(1, keyframe=False))

    recorder.resync(key)  # the publication was paused: frames 2-9 never came
    recorder.push(key, vp8_frame(10, keyframe=False))
    recorder.push(key, vp8_frame(11, keyframe=True))
    recorder.close()

    assert (recorder.stats.frames_queued, recorder.stats.frames_skipped) == (3, 1)
    (track,) = read_journal(tmp_path).tracks
    assert track.frames == 3
