"""Rooms for sittings on a real Janus: create, list, join, kick, moderate, destroy."""

import asyncio

import pytest
from aiortc import RTCPeerConnection

from meetings.janus.client import VIDEOROOM
from meetings.janus.transport import JanusError
from meetings.janus.videoroom import NO_SUCH_FEED, VideoRoomControl

UNAUTHORIZED_IN_ROOM = 433


@pytest.fixture
async def control(janus_client, janus_admin):
    control = await VideoRoomControl.open(janus_client, janus_admin, keepalive=1.0)
    yield control
    await control.close()


@pytest.fixture
async def room(control):
    room = await control.create_room(publishers=4, description="Weekly sync")
    yield room
    await control.destroy_room(room)


@pytest.fixture
async def participant(janus_client, token):
    session = await janus_client.create_session(token)
    session.keep_alive(1.0)
    handle = await session.attach(VIDEOROOM)
    yield handle
    await session.destroy()


async def join(handle, room, display="Ada"):
    event = await handle.send(
        {
            "request": "join",
            "ptype": "publisher",
            "room": room.room_id,
            "pin": room.pin,
            "display": display,
        }
    )
    assert event.data["videoroom"] == "joined"
    return int(event.data["id"])


async def next_event(handle, key):
    """The participant's next notification carrying ``key`` (others are skipped)."""
    async with asyncio.timeout(5):
        while True:
            event = await handle.session.events.get()
            if event.sender == handle.id and key in event.data:
                return event


async def test_a_room_is_private_with_its_own_secret_and_pin(control, room, janus_client, token):
    assert room.publishers == 4
    assert len(room.secret) >= 32 and len(room.pin) >= 16 and room.secret != room.pin
    assert await control.exists(room.room_id)
    # is_private: a plain list (no admin key) does not show it.
    listed = await control.handle.request({"request": "list"})
    assert room.room_id not in {item["room"] for item in listed["list"]}
    assert await control.list_participants(room) == []

    other = await control.create_room(publishers=1)
    assert (other.room_id, other.secret, other.pin) != (room.room_id, room.secret, room.pin)
    await control.destroy_room(other)
    assert not await control.exists(other.room_id)
    await control.destroy_room(other)  # already gone: fine


async def test_joining_needs_the_pin(room, participant):
    with pytest.raises(JanusError) as refused:
        await participant.send(
            {"request": "join", "ptype": "publisher", "room": room.room_id, "pin": "guess"}
        )
    assert refused.value.code == UNAUTHORIZED_IN_ROOM


async def test_a_kicked_participant_leaves_the_room(control, room, participant):
    participant_id = await join(participant, room)
    listed = await control.list_participants(room)
    assert [(p.participant_id, p.display) for p in listed] == [(participant_id, "Ada")]

    await control.kick(room, participant_id)
    assert await control.list_participants(room) == []
    notice = await next_event(participant, "leaving")
    assert notice.data["reason"] == "kicked"


async def test_a_publisher_stream_can_be_muted_and_unmuted(control, room, participant):
    participant_id = await join(participant, room)
    # A real WebRTC offer (aiortc); no media needs to flow for moderation.
    peer = RTCPeerConnection()
    try:
        peer.addTransceiver("audio", direction="sendonly")
        peer.addTransceiver("video", direction="sendonly")
        await peer.setLocalDescription(await peer.createOffer())
        offer = {"type": "offer", "sdp": peer.localDescription.sdp}
        configured = await participant.send({"request": "publish"}, jsep=offer)
        assert configured.data["configured"] == "ok"
        assert configured.jsep["type"] == "answer"
        assert "VP8" in configured.jsep["sdp"] and "opus" in configured.jsep["sdp"]
        audio_mid = next(t.mid for t in peer.getTransceivers() if t.kind == "audio")

        await control.moderate(room, participant_id, audio_mid, mute=True)
        assert (await next_event(participant, "moderation")).data["moderation"] == "muted"
        await control.moderate(room, participant_id, audio_mid, mute=False)
        assert (await next_event(participant, "moderation")).data["moderation"] == "unmuted"
        with pytest.raises(JanusError) as refused:
            await control.moderate(room, participant_id, "no-such-mid", mute=True)
        assert refused.value.code == NO_SUCH_FEED
    finally:
        await peer.close()


async def test_destroying_the_room_ends_it_for_participants(control, participant):
    room = await control.create_room(publishers=2)
    await join(participant, room)
    await control.destroy_room(room)
    assert (await next_event(participant, "videoroom")).data["videoroom"] == "destroyed"
    assert not await control.exists(room.room_id)
