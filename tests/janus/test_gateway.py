"""JanusMediaGateway against a real Janus, with aiortc standing in for the browsers.

Each client speaks only our room protocol's media messages, through the gateway, over
the in-memory channel layer: a "publish" connection it offers, a "subscribe" connection
Janus offers. Frames counted per sender show that media really flows through Janus.
"""

import asyncio
import secrets
import time
from collections import Counter

import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError, VideoStreamTrack
from channels.layers import channel_layers, get_channel_layer

from meetings.janus.admin import JanusAdmin
from meetings.janus.client import JanusClient
from meetings.janus.transport import UNAUTHORIZED, JanusError
from meetings.janus.videoroom import VideoRoomControl
from meetings.media.negotiation import SignalError
from meetings.room.gateways.janus import JanusMediaGateway

from .conftest import run_janus

CAPACITY = 7


class MemoryRooms:
    """The gateway's room store, without a database."""

    def __init__(self) -> None:
        self.rooms = {}

    async def room(self, name):
        return self.rooms.get(name)

    async def claim(self, name, room):
        return self.rooms.setdefault(name, room)

    async def capacity(self, name):
        return CAPACITY

    async def forget(self, name):
        self.rooms.pop(name, None)


class Client:
    """A browser stand-in: publishes a camera and a microphone, counts what it receives."""

    def __init__(self, gateway, room, peer_id):
        self.gateway, self.room, self.peer_id = gateway, room, peer_id
        self.layer = get_channel_layer()
        self.publisher = RTCPeerConnection()
        self.subscriber = None
        self.tracks = {}  # mid -> our tracks message entry
        self.frames = Counter()  # (peer_id, kind) -> frames received
        self.last_frame = {}  # (peer_id, kind) -> monotonic time
        self.signals = []
        self.tasks = []

    async def join(self):
        self.channel = await self.layer.new_channel()
        await self.gateway.join(room=self.room, peer_id=self.peer_id, reply_channel=self.channel)
        self.tasks.append(asyncio.create_task(self._pump()))

    async def publish(self):
        self.publisher.addTransceiver(AudioStreamTrack(), direction="sendonly")
        self.publisher.addTransceiver(VideoStreamTrack(), direction="sendonly")
        await self.publisher.setLocalDescription(await self.publisher.createOffer())
        sources = {
            t.mid: ("mic" if t.kind == "audio" else "camera")
            for t in self.publisher.getTransceivers()
        }
        await self.send("publish", self.publisher.localDescription, sources=sources)

    async def send(self, pc, description, **extra):
        signal = {
            "type": "sdp",
            "pc": pc,
            "description": {"type": description.type, "sdp": description.sdp},
        }
        await self.gateway.signal(room=self.room, peer_id=self.peer_id, message={**signal, **extra})

    async def _pump(self):
        while True:
            event = await self.layer.receive(self.channel)
            signal = event["signal"]
            self.signals.append(signal)
            if signal["type"] == "tracks":
                self.tracks = {t["mid"]: t for t in signal["tracks"]}
            elif signal["type"] == "sdp" and signal["pc"] == "publish":
                await self.publisher.setRemoteDescription(
                    RTCSessionDescription(**signal["description"])
                )
            elif signal["type"] == "sdp" and signal["pc"] == "subscribe":
                await self._answer(signal["description"])

    async def _answer(self, offer):
        if self.subscriber is None:
            self.subscriber = RTCPeerConnection()

            @self.subscriber.on("track")
            def on_track(track):
                self.tasks.append(asyncio.create_task(self._count(track)))

        await self.subscriber.setRemoteDescription(RTCSessionDescription(**offer))
        await self.subscriber.setLocalDescription(await self.subscriber.createAnswer())
        await self.send("subscribe", self.subscriber.localDescription)

    async def _count(self, track):
        mid = next(t.mid for t in self.subscriber.getTransceivers() if t.receiver.track is track)
        while True:
            try:
                await track.recv()
            except MediaStreamError:
                return
            info = self.tracks.get(mid)
            if info is not None:
                key = (info["peer_id"], info["kind"])
                self.frames[key] += 1
                self.last_frame[key] = time.monotonic()

    async def close(self):
        for task in self.tasks:
            task.cancel()
        for pc in (self.publisher, self.subscriber):
            if pc is not None:
                await pc.close()


@pytest.fixture
async def gateway(janus_server):
    # A cached channel layer (Redis) may hold connections of an earlier test's event loop.
    channel_layers.backends.clear()
    client = JanusClient(janus_server.url)
    admin = JanusAdmin(janus_server.admin_url, janus_server.admin_secret)
    gateway = JanusMediaGateway(client=client, admin=admin, store=MemoryRooms(), keepalive=1.0)
    yield gateway
    await gateway.aclose()


@pytest.fixture
async def clients(gateway):
    made = []

    async def make(peer_id, room="sitting"):
        client = Client(gateway, room, peer_id)
        made.append(client)
        await client.join()
        return client

    yield make
    for client in made:
        await client.close()


async def eventually(check, timeout=10.0):
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.05)


async def test_three_participants_receive_each_others_audio_and_video(
    gateway, clients, janus_admin
):
    ada, bob, cy = [await clients(name) for name in ("ada", "bob", "cy")]
    for client in (ada, bob, cy):
        await client.publish()

    def everyone_receives():
        return all(
            client.frames[(other.peer_id, kind)] >= 5
            for client in (ada, bob, cy)
            for other in (ada, bob, cy)
            if other is not client
            for kind in ("audio", "video")
        )

    await eventually(everyone_receives)
    # Nobody receives themselves; each subscription names the others' sources.
    assert {(t["peer_id"], t["source"]) for t in ada.tracks.values()} == {
        ("bob", "mic"),
        ("bob", "camera"),
        ("cy", "mic"),
        ("cy", "camera"),
    }
    assert not any(peer == "ada" for peer, _kind in ada.frames)
    room = gateway.rooms()["sitting"]
    assert room.publishers == CAPACITY
    # One token per participant, one for Django's own control session.
    tokens = await janus_admin.list_tokens()
    participants = {gateway.peer("sitting", name).token for name in ("ada", "bob", "cy")}
    assert participants <= set(tokens)


async def test_removal_kicks_revokes_the_token_and_stops_media_within_a_second(
    gateway, clients, janus_admin, janus_client
):
    ada, bob = await clients("ada"), await clients("bob")
    await ada.publish()
    await bob.publish()
    await eventually(
        lambda: ada.frames[("bob", "video")] >= 5 and bob.frames[("ada", "video")] >= 5
    )
    token = gateway.peer("sitting", "bob").token

    removed_at = time.monotonic()
    await gateway.leave(room="sitting", peer_id="bob")  # a removal: no reply channel
    await asyncio.sleep(1.0)
    assert ada.last_frame[("bob", "video")] < removed_at + 1.0
    assert bob.last_frame[("ada", "video")] < removed_at + 1.0
    assert token not in await janus_admin.list_tokens()
    with pytest.raises(JanusError) as refused:
        await janus_client.create_session(token)
    assert refused.value.code == UNAUTHORIZED
    control = await VideoRoomControl.open(janus_client, janus_admin)
    try:
        listed = await control.list_participants(gateway.rooms()["sitting"])
    finally:
        await control.close()
    assert [p.display for p in listed] == ["ada"]


async def test_a_stale_connection_leave_keeps_the_reconnected_peer(gateway, clients, janus_admin):
    ada = await clients("ada")
    first = ada.channel
    first_session = gateway.peer("sitting", "ada").session.id
    await ada.join()  # a reconnect: a fresh session replaces the first
    assert first_session not in await janus_admin.list_sessions()
    await gateway.leave(room="sitting", peer_id="ada", reply_channel=first)
    peer = gateway.peer("sitting", "ada")
    assert peer is not None
    await gateway.leave(room="sitting", peer_id="ada", reply_channel=ada.channel)
    assert gateway.peer("sitting", "ada") is None
    # Leaving cleans up at Janus: the session is destroyed and the token removed.
    assert peer.session.id not in await janus_admin.list_sessions()
    assert peer.token not in await janus_admin.list_tokens()


async def test_a_removal_decided_in_another_process_kicks_at_janus(
    gateway, clients, janus_server, janus_client, janus_admin
):
    ada = await clients("ada")
    await ada.publish()
    await eventually(lambda: gateway.peer("sitting", "ada").published)
    # Another web process: its own gateway, the same sitting's stored room.
    elsewhere = JanusMediaGateway(
        client=JanusClient(janus_server.url),
        admin=JanusAdmin(janus_server.admin_url, janus_server.admin_secret),
        store=gateway.store,
        keepalive=1.0,
    )
    try:
        await elsewhere.leave(room="sitting", peer_id="ada")
    finally:
        await elsewhere.aclose()
    control = await VideoRoomControl.open(janus_client, janus_admin)
    try:
        assert await control.list_participants(gateway.rooms()["sitting"]) == []
    finally:
        await control.close()


async def test_mute_moderates_the_microphone_at_janus(gateway, clients):
    ada, bob = await clients("ada"), await clients("bob")
    await ada.publish()
    await eventually(lambda: bob.frames[("ada", "audio")] >= 5)

    await gateway.mute(room="sitting", peer_id="ada", muted=True)
    muted_at = time.monotonic()
    await asyncio.sleep(1.0)
    assert bob.last_frame[("ada", "audio")] < muted_at + 0.5
    assert bob.last_frame[("ada", "video")] > muted_at + 0.5  # only the microphone

    await gateway.mute(room="sitting", peer_id="ada", muted=False)
    before = bob.frames[("ada", "audio")]
    await eventually(lambda: bob.frames[("ada", "audio")] > before + 5)


async def test_ending_destroys_the_room_and_every_session(
    gateway, clients, janus_client, janus_admin
):
    ada = await clients("ada")
    await ada.publish()
    await eventually(lambda: "sitting" in gateway.rooms())
    room = gateway.rooms()["sitting"]
    token = gateway.peer("sitting", "ada").token
    await gateway.close_room(room="sitting")
    control = await VideoRoomControl.open(janus_client, janus_admin)
    try:
        assert not await control.exists(room.room_id)
    finally:
        await control.close()
    assert token not in await janus_admin.list_tokens()
    assert gateway.peer("sitting", "ada") is None


async def test_malformed_media_messages_are_refused(gateway, clients):
    await clients("ada")
    for message in (
        "offer",
        {"type": "sdp", "pc": "sideways", "description": {"type": "offer", "sdp": "v=0"}},
        {"type": "sdp", "pc": "subscribe", "description": {"type": "offer", "sdp": "v=0"}},
        {"type": "sdp", "pc": "publish", "description": {"type": "answer", "sdp": "v=0"}},
        {"type": "candidate", "pc": "publish", "candidate": "x"},
        {"type": "unknown", "pc": "publish"},
    ):
        with pytest.raises(SignalError):
            await gateway.signal(room="sitting", peer_id="ada", message=message)
    # Without "pc": a client that started before its snapshot named the engine (ignored).
    await gateway.signal(room="sitting", peer_id="ada", message={"type": "sdp"})
    assert not gateway.peer("sitting", "ada").published
    with pytest.raises(SignalError):
        await gateway.signal(
            room="sitting",
            peer_id="ada",
            message={
                "type": "sdp",
                "pc": "publish",
                "description": {"type": "offer", "sdp": "garbage"},
            },
        )


async def test_recording_is_refused_on_janus(gateway):
    from meetings.room.gateways.interface import MediaUnavailable

    with pytest.raises(MediaUnavailable, match="not yet available in large rooms"):
        await gateway.start_recording(
            room="sitting", recording_id=secrets.token_hex(4), directory="/tmp/x", consented=[]
        )


async def test_after_a_janus_restart_clients_start_over_and_the_room_is_recreated(
    tmp_path, media_address
):
    """Janus stops mid-meeting and comes back on the same ports: every client is told to
    start over ("reset"), and their new connections meet in the same room, recreated."""
    channel_layers.backends.clear()
    with run_janus(tmp_path / "first", media_address) as first:
        gateway = JanusMediaGateway(
            client=JanusClient(first.url),
            admin=JanusAdmin(first.admin_url, first.admin_secret),
            store=MemoryRooms(),
            keepalive=1.0,
        )
        ada, bob = Client(gateway, "sitting", "ada"), Client(gateway, "sitting", "bob")
        for client in (ada, bob):
            await client.join()
            await client.publish()
        await eventually(lambda: ada.frames[("bob", "video")] > 0 < bob.frames[("ada", "video")])
        room = gateway.rooms()["sitting"]
    try:
        # Janus is down now; it comes back a moment later on the same ports.
        await asyncio.sleep(0.5)
        with run_janus(tmp_path / "second", media_address, like=first):
            await eventually(
                lambda: all({"type": "reset"} in c.signals for c in (ada, bob)), timeout=15
            )
            again = [Client(gateway, "sitting", name) for name in ("ada", "bob")]
            for client in again:
                await client.join()
                await client.publish()
            ada2, bob2 = again
            await eventually(
                lambda: ada2.frames[("bob", "video")] > 0 < bob2.frames[("ada", "video")]
            )
            assert gateway.rooms()["sitting"] == room  # same id, secret and pin
            for client in (ada, bob, *again):
                await client.close()
            await gateway.aclose()
    finally:
        for client in (ada, bob):
            await client.close()
