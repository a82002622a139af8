"""What participants send: validation, the flood limit, chat, hand and media state, the
sequence and resync, heartbeats and attendance, reconnecting and leaving."""

import asyncio
import json
import uuid
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from meetings import lobby
from meetings.models import ParticipantSession
from meetings.room import consumer
from meetings.room.media_gateway import get_gateway
from meetings.room.protocol import CLOSE_FLOODING, CLOSE_NOT_ALLOWED, CLOSE_REPLACED

from . import ajoin, aticket

pytestmark = pytest.mark.django_db(transaction=True)
State = ParticipantSession.State
Reason = ParticipantSession.LeaveReason


def sequenced(messages: list[dict]) -> list[dict]:
    return [m for m in messages if "seq" in m and m["type"] != "snapshot"]


async def set_last_seen(joined, when) -> None:
    await sync_to_async(ParticipantSession.objects.filter(pk=joined.session.pk).update)(
        last_seen_at=when
    )


# --- Malformed messages -------------------------------------------------------------------

TOO_LONG_CHAT = "x" * 2001
MALFORMED = [
    # (raw frame, error code, in_reply_to)
    ("this is not json", "invalid_json", None),
    ("", "invalid_json", None),
    ("[" * 2000 + "]" * 2000, "invalid_json", None),  # nested past the decoder's recursion
    ("[1, 2, 3]", "invalid_message", None),
    ('"a string"', "invalid_message", None),
    ("42", "invalid_message", None),
    ('{"type": "teleport"}', "unknown_type", "teleport"),
    ('{"text": "no type"}', "unknown_type", None),
    ('{"type": 7}', "unknown_type", None),
    ('{"type": "snapshot"}', "unknown_type", "snapshot"),  # a server message
    ('{"type": "hello", "last_seq": -1}', "invalid_message", "hello"),
    ('{"type": "hello", "last_seq": "12"}', "invalid_message", "hello"),
    ('{"type": "hello", "last_seq": true}', "invalid_message", "hello"),
    ('{"type": "chat"}', "invalid_message", "chat"),
    ('{"type": "chat", "text": 5}', "invalid_message", "chat"),
    ('{"type": "chat", "text": "   "}', "invalid_message", "chat"),
    (json.dumps({"type": "chat", "text": TOO_LONG_CHAT}), "invalid_message", "chat"),
    ('{"type": "hand"}', "invalid_message", "hand"),
    ('{"type": "hand", "raised": "yes"}', "invalid_message", "hand"),
    ('{"type": "media_state"}', "invalid_message", "media_state"),
    ('{"type": "media_state", "audio_muted": 1}', "invalid_message", "media_state"),
    ('{"type": "media_state", "video_off": null}', "invalid_message", "media_state"),
    ('{"type": "media"}', "invalid_message", "media"),
    ('{"type": "media", "signal": "sdp"}', "invalid_message", "media"),
    ('{"type": "media", "signal": {"type": "teleport"}}', "invalid_message", "media"),
    ('{"type": "media", "signal": {"type": "sdp"}}', "invalid_signal", "media"),
    (
        '{"type": "media", "signal": {"type": "candidate", "candidate": 5}}',
        "invalid_signal",
        "media",
    ),
    ('{"type": "host"}', "invalid_message", "host"),
    ('{"type": "host", "action": "nuke"}', "invalid_message", "host"),
    ('{"type": "host", "action": "mute"}', "invalid_message", "host"),
    ('{"type": "host", "action": "remove", "target": 5}', "invalid_message", "host"),
    ('{"type": "host", "action": "admit", "target": ""}', "invalid_message", "host"),
    (json.dumps({"type": "host", "action": "deny", "target": "x" * 65}), "invalid_message", "host"),
    (json.dumps({"type": "chat", "text": "x" * 5000}), "too_large", None),
    (
        json.dumps({"type": "media", "signal": {"type": "sdp", "sdp": "v=0" * 100_000}}),
        "too_large",
        None,
    ),
    ('{"type": "chat", "text": "' + "é" * 2100 + '"}', "too_large", None),  # bytes, not chars
]


@pytest.mark.parametrize(
    ("raw", "code", "in_reply_to"), MALFORMED, ids=[f"{i}-{c[1]}" for i, c in enumerate(MALFORMED)]
)
async def test_a_malformed_message_gets_an_error_and_the_connection_stays_up(
    sockets, guest, raw, code, in_reply_to
):
    socket, _ = await sockets.enter(guest)

    await socket.send_text(raw)

    error = await socket.expect("error")
    assert (error["code"], error["in_reply_to"]) == (code, in_reply_to), error
    assert error["message"]
    await socket.alive()
    await socket.send({"type": "heartbeat"})
    await socket.alive()
    assert socket.close_code is None


async def test_a_binary_frame_gets_an_error_and_the_connection_stays_up(sockets, guest):
    socket, _ = await sockets.enter(guest)

    await socket.send_bytes(b'{"type": "heartbeat"}')

    error = await socket.error("binary_frame")
    assert error["in_reply_to"] is None
    await socket.alive()


async def test_a_media_message_may_carry_a_large_sdp(sockets, guest):
    socket, _ = await sockets.enter(guest)
    big = {"type": "media", "signal": {"type": "sdp", "description": {"type": "offer"}}}
    big["signal"]["description"]["sdp"] = "a=x\r\n" * 10_000  # 50 KB, past the 4 KB cap

    await socket.send(big)

    await socket.alive()
    assert "too_large" not in [m.get("code") for m in socket.received]  # the media server judges it


# --- Flooding -----------------------------------------------------------------------------


async def test_a_flooding_client_is_rate_limited_then_disconnected_with_a_reason(sockets, guest):
    socket, _ = await sockets.enter(guest)

    for _ in range(60):
        await socket.send({"type": "nonsense"})

    assert await socket.closed() == CLOSE_FLOODING
    codes = [m["code"] for m in socket.received if m["type"] == "error"]
    assert codes[:40] == ["unknown_type"] * 40  # the burst allowance
    assert "rate_limited" in codes
    assert codes.index("rate_limited") < codes.index("flooding") == len(codes) - 1
    flooding = socket.received[-1]
    assert "too fast" in flooding["message"]
    # Not a departure: the attendance session stays open for a reconnect.
    assert (await sync_to_async(guest.refresh)()).state == State.ADMITTED


async def test_a_steady_client_is_not_limited(sockets, guest):
    socket, _ = await sockets.enter(guest)

    for _ in range(2):
        for _ in range(25):
            await socket.send({"type": "heartbeat"})
        await asyncio.sleep(1.0)  # 20 messages' worth of refill: 50 in all, past the burst of 40

    await socket.alive()
    assert [m for m in socket.received if m["type"] == "error"] == []


# --- Chat, hand and media state -----------------------------------------------------------


async def test_chat_reaches_everyone_with_the_senders_name(sockets, meeting, host, guest):
    bob = await ajoin(meeting, name="Bob", email="bob@example.com")
    host_socket, _ = await sockets.enter(host)
    guest_socket, _ = await sockets.enter(guest)
    bob_socket, _ = await sockets.enter(bob)

    await guest_socket.send({"type": "chat", "text": "  Hello, everyone!  "})

    received = [await s.expect("chat") for s in (host_socket, guest_socket, bob_socket)]
    first = received[0]
    assert all(m == first for m in received)
    assert first["from"] == {"id": guest.id, "name": "Ada Guest"}
    assert first["text"] == "Hello, everyone!"
    assert uuid.UUID(first["id"]) and first["at"] and isinstance(first["seq"], int)


async def test_raising_a_hand_and_changing_media_state_update_everyone(sockets, host, guest):
    host_socket, _ = await sockets.enter(host)
    guest_socket, _ = await sockets.enter(guest)
    await host_socket.expect("participant_joined", participant={**_defaults(guest)})

    await guest_socket.send({"type": "hand", "raised": True})
    hand = await host_socket.expect("participant_updated")
    await guest_socket.send({"type": "media_state", "audio_muted": True, "video_off": True})
    media = await host_socket.expect("participant_updated")
    await guest_socket.send({"type": "media_state", "screen_sharing": True})
    screen = await host_socket.expect("participant_updated")

    assert hand["participant"] == _defaults(guest) | {"hand_raised": True}
    assert media["participant"] == _defaults(guest) | {
        "hand_raised": True,
        "audio_muted": True,
        "video_off": True,
    }
    assert screen["participant"]["screen_sharing"] is True
    session = await sync_to_async(guest.refresh)()
    assert session.hand_raised and session.audio_muted
    assert session.video_off and session.screen_sharing


def _defaults(joined) -> dict:
    return {
        "id": joined.id,
        "name": joined.session.display_name,
        "is_host": joined.session.is_host,
        "audio_muted": False,
        "video_off": False,
        "hand_raised": False,
        "screen_sharing": False,
    }


# --- Sequence and resync ------------------------------------------------------------------


async def test_room_events_carry_consecutive_sequence_numbers(sockets, host, guest):
    host_socket, host_snapshot = await sockets.enter(host)
    guest_socket, _ = await sockets.enter(guest)

    await guest_socket.send({"type": "hand", "raised": True})
    await guest_socket.send({"type": "chat", "text": "one"})
    await host_socket.send({"type": "media_state", "video_off": True})
    await guest_socket.send({"type": "chat", "text": "two"})
    await guest_socket.send({"type": "hand", "raised": False})
    await host_socket.expect("participant_updated", participant=_defaults(guest))
    await asyncio.sleep(0.1)

    seen = [m["seq"] for m in sequenced(host_socket.received)]
    # the host's own join, the guest's join, then the five changes
    assert len(seen) == 7
    assert seen == list(range(host_snapshot["seq"] + 1, host_snapshot["seq"] + 8))
    guest_seen = [m["seq"] for m in sequenced(guest_socket.received)]
    assert guest_seen == seen[1:]


async def test_a_client_that_missed_events_resyncs_to_the_current_state(sockets, host, guest):
    host_socket, _ = await sockets.enter(host)
    guest_socket, _ = await sockets.enter(guest)
    await host_socket.expect("participant_joined", participant=_defaults(guest))
    await guest_socket.disconnect()  # misses what follows
    await host_socket.send({"type": "hand", "raised": True})
    await host_socket.send({"type": "chat", "text": "you missed this"})
    last = (await host_socket.expect("chat"))["seq"]

    guest_again, _ = await sockets.enter(guest)
    await guest_again.send({"type": "resync"})
    snapshot = await guest_again.expect("snapshot")

    assert snapshot["seq"] >= last
    host_entry = next(p for p in snapshot["participants"] if p["id"] == host.id)
    assert host_entry["hand_raised"] is True
    await guest_again.send({"type": "hello", "last_seq": last})
    assert (await guest_again.expect("snapshot"))["seq"] >= last


async def test_resync_answers_with_the_current_sequence_number(sockets, host, guest):
    host_socket, _ = await sockets.enter(host)
    guest_socket, _ = await sockets.enter(guest)
    await guest_socket.send({"type": "chat", "text": "hi"})
    chat = await host_socket.expect("chat")

    await host_socket.send({"type": "resync"})
    snapshot = await host_socket.expect("snapshot")

    assert snapshot["seq"] == chat["seq"]
    assert {p["id"] for p in snapshot["participants"]} == {host.id, guest.id}


# --- Heartbeats, attendance and disconnects -----------------------------------------------


async def test_heartbeats_keep_the_attendance_session_open(sockets, guest):
    socket, _ = await sockets.enter(guest)
    await set_last_seen(guest, timezone.now() - timedelta(seconds=40))

    await socket.send({"type": "heartbeat"})
    await socket.alive()

    assert await sync_to_async(lobby.close_stale_sessions)() == []
    session = await sync_to_async(guest.refresh)()
    assert session.state == State.ADMITTED
    assert timezone.now() - session.last_seen_at < timedelta(seconds=5)


async def test_a_disconnect_keeps_the_session_until_the_stale_session_close(sockets, host, guest):
    host_socket, _ = await sockets.enter(host)
    guest_socket, _ = await sockets.enter(guest)
    await host_socket.expect("participant_joined", participant=_defaults(guest))

    await guest_socket.disconnect()

    assert await host_socket.settle() == []  # a mere disconnect is not announced
    session = await sync_to_async(guest.refresh)()
    assert session.state == State.ADMITTED
    later = timezone.now() + lobby.HEARTBEAT_TIMEOUT + timedelta(seconds=1)
    assert len(await sync_to_async(lobby.close_stale_sessions)(now=later)) >= 1
    session = await sync_to_async(guest.refresh)()
    assert (session.state, session.leave_reason) == (State.LEFT, Reason.TIMEOUT)


async def test_a_connection_that_never_comes_back_is_announced_as_disconnected(
    sockets, host, guest, monkeypatch
):
    monkeypatch.setattr(consumer, "TIMEOUT_CHECK_DELAY_SECONDS", 0.2)
    host_socket, _ = await sockets.enter(host)
    guest_socket, _ = await sockets.enter(guest)
    await host_socket.expect("participant_joined", participant=_defaults(guest))
    await set_last_seen(guest, timezone.now() - lobby.HEARTBEAT_TIMEOUT - timedelta(seconds=5))

    await guest_socket.disconnect()

    left = await host_socket.expect("participant_left")
    assert (left["id"], left["reason"]) == (guest.id, "disconnected")
    session = await sync_to_async(guest.refresh)()
    assert (session.state, session.leave_reason) == (State.LEFT, Reason.TIMEOUT)


async def test_reconnecting_within_the_timeout_is_an_update_not_a_new_join(
    sockets, host, guest, monkeypatch
):
    monkeypatch.setattr(consumer, "TIMEOUT_CHECK_DELAY_SECONDS", 0.2)
    host_socket, _ = await sockets.enter(host)
    guest_socket, _ = await sockets.enter(guest)
    await host_socket.expect("participant_joined", participant=_defaults(guest))
    await guest_socket.disconnect()

    await sockets.enter(guest)

    updated = await host_socket.expect("participant_updated")
    assert updated["participant"]["id"] == guest.id
    await asyncio.sleep(0.4)  # past the timeout check: the guest is back, nothing happens
    assert [m["type"] for m in await host_socket.settle()] == []
    assert (await sync_to_async(guest.refresh)()).state == State.ADMITTED


async def test_a_heartbeat_on_a_closed_session_closes_the_connection(sockets, guest):
    socket, _ = await sockets.enter(guest)
    await sync_to_async(lobby.leave)(session=guest.session)

    await socket.send({"type": "heartbeat"})

    error = await socket.error("session_closed")
    assert "no longer in this meeting" in error["message"]
    assert await socket.closed() == CLOSE_NOT_ALLOWED


async def test_a_second_connection_of_the_same_participant_replaces_the_first(sockets, host, guest):
    host_socket, _ = await sockets.enter(host)
    first, _ = await sockets.enter(guest)
    await host_socket.expect("participant_joined", participant=_defaults(guest))

    second, snapshot = await sockets.enter(guest)

    error = await first.error("replaced")
    assert "somewhere else" in error["message"]
    assert await first.closed() == CLOSE_REPLACED
    assert snapshot["you"] == guest.id
    assert (await host_socket.expect("participant_updated"))["participant"]["id"] == guest.id
    await first.disconnect()
    await second.alive()
    # The old connection's goodbye did not take the new one's media away.
    assert guest.id in get_gateway().rooms()[guest.room].peers


async def test_leaving_on_purpose_closes_the_session_and_tells_the_room(sockets, host, guest):
    host_socket, _ = await sockets.enter(host)
    guest_socket, _ = await sockets.enter(guest)
    await host_socket.expect("participant_joined", participant=_defaults(guest))

    await guest_socket.send({"type": "leave"})

    assert await guest_socket.closed() == 1000
    left = await host_socket.expect("participant_left")
    assert (left["id"], left["reason"]) == (guest.id, "left")
    session = await sync_to_async(guest.refresh)()
    assert (session.state, session.leave_reason) == (State.LEFT, Reason.LEFT)
    snapshot = await host_socket.alive()
    assert [p["id"] for p in snapshot["participants"]] == [host.id]


async def test_a_left_participant_can_not_reconnect_with_their_old_ticket(sockets, guest):
    ticket = await aticket(guest)
    socket, _ = await sockets.enter(guest, ticket=ticket)
    await socket.send({"type": "leave"})
    await socket.closed()

    again = await sockets.open(guest, ticket=ticket)

    await again.error("session_closed")
    assert await again.closed() == CLOSE_NOT_ALLOWED
