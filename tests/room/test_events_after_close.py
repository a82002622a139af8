"""An event that reaches a connection whose socket has just closed is dropped quietly."""

import pytest

from meetings.room.consumer import RoomConsumer


async def closed_socket_send(message):
    # What the server says to a send after the socket closed.
    raise RuntimeError(f"Unexpected ASGI message {message['type']!r} after 'websocket.close'")


@pytest.mark.parametrize(
    ("handler", "event"),
    [
        ("room_event", {"message": {"type": "chat", "seq": 7}}),
        ("room_event", {"message": {"type": "meeting_ended"}, "close": 4000}),
        ("room_hosts", {"message": {"type": "lobby", "waiting": 1}}),
        ("room_direct", {"message": {"type": "admitted"}}),
        ("room_direct", {"message": {"type": "removed"}, "close": 4003}),
        ("media_signal", {"signal": {"type": "answer"}}),
    ],
)
async def test_an_event_for_a_socket_that_just_closed_raises_nothing(handler, event):
    consumer = RoomConsumer()
    consumer.base_send = closed_socket_send

    await getattr(consumer, handler)(event)

    assert consumer.closing is bool(event.get("close"))
