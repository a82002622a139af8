"""Which engine a sitting runs on (MEDIA_ENGINE), what happens when Janus is down, and
what the room's websocket tells the host, against a real Janus (or a closed port)."""

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async

from meetings.models import Occurrence
from meetings.room import engine
from meetings.room.media_gateway import get_gateway, reset_gateway
from tests.meetings.factories import MeetingFactory
from tests.room import Sockets, ajoin

from .conftest import free_port


@pytest.fixture
def janus_settings(settings, janus_server):
    settings.JANUS_URL = janus_server.url
    settings.JANUS_ADMIN_URL = janus_server.admin_url
    settings.JANUS_ADMIN_SECRET = janus_server.admin_secret
    return settings


@pytest.fixture
def janus_down(settings):
    settings.JANUS_URL = f"http://127.0.0.1:{free_port()}/janus"
    settings.JANUS_ADMIN_URL = f"http://127.0.0.1:{free_port()}/admin"
    settings.JANUS_ADMIN_SECRET = "secret"
    return settings


def settle(occurrence):
    return async_to_sync(engine.settle_engine)(occurrence_id=occurrence.pk)


def sitting(**fields):
    return MeetingFactory(**fields).occurrences.get()


def recorded(occurrence):
    return Occurrence.objects.values_list("media_engine", flat=True).get(pk=occurrence.pk)


@pytest.mark.django_db
def test_aiortc_is_the_default_and_is_recorded(settings):
    assert settings.MEDIA_ENGINE == "aiortc"
    occurrence = sitting()
    assert settle(occurrence) == engine.EngineChoice("aiortc")
    assert recorded(occurrence) == "aiortc"


@pytest.mark.django_db
def test_auto_sends_sittings_over_the_threshold_to_janus_and_never_switches(janus_settings):
    janus_settings.MEDIA_ENGINE = "auto"
    occurrence = sitting()  # the Free plan's cap, 100, is over the default 25
    assert settle(occurrence) == engine.EngineChoice("janus")
    assert recorded(occurrence) == "janus"
    janus_settings.MEDIA_ENGINE_JANUS_THRESHOLD = 1000
    janus_settings.JANUS_ADMIN_URL = f"http://127.0.0.1:{free_port()}/admin"
    assert settle(occurrence) == engine.EngineChoice("janus")  # running: no switch


@pytest.mark.django_db
def test_auto_keeps_sittings_within_the_threshold_on_aiortc(janus_settings):
    janus_settings.MEDIA_ENGINE = "auto"
    janus_settings.MEDIA_ENGINE_JANUS_THRESHOLD = 100
    occurrence = sitting()
    assert settle(occurrence) == engine.EngineChoice("aiortc")


@pytest.mark.django_db
def test_janus_down_a_small_sitting_falls_back_to_aiortc_and_the_host_is_told(janus_down):
    janus_down.MEDIA_ENGINE = "janus"
    occurrence = sitting(invitees=["a@example.com", "b@example.com"])
    choice = settle(occurrence)
    assert choice.engine == "aiortc"
    assert "media server for large meetings is down" in choice.notice
    assert "up to 25 people" in choice.notice
    assert recorded(occurrence) == "aiortc"


@pytest.mark.django_db
def test_janus_down_a_large_sitting_gets_no_media_and_a_clear_reason(janus_down):
    janus_down.MEDIA_ENGINE = "auto"
    janus_down.MEDIA_ENGINE_JANUS_THRESHOLD = 2
    occurrence = sitting(invitees=["a@example.com", "b@example.com"])  # 3 expected
    choice = settle(occurrence)
    assert choice.engine is None
    assert choice.notice.startswith("Audio and video can't start")
    assert "is unreachable" in choice.notice
    assert recorded(occurrence) == ""  # chosen once Janus is back


@pytest.fixture
async def sockets():
    opened = Sockets()
    yield opened
    await opened.close_all()
    gateway = get_gateway()
    if hasattr(gateway, "janus"):
        await gateway.janus.aclose()
    reset_gateway()


@pytest.mark.django_db(transaction=True)
async def test_the_room_tells_the_host_its_engine_and_refuses_recording_on_janus(
    janus_settings, sockets
):
    janus_settings.MEDIA_ENGINE = "janus"
    reset_gateway()
    meeting = await database_sync_to_async(MeetingFactory)(recording_allowed=True)
    host = await ajoin(meeting, user=meeting.host)
    socket, snapshot = await sockets.enter(host)
    assert snapshot["media_engine"] == "janus"
    refusal = "Recording is not yet available in large rooms."
    assert snapshot["recording_control"] == {
        "allowed": False,
        "reason": refusal,
        "upgrade_url": None,
    }
    await socket.send({"type": "recording", "action": "start"})
    assert (await socket.error("recording_unavailable"))["message"] == refusal
    # The host's Janus session is open, on a room sized to the plan.
    room = get_gateway().janus.rooms()[host.room]
    assert room.publishers == 100


@pytest.mark.django_db(transaction=True)
async def test_janus_down_the_host_hears_why_there_is_no_media(janus_down, sockets):
    janus_down.MEDIA_ENGINE = "janus"
    janus_down.MEDIA_ENGINE_JANUS_THRESHOLD = 0
    reset_gateway()
    meeting = await database_sync_to_async(MeetingFactory)()
    host = await ajoin(meeting, user=meeting.host)
    socket, snapshot = await sockets.enter(host)
    assert snapshot["media_engine"] is None
    error = await socket.error("media_unavailable")
    assert error["message"].startswith("Audio and video can't start")
    assert snapshot["recording_control"]["allowed"] is False
    await socket.send({"type": "recording", "action": "start"})
    refused = await socket.error("recording_unavailable")
    assert refused["message"] == snapshot["recording_control"]["reason"]
    # Media messages reach no engine: none holds the room, none is remembered for it.
    offer = {"type": "sdp", "description": {"type": "offer", "sdp": "v=0"}}
    await socket.send({"type": "media", "signal": offer})
    assert await socket.settle() == []
    router = get_gateway()
    assert getattr(router.aiortc, "rooms", dict)() == {}
    assert await router.engine_of(host.room) == ""
