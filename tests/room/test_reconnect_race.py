"""A late close of an old socket leaves its reconnected successor's media alone."""

import pytest

from meetings.room.media_gateway import get_gateway
from meetings.room.protocol import CLOSE_REPLACED

from . import aticket

pytestmark = pytest.mark.django_db(transaction=True)


async def test_the_old_sockets_late_close_keeps_the_new_peer(sockets, host, guest):
    ticket = await aticket(guest)
    await sockets.enter(host)
    old, _ = await sockets.enter(guest, ticket=ticket)

    new, _ = await sockets.enter(guest, ticket=ticket)
    assert await old.closed() == CLOSE_REPLACED
    await old.disconnect()

    assert guest.id in get_gateway().rooms()[guest.room].peers
    await new.alive()
