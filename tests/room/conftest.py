"""Fixtures shared by the room's consumer tests: a meeting, its host and a guest, both
admitted through the real join flow, and the sockets a test opened (closed afterwards)."""

import pytest

from tests.factories import UserFactory
from tests.meetings.factories import MeetingFactory

from . import Sockets, ajoin


@pytest.fixture
async def sockets():
    opened = Sockets()
    yield opened
    await opened.close_all()


@pytest.fixture
def meeting(transactional_db):
    return MeetingFactory(host=UserFactory(full_name="Hana Host"), title="Design review")


@pytest.fixture
async def host(meeting):
    return await ajoin(meeting, user=meeting.host)


@pytest.fixture
async def guest(meeting):
    return await ajoin(meeting, name="Ada Guest", email="ada@example.com")
