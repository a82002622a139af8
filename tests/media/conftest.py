"""Fixtures for the media tests: a MediaRoom whose clients are closed after the test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from meetings.media.sfu import MediaRoom

from . import Client


@pytest.fixture
async def room() -> AsyncIterator[MediaRoom]:
    media_room = MediaRoom("test-room")
    clients: list[Client] = []
    media_room.test_clients = clients  # type: ignore[attr-defined]
    try:
        yield media_room
    finally:
        await media_room.close()
        for client in clients:
            await client.close()
