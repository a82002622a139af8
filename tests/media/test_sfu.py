"""MediaRoom with real aiortc clients in-process, signalling through a direct in-memory loop.

Each client publishes a 640x480 30 fps VP8 video track and an Opus audio track and decodes
what it receives (that is how it counts frames). The server side never decodes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from typing import Any

import pytest
from aiortc.codecs.opus import OpusDecoder
from aiortc.codecs.vpx import Vp8Decoder

from meetings.media import aiortc_tap
from meetings.media.sfu import MediaRoom, SignalError

from . import SyntheticVideoTrack, join, use_loopback_ice, wait_until


@pytest.fixture(autouse=True)
def _loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    use_loopback_ice(monkeypatch)


@pytest.fixture
def problems(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """Warnings and errors logged by aiortc or the media package during the test."""
    caplog.set_level(logging.WARNING)
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.name.startswith(("aiortc", "meetings.media")):
                records.append(record)

    handler = Collect(level=logging.WARNING)
    logging.getLogger().addHandler(handler)
    yield records
    logging.getLogger().removeHandler(handler)


def describe(records: list[logging.LogRecord]) -> str:
    return "\n".join(f"{r.name}: {r.getMessage()}" for r in records)


async def test_two_clients_receive_each_others_video_and_audio(
    room: MediaRoom, problems: list[logging.LogRecord]
) -> None:
    alice, bob = await join(room, "alice", "bob")
    for me, other in ((alice, bob), (bob, alice)):
        await wait_until(
            lambda me=me, other=other: (
                me.frames_from(other.peer_id, "video") > 45
                and me.frames_from(other.peer_id, "audio") > 75
            ),
            timeout=8,
            message=f"{me.peer_id} decoding {other.peer_id}'s video and audio",
        )
    for me, other in ((alice, bob), (bob, alice)):
        # the tracks message maps mids to the publisher; msid track ids agree with it
        assert sorted((t["peer_id"], t["kind"], t["source"]) for t in me.tracks) == [
            (other.peer_id, "audio", "mic"),
            (other.peer_id, "video", "camera"),
        ]
        mapping = me.mapping()
        for counter in me.remote:
            assert counter.track.id == mapping[counter.mid]["track_id"]
            assert mapping[counter.mid]["stream_id"] == other.peer_id
            assert counter.error is None
        assert me.errors == []
    stats = room.stats()
    assert (stats["peers"], stats["publications"], stats["subscriptions"]) == (2, 4, 4)
    assert stats["frames_forwarded"] > 240 and stats["decoders_running"] == 0
    assert json.loads(json.dumps(stats))["by_peer"]["alice"]["connection_state"] == "connected"
    assert problems == [], describe(problems)


async def test_late_joiner_gets_a_keyframe_within_a_second(
    room: MediaRoom, problems: list[logging.LogRecord]
) -> None:
    alice, bob = await join(room, "alice", "bob")
    await wait_until(
        lambda: alice.frames_from("bob", "video") > 30 and bob.frames_from("alice", "video") > 30,
        timeout=8,
        message="the first two exchanging video",
    )
    # Long after the publishers' first keyframes: only a relayed request brings a new one.
    (carol,) = await join(room, "carol")
    for publisher in ("alice", "bob"):
        await wait_until(
            lambda publisher=publisher: carol.frames_from(publisher, "video") > 0,
            timeout=5,
            message=f"carol decoding {publisher}'s video",
        )
        assert carol.connected_at is not None
        first = min(c.first_frame_at for c in carol.counters_from(publisher, "video"))
        delay = first - carol.connected_at
        print(f"carol: first frame of {publisher} {delay:.3f}s after connecting")
        assert delay < 1.0, f"carol's first frame of {publisher} came {delay:.2f}s after connecting"
    for me in (alice, bob):
        await wait_until(
            lambda me=me: (
                me.frames_from("carol", "video") > 15 and me.frames_from("carol", "audio") > 25
            ),
            timeout=6,
            message=f"{me.peer_id} receiving carol's tracks after renegotiation",
        )
        assert me.offers_received >= 1
    stats = room.stats()
    assert (stats["peers"], stats["publications"], stats["subscriptions"]) == (3, 6, 12)
    assert problems == [], describe(problems)


async def test_leaving_ends_the_others_forwarded_tracks(
    room: MediaRoom, problems: list[logging.LogRecord]
) -> None:
    alice, bob, carol = await join(room, "alice", "bob", "carol")
    await wait_until(
        lambda: all(
            me.frames_from(o, "video") > 5
            for me in (alice, bob, carol)
            for o in ("alice", "bob", "carol")
            if o != me.peer_id
        ),
        timeout=8,
        message="everyone receiving everyone",
    )
    from_bob = [
        counter
        for me in (alice, carol)
        for kind in ("audio", "video")
        for counter in me.counters_from("bob", kind)
    ]
    assert len(from_bob) == 4

    await bob.leave()
    await wait_until(
        lambda: all(c.ended for c in from_bob),
        timeout=4,
        message="the forwarded tracks of bob ending at alice and carol (RTCP BYE)",
    )
    assert all(c.error is None for c in from_bob)
    for me in (alice, carol):
        await wait_until(
            lambda me=me: me.tracks and all(t["peer_id"] != "bob" for t in me.tracks),
            timeout=4,
            message=f"{me.peer_id}'s track list dropping bob",
        )
        # m-lines are kept, inactive
        for counter in me.remote:
            if counter in from_bob:
                await wait_until(
                    lambda counter=counter: counter.transceiver.currentDirection == "inactive",
                    timeout=4,
                    message="bob's m-line going inactive",
                )
    before = alice.frames_from("carol", "video"), carol.frames_from("alice", "video")
    await wait_until(
        lambda: (
            alice.frames_from("carol", "video") > before[0] + 10
            and carol.frames_from("alice", "video") > before[1] + 10
        ),
        timeout=4,
        message="alice and carol still exchanging video",
    )
    stats = room.stats()
    assert (stats["peers"], stats["publications"], stats["subscriptions"]) == (2, 4, 4)
    assert stats["frames_forwarded_total"] > stats["frames_forwarded"]  # bob's count too
    assert alice.errors == [] and carol.errors == []
    assert problems == [], describe(problems)


async def test_the_server_never_decodes(
    room: MediaRoom, monkeypatch: pytest.MonkeyPatch, problems: list[logging.LogRecord]
) -> None:
    decoding_threads: list[threading.Thread] = []
    for decoder in (Vp8Decoder, OpusDecoder):
        original = decoder.decode

        def counting(self: Any, encoded_frame: Any, original: Any = original) -> Any:
            decoding_threads.append(threading.current_thread())
            return original(self, encoded_frame)

        monkeypatch.setattr(decoder, "decode", counting)

    alice, bob = await join(room, "alice", "bob")
    await wait_until(
        lambda: alice.frames_from("bob", "video") > 30 and bob.frames_from("alice", "video") > 30,
        timeout=8,
        message="video flowing both ways",
    )
    server_receivers = [
        inbound for peer in room.peers.values() for inbound in peer.inbound.values()
    ]
    assert len(server_receivers) == 4
    server_threads = set()
    for inbound in server_receivers:
        tap = inbound.tap
        assert tap is not None and tap.frames > 0
        receiver = inbound.transceiver.receiver
        assert tap.decoder_thread is not None, "the server decoder thread never started"
        assert tap.decoder_gets == 1, "the server decoder thread asked for work more than once"
        assert not tap.decoder_thread.is_alive()
        assert not aiortc_tap.decoder_running(receiver)
        server_threads.add(tap.decoder_thread)
    # the clients decode (so the wrapper works), the server's decoder threads never did
    assert len(decoding_threads) > 100
    assert not server_threads & set(decoding_threads), "a server-side receiver decoded"
    assert room.stats()["decoders_running"] == 0
    assert problems == [], describe(problems)


async def test_pli_from_a_subscriber_reaches_the_publisher(
    room: MediaRoom, problems: list[logging.LogRecord]
) -> None:
    alice, bob = await join(room, "alice", "bob")
    await wait_until(
        lambda: bob.frames_from("alice", "video") > 30,
        timeout=8,
        message="bob decoding alice's video",
    )
    seen_by_alice: list[str] = []
    aiortc_tap.on_keyframe_request(alice.sender("video"), seen_by_alice.append)
    subscription = room.peers["bob"].subscriptions[
        (
            "alice",
            room.peers["alice"]
            .publications[
                next(m for m, p in room.peers["alice"].publications.items() if p.kind == "video")
            ]
            .mid,
        )
    ]
    await asyncio.sleep(0.5)  # let the subscribe-time requests settle
    seen_by_alice.clear()
    before = subscription.keyframe_requests

    receiver = bob.receiver_for("alice", "video")

    async def ask() -> bool:
        assert await aiortc_tap.request_keyframe(receiver)
        await asyncio.sleep(0.3)
        return bool(seen_by_alice)

    for _ in range(5):  # RTCP over loopback is not lost, but do not depend on it
        if await ask():
            break
    assert seen_by_alice and set(seen_by_alice) == {"pli"}, "alice's sender got no PLI"
    assert subscription.keyframe_requests > before, "the server did not see bob's PLI"
    assert problems == [], describe(problems)


async def test_glare_server_offer_wins_then_the_client_publishes_a_screen(
    room: MediaRoom, problems: list[logging.LogRecord]
) -> None:
    (alice,) = await join(room, "alice")
    await wait_until(
        lambda: room.stats()["publications"] == 2, timeout=5, message="alice publishing"
    )
    alice.hold_offers = True
    (bob,) = await join(room, "bob")
    await wait_until(lambda: alice.held, timeout=5, message="the server's offer to alice")
    server_alice = room.peers["alice"]
    assert server_alice.pc.signalingState == "have-local-offer"

    # alice offers at the same time (a screen share): the impolite server ignores it
    screen = SyntheticVideoTrack()
    screen_transceiver = alice.pc.addTransceiver(screen, direction="sendonly")
    crossing = await alice.pc.createOffer()
    await room.handle_signal(
        "alice", {"type": "sdp", "description": {"type": "offer", "sdp": crossing.sdp}}
    )
    assert server_alice.glare_ignored == 1
    assert server_alice.pc.signalingState == "have-local-offer"
    await asyncio.sleep(0.1)
    sdp_types = [m["description"]["type"] for m in alice.messages if m["type"] == "sdp"]
    assert sdp_types == ["answer", "offer"], "the server answered an offer during its own"

    # the polite client "rolls back" (it never applied its offer) and answers the server's
    alice.hold_offers = False
    await alice.accept_offer(alice.held.pop()["description"])
    # aiortc (unlike a browser) put alice's pending screen transceiver on the server's new
    # video m-line and answered "sendonly" there: the server takes the screen as published
    # on it and offers bob's video again on a fresh m-line.
    await wait_until(
        lambda: (
            alice.offers_received >= 2
            and server_alice.pc.signalingState == "stable"
            and alice.pc.signalingState == "stable"
        ),
        timeout=3,
        message="glare resolved and the follow-up offer answered",
    )
    # then alice offers again (polite: nothing of the server's is pending), naming its source
    await alice.pc.setLocalDescription(await alice.pc.createOffer())
    await room.handle_signal(
        "alice",
        {
            "type": "sdp",
            "description": {"type": "offer", "sdp": alice.pc.localDescription.sdp},
            "sources": {screen_transceiver.mid: "screen"},
        },
    )
    await wait_until(
        lambda: alice.pc.signalingState == "stable" and alice.pc.remoteDescription is not None,
        timeout=3,
        message="alice's offer answered",
    )
    await wait_until(
        lambda: any(t["source"] == "screen" and t["peer_id"] == "alice" for t in bob.tracks),
        timeout=5,
        message="bob told about alice's screen",
    )
    screen_mid = next(t["mid"] for t in bob.tracks if t["source"] == "screen")
    await wait_until(
        lambda: sum(c.frames for c in bob.remote if c.mid == screen_mid) > 10,
        timeout=5,
        message="bob decoding alice's screen",
    )
    assert bob.frames_from("alice", "video") > 10  # camera and screen
    await wait_until(
        lambda: alice.frames_from("bob", "video") > 10 and alice.frames_from("bob", "audio") > 10,
        timeout=5,
        message="alice receiving bob's tracks after the glare",
    )

    # stopping the share: the client's m-line goes inactive, the subscription ends
    screen_transceiver.direction = "inactive"
    await alice.pc.setLocalDescription(await alice.pc.createOffer())
    await room.handle_signal(
        "alice",
        {"type": "sdp", "description": {"type": "offer", "sdp": alice.pc.localDescription.sdp}},
    )
    await wait_until(
        lambda: all(t["source"] != "screen" for t in bob.tracks),
        timeout=5,
        message="the screen leaving bob's track list",
    )
    screen_counter = next(c for c in bob.remote if c.mid == screen_mid)
    await wait_until(lambda: screen_counter.ended, timeout=4, message="the screen track ending")
    assert alice.errors == [] and bob.errors == []
    assert problems == [], describe(problems)


async def test_a_paused_subscription_or_publication_stops_its_frames_until_resumed(
    room: MediaRoom, problems: list[logging.LogRecord]
) -> None:
    _alice, bob, carol = await join(room, "alice", "bob", "carol")

    async def decoded_again(*clients: Any) -> None:
        marks = [c.frames_from("alice", "video") for c in clients]
        await wait_until(
            lambda: all(
                c.frames_from("alice", "video") > mark + 15
                for c, mark in zip(clients, marks, strict=True)
            ),
            timeout=8,
            message="alice's video decoded again",
        )

    async def sent(subscription: Any, *, during: float = 0.5) -> int:
        """Frames the server sent on ``subscription`` within ``during`` seconds."""
        before = subscription.track.frames_sent
        await asyncio.sleep(during)
        return subscription.track.frames_sent - before

    await decoded_again(bob, carol)
    publication = next(p for p in room.peers["alice"].publications.values() if p.kind == "video")
    to_bob = room.peers["bob"].subscriptions[publication.key]
    to_carol = room.peers["carol"].subscriptions[publication.key]

    to_bob.pause()
    to_bob_sent, to_carol_sent = await asyncio.gather(sent(to_bob), sent(to_carol))
    assert to_bob_sent == 0 and to_carol_sent > 0, "not just bob's subscription paused"
    to_bob.resume()
    await decoded_again(bob)

    bobs = room.peers["bob"].subscriptions.values()
    audio = next(s for s in bobs if s.publication.kind == "audio")
    publication.pause()
    assert await asyncio.gather(sent(to_bob), sent(to_carol)) == [0, 0]
    assert await sent(audio) > 0, "pausing the video paused the audio"
    publication.resume()
    await decoded_again(bob, carol)
    assert problems == [], describe(problems)


async def test_malformed_messages_are_refused(room: MediaRoom) -> None:
    with pytest.raises(ValueError):
        await room.add_peer("has space", lambda m: asyncio.sleep(0))
    with pytest.raises(ValueError):
        await room.add_peer("x" * 65, lambda m: asyncio.sleep(0))

    async def on_signal(message: dict[str, Any]) -> None:
        pass

    await room.add_peer("alice", on_signal)
    with pytest.raises(ValueError):
        await room.add_peer("alice", on_signal)
    bad = [
        {"type": "chat"},
        {"type": "sdp"},
        {"type": "sdp", "description": {"type": "pranswer", "sdp": "v=0"}},
        {"type": "sdp", "description": {"type": "offer", "sdp": ""}},
        {"type": "sdp", "description": {"type": "offer", "sdp": "v=0\r\n"}, "sources": ["x"]},
        {
            "type": "sdp",
            "description": {"type": "offer", "sdp": "v=0\r\n"},
            "sources": {"0": "webcam"},
        },
        {"type": "candidate", "candidate": "nope"},
        {"type": "candidate", "candidate": {"candidate": "candidate:garbage"}},
        "not a dict",
    ]
    for message in bad:
        with pytest.raises(SignalError):
            await room.handle_signal("alice", message)  # type: ignore[arg-type]
    with pytest.raises(SignalError):
        await room.handle_signal("nobody", {"type": "sdp"})
    # an answer with no offer of ours pending is ignored, not an error
    await room.handle_signal(
        "alice", {"type": "sdp", "description": {"type": "answer", "sdp": "v=0\r\n"}}
    )
    assert room.stats()["peers"] == 1
    await room.remove_peer("alice")
    await room.remove_peer("alice")  # idempotent
    assert room.stats()["peers"] == 0


async def test_trickled_candidates_are_accepted(room: MediaRoom) -> None:
    (alice,) = await join(room, "alice")
    await wait_until(
        lambda: alice.pc.connectionState == "connected", timeout=5, message="alice connected"
    )
    candidate = next(
        line[2:]
        for line in alice.pc.localDescription.sdp.splitlines()
        if line.startswith("a=candidate:")
    )
    await room.handle_signal(
        "alice", {"type": "candidate", "candidate": {"candidate": candidate, "sdpMid": "0"}}
    )
    await room.handle_signal("alice", {"type": "candidate", "candidate": None})
    await wait_until(
        lambda: room.peers["alice"].pc.connectionState == "connected",
        timeout=5,
        message="the server side connected",
    )
