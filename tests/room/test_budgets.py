"""The message budget belongs to the participant session, not the socket: reconnecting in a
loop neither resets it nor turns into an event for everyone each time."""

import pytest

from meetings.room import budget
from meetings.room.protocol import CLOSE_FLOODING

from . import ajoin, aticket

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def one_window(monkeypatch):
    """Every call falls in the same budget window, so the counts are exact."""
    monkeypatch.setattr(budget, "_window", lambda now=None: 1)


async def test_a_reconnect_loop_is_refused_past_the_sessions_budget(
    sockets, meeting, host, guest, one_window
):
    honest, _ = await sockets.enter(host)
    await honest.expect("participant_joined")
    ticket = await aticket(guest)
    refused = 0

    for _ in range(3 * budget.CONNECTS_PER_WINDOW):
        socket = await sockets.open(guest, ticket=ticket)
        first = await socket.next()
        if first["type"] == "error":
            assert first["code"] == "flooding"
            assert await socket.closed() == CLOSE_FLOODING
            refused += 1
        await socket.disconnect()

    assert refused == 2 * budget.CONNECTS_PER_WINDOW
    arrivals = [
        m
        for m in await honest.settle(0.5)
        if m["type"] in ("participant_joined", "participant_updated")
    ]
    assert len(arrivals) <= budget.CONNECTS_PER_WINDOW


async def test_messages_sent_across_reconnects_share_one_budget(
    sockets, meeting, host, guest, one_window, monkeypatch
):
    monkeypatch.setattr(budget, "MESSAGES_PER_WINDOW", 40)
    honest, _ = await sockets.enter(host)
    ticket = await aticket(guest)
    sent = 0

    for _ in range(budget.CONNECTS_PER_WINDOW):
        socket = await sockets.open(guest, ticket=ticket)
        for i in range(15):  # under the socket's own bucket
            await socket.send({"type": "chat", "text": f"flood {i}"})
            sent += 1
        await socket.settle(0.1)
        await socket.disconnect()

    chats = [m for m in await honest.settle(0.5) if m["type"] == "chat"]
    assert sent == 15 * budget.CONNECTS_PER_WINDOW
    # each connection spends CONNECT_COST of the budget too
    assert 0 < len(chats) <= budget.MESSAGES_PER_WINDOW - budget.CONNECT_COST


async def test_someone_else_is_not_limited_by_the_flooders_budget(
    sockets, meeting, host, guest, one_window, monkeypatch
):
    monkeypatch.setattr(budget, "MESSAGES_PER_WINDOW", 20)
    honest, _ = await sockets.enter(host)
    flooder, _ = await sockets.enter(guest)
    for i in range(15):
        await flooder.send({"type": "chat", "text": f"flood {i}"})
    await flooder.error("rate_limited")

    await honest.send({"type": "chat", "text": "still here"})

    await honest.expect("chat", text="still here")
    bob = await ajoin(meeting, name="Bob", email="bob@example.com")
    assert (await sockets.enter(bob))[1]["type"] == "snapshot"
