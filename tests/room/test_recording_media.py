"""Recording end to end: aiortc participants in the real room (websocket consumer, media
server, recorder), then processing (eager Celery) into one composed file."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from channels.db import database_sync_to_async

from recordings import storage
from recordings.compose import probe
from recordings.journal import Journal, read_journal
from recordings.models import ConsentReceipt, Recording
from tests.media import use_loopback_ice, wait_until

from . import ajoin
from .test_media_through_signalling import Room

pytestmark = pytest.mark.django_db(transaction=True)

SMALL = {"size": (320, 240)}


@pytest.fixture(autouse=True)
def _loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    use_loopback_ice(monkeypatch)


@pytest.fixture
async def room():
    joined = Room()
    try:
        yield joined
    finally:
        await joined.close()


@pytest.fixture(autouse=True)
def _recording_allowed(meeting):
    meeting.recording_allowed = True
    meeting.save(update_fields=["recording_allowed"])


@pytest.fixture
def kept_journals(monkeypatch: pytest.MonkeyPatch) -> dict[str, Journal]:
    """The journal each processed recording had, read just before its tracks are removed."""
    journals: dict[str, Journal] = {}
    remove = storage.remove_tracks

    def read_then_remove(recording: Recording) -> None:
        journals[str(recording.public_id)] = read_journal(storage.tracks_directory(recording))
        remove(recording)

    monkeypatch.setattr("recordings.processing.storage.remove_tracks", read_then_remove)
    return journals


async def _flowing(*clients) -> None:
    for me in clients:
        for other in clients:
            if other is not me:
                await wait_until(
                    lambda me=me, other=other: me.frames_from(other.peer_id, "video") > 10,
                    timeout=10,
                    message=f"{me.peer_id} receiving {other.peer_id}",
                )


async def _consent(room: Room, index: int, recording_id: str, accepted: bool) -> None:
    socket = room.links[index].socket
    await socket.send(
        {"type": "recording_consent", "recording": recording_id, "accepted": accepted}
    )
    await socket.expect("recording_consent", timeout=5)


async def _ready(recording_id: str) -> Recording:
    recording = await database_sync_to_async(Recording.objects.get)(public_id=recording_id)
    assert recording.state == Recording.State.READY, recording.failure_reason
    return recording


async def test_two_participants_talk_for_five_seconds_into_one_playable_file(
    room,
    meeting,
    kept_journals,
):
    host = await ajoin(meeting, user=meeting.host)
    guest = await ajoin(meeting, name="Ada Guest", email="ada@example.com")
    alice = await room.enter(host, **SMALL)
    bob = await room.enter(guest, **SMALL)
    await _flowing(alice, bob)
    host_socket = room.links[0].socket

    await host_socket.send({"type": "recording", "action": "start"})
    started = (await host_socket.expect("recording_started"))["recording"]
    began = time.monotonic()
    await _consent(room, 1, started["id"], True)
    await asyncio.sleep(5 - (time.monotonic() - began))
    await host_socket.send({"type": "recording", "action": "stop"})
    await host_socket.expect("recording_stopped", timeout=60)

    recording = await _ready(started["id"])
    info = probe(storage.composed_path(recording))
    assert info.has_audio and info.has_video
    assert info.duration == pytest.approx(5.0, abs=0.5)
    assert recording.duration_seconds == pytest.approx(info.duration)
    assert recording.size_bytes == Path(storage.composed_path(recording)).stat().st_size
    assert storage.thumbnail_path(recording).exists()
    assert not storage.tracks_directory(recording).exists()  # originals go once verified
    journal = kept_journals[started["id"]]
    assert sorted((t.peer_id, t.kind) for t in journal.tracks) == sorted(
        (peer, kind) for peer in (host.id, guest.id) for kind in ("audio", "video")
    )
    for track in journal.tracks:  # each file ran from its first frame to the stop
        assert track.frames > 0
        assert track.ended_at == pytest.approx(journal.stopped_at, abs=0.05)


async def test_a_decliner_is_never_written_and_a_late_joiner_from_their_join(
    room,
    meeting,
    kept_journals,
):
    host = await ajoin(meeting, user=meeting.host)
    guest = await ajoin(meeting, name="Ada Guest", email="ada@example.com")
    late = await ajoin(meeting, name="Carol Late", email="carol@example.com")
    alice = await room.enter(host, **SMALL)
    bob = await room.enter(guest, **SMALL)
    await _flowing(alice, bob)
    host_socket = room.links[0].socket

    await host_socket.send({"type": "recording", "action": "start"})
    started = (await host_socket.expect("recording_started"))["recording"]
    await _consent(room, 1, started["id"], False)
    await asyncio.sleep(2.0)
    carol = await room.enter(late, **SMALL)
    await _consent(room, 2, started["id"], True)
    await _flowing(alice, carol)
    await asyncio.sleep(1.5)
    await host_socket.send({"type": "recording", "action": "stop"})
    await host_socket.expect("recording_stopped", timeout=60)

    recording = await _ready(started["id"])
    journal = kept_journals[started["id"]]
    assert journal.started_at is not None
    peers = {t.peer_id for t in journal.tracks}
    assert peers == {host.id, late.id}  # Bob declined: nothing of his was written
    carol_starts = [
        t.started_at - journal.started_at for t in journal.tracks if t.peer_id == late.id
    ]
    assert carol_starts and min(carol_starts) >= 2.0
    info = probe(storage.composed_path(recording))
    assert info.has_audio and info.has_video
    assert info.duration == pytest.approx(journal.stopped_at - journal.started_at, abs=0.5)
    decisions = await database_sync_to_async(list)(
        ConsentReceipt.objects.filter(recording=recording).values_list("display_name", "decision")
    )
    assert sorted(decisions) == [
        ("Ada Guest", "declined"),
        ("Carol Late", "accepted"),
        ("Hana Host", "accepted"),
    ]
