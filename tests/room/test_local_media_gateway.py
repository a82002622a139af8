"""The embedded gateway's media rooms, keyed by connection: a reconnect replaces the peer,
and only the current connection's leave removes it."""

from __future__ import annotations

from meetings.room.media_gateway import LocalMediaGateway


async def test_a_late_leave_of_an_old_connection_keeps_its_reconnected_successor():
    gateway = LocalMediaGateway()
    await gateway.join(room="meeting", peer_id="ada", reply_channel="old-socket")
    await gateway.join(room="meeting", peer_id="ada", reply_channel="new-socket")
    successor = gateway.rooms()["meeting"].peers["ada"]

    await gateway.leave(room="meeting", peer_id="ada", reply_channel="old-socket")

    assert gateway.rooms()["meeting"].peers["ada"] is successor

    await gateway.leave(room="meeting", peer_id="ada", reply_channel="new-socket")

    assert "meeting" not in gateway.rooms()
    assert successor.closed


async def test_a_leave_without_a_connection_removes_whichever_is_current():
    gateway = LocalMediaGateway()
    await gateway.join(room="meeting", peer_id="ada", reply_channel="old-socket")
    await gateway.join(room="meeting", peer_id="ada", reply_channel="new-socket")
    await gateway.join(room="meeting", peer_id="bob", reply_channel="bob-socket")

    await gateway.leave(room="meeting", peer_id="ada")

    assert set(gateway.rooms()["meeting"].peers) == {"bob"}
    await gateway.close_room(room="meeting")


async def test_a_rejoin_after_leaving_is_a_fresh_connection():
    gateway = LocalMediaGateway()
    await gateway.join(room="meeting", peer_id="ada", reply_channel="first")
    await gateway.join(room="meeting", peer_id="bob", reply_channel="bob-socket")
    await gateway.leave(room="meeting", peer_id="ada", reply_channel="first")
    await gateway.join(room="meeting", peer_id="ada", reply_channel="second")

    await gateway.leave(room="meeting", peer_id="ada", reply_channel="first")

    assert set(gateway.rooms()["meeting"].peers) == {"ada", "bob"}
    await gateway.close_room(room="meeting")
