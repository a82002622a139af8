"""A sitting on Janus in real Chromium pages: three people see and hear each other, the
host's removal and end reach Janus.

Janus is a real one (tests/janus/conftest.py), its media on the veth address the test
session creates (libnice gathers nothing on loopback; the machine's external interface is
not used), with the production session timeout. Each page has two peer connections
("publish" and "subscribe"); the subscriber is the page's last one, where the remote
tiles' tracks are decoded.
"""

import asyncio
import contextlib
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from playwright.sync_api import expect

from meetings.janus.admin import JanusAdmin
from meetings.janus.client import JanusClient
from meetings.janus.videoroom import VideoRoomControl
from meetings.models import Occurrence, ParticipantSession
from meetings.room.media_gateway import reset_gateway
from tests.factories import UserFactory
from tests.janus.conftest import free_port, media_address, run_janus  # noqa: F401 (fixture)
from tests.meetings.factories import MeetingFactory, schedule_in

from .test_room_in_browser import (
    FRAMES_PER_TILE,
    RECEIVING,
    SCREEN_DECODED,
    ask_to_join,
    host_and_two_admitted_attendees,
    join_when_let_in,
    open_page,
    start_as_host,
)

# Audio samples received per remote participant, on the subscriber connection: the
# <audio> elements play the tracks, keyed by the participant shown on the tile list.
AUDIO_PER_TRACK = """
async () => {
  const pcs = (window.__pcs || []).filter((pc) => pc.connectionState !== "closed");
  const pc = pcs[pcs.length - 1];
  const samples = {};
  if (pc) {
    (await pc.getStats()).forEach((report) => {
      if (report.type === "inbound-rtp" && report.kind === "audio") {
        samples[report.trackIdentifier] = report.totalSamplesReceived || 0;
      }
    });
  }
  return samples;
}
"""

# Audio packets received on the subscriber connection, all remote tracks together.
AUDIO_PACKETS = """
async () => {
  const pcs = (window.__pcs || []).filter((pc) => pc.connectionState !== "closed");
  let packets = 0;
  (await pcs[pcs.length - 1].getStats()).forEach((report) => {
    if (report.type === "inbound-rtp" && report.kind === "audio") packets += report.packetsReceived;
  });
  return packets;
}
"""

# Frames decoded from ``peer``'s camera on a subscriber connection opened after the
# first ``opened`` ones (a fresh connection after Janus restarted).
FRESH_FRAMES = """
async ({opened, peer}) => {
  const fresh = (window.__pcs || []).slice(opened).filter((pc) => pc.connectionState !== "closed");
  const pc = fresh[fresh.length - 1];
  const tile = `.tile[data-source='camera'][data-peer-id='${peer}']`;
  const video = document.querySelector(`${tile} video`);
  const track = video && video.srcObject ? video.srcObject.getVideoTracks()[0] : null;
  let frames = 0;
  if (pc && track) {
    (await pc.getStats()).forEach((report) => {
      if (report.type === "inbound-rtp" && report.trackIdentifier === track.id) {
        frames = report.framesDecoded || 0;
      }
    });
  }
  return {[peer]: frames};
}
"""

# The track id of one participant's camera tile.
TRACK_OF = """
(peerId) => {
  const tile = `.tile[data-source='camera'][data-peer-id='${peerId}']`;
  const video = document.querySelector(`${tile} video`);
  const track = video && video.srcObject ? video.srcObject.getVideoTracks()[0] : null;
  return track ? track.id : null;
}
"""

# Frames decoded on one track (its stats stay after its tile has gone).
FRAMES_OF = """
async (trackId) => {
  const pcs = (window.__pcs || []).filter((pc) => pc.connectionState !== "closed");
  const pc = pcs[pcs.length - 1];
  let frames = 0;
  (await pc.getStats()).forEach((report) => {
    if (report.type === "inbound-rtp" && report.trackIdentifier === trackId) {
      frames = report.framesDecoded || 0;
    }
  });
  return frames;
}
"""


def on_janus(action):
    """Run ``action(control)`` on a control session of its own, off the test's thread."""

    async def run():
        async with (
            JanusClient(janus.url) as client,
            JanusAdmin(janus.admin_url, janus.admin_secret) as admin,
        ):
            control = await VideoRoomControl.open(client, admin)
            try:
                return await action(control, admin)
            finally:
                await control.close()

    janus = on_janus.server
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run()).result()


@pytest.fixture(scope="module")
def janus_for_browsers(tmp_path_factory, media_address):  # noqa: F811
    with run_janus(tmp_path_factory.mktemp("janus-e2e"), media_address, 60) as server:
        yield server


@pytest.fixture
def on_janus_engine(settings, janus_for_browsers):
    settings.MEDIA_ENGINE = "janus"
    settings.JANUS_URL = janus_for_browsers.url
    settings.JANUS_ADMIN_URL = janus_for_browsers.admin_url
    settings.JANUS_ADMIN_SECRET = janus_for_browsers.admin_secret
    on_janus.server = janus_for_browsers
    reset_gateway()
    yield
    reset_gateway()


def wait_until(page, script, check, *, timeout_s=30.0, arg=None):
    deadline = time.monotonic() + timeout_s
    value = None
    while time.monotonic() < deadline:
        value = page.evaluate(script, arg)
        if check(value):
            return value
        page.wait_for_timeout(250)
    connections = page.evaluate(
        "(window.__pcs || []).map((pc) => `${pc.connectionState} ${pc.signalingState} "
        "${pc.getTransceivers().map((t) => `${t.mid}:${t.currentDirection}`).join(',')}`)"
    )
    raise AssertionError(f"{page.url}: {value!r}\n{page.evaluate(RECEIVING)}\n{connections}")


def test_three_people_on_janus_see_and_hear_each_other_and_the_host_removes_and_ends(
    on_janus_engine, asgi_server, new_page
):
    host = UserFactory(full_name="Hana Host")
    meeting = MeetingFactory(host=host, title="All hands", schedule=schedule_in(days=1))
    violations: list[str] = []
    pages, ids = host_and_two_admitted_attendees(asgi_server, new_page, violations, meeting)
    host_page = pages["Hana Host"]
    attendees = {name: page for name, page in pages.items() if name != "Hana Host"}
    occurrence = Occurrence.objects.get(meeting=meeting)
    assert occurrence.media_engine == "janus"
    room_id = occurrence.janus_room["room_id"]

    # Every page decodes the other two's video, and receives both of their audio tracks
    for name, page in pages.items():
        others = {ids[other] for other in pages if other != name}

        def all_decoding(frames, others=others):
            return set(frames) == others and all(count > 0 for count in frames.values())

        first = wait_until(page, FRAMES_PER_TILE, all_decoding)
        wait_until(
            page,
            FRAMES_PER_TILE,
            lambda frames, first=first: all(frames.get(peer, 0) > first[peer] for peer in first),
        )
        audio = wait_until(page, AUDIO_PER_TRACK, lambda s: len(s) == 2 and all(s.values()))
        wait_until(
            page,
            AUDIO_PER_TRACK,
            lambda s, audio=audio: all(s.get(track, 0) > audio[track] for track in audio),
        )
        live = "window.__pcs.filter((pc) => pc.connectionState !== 'closed').length"
        assert page.evaluate(live) == 2  # publish and subscribe
    # The Janus room holds the three, known to it only by their participant ids.
    listed = on_janus(
        lambda control, admin: control.list_participants(_room(occurrence.janus_room))
    )
    assert sorted(p.display for p in listed) == sorted(ids.values())

    # When the host presents, Ada sees the screen decoded; it goes when they stop
    ada = attendees["Ada Attendee"]
    host_page.get_by_role("button", name="Share screen").click()
    screen = ada.locator(f"[data-featured] .tile[data-tile='{ids['Hana Host']}:screen']")
    expect(screen).to_be_visible(timeout=10_000)
    ada.wait_for_function(SCREEN_DECODED, timeout=15_000, polling=250)
    host_page.get_by_role("button", name="Stop presenting").first.click()
    expect(screen).to_have_count(0, timeout=10_000)

    # When the host removes Ben, his media stops reaching Ada within a second
    ben_id = ids["Ben Attendee"]
    ben_track = ada.evaluate(TRACK_OF, ben_id)
    assert ben_track
    host_page.get_by_role("button", name="Remove Ben Attendee").click(timeout=10_000)
    host_page.get_by_role("dialog").get_by_role("button", name="Remove").click(timeout=5_000)
    ben = attendees["Ben Attendee"]
    expect(ben.get_by_role("heading", name="The host removed you")).to_be_visible(timeout=10_000)
    told = time.monotonic()
    frames_then = ada.evaluate(FRAMES_OF, ben_track)
    ada.wait_for_timeout(1_000)
    frames_later = ada.evaluate(FRAMES_OF, ben_track)
    assert frames_then > 0 and frames_later == frames_then, (frames_then, frames_later)
    assert time.monotonic() - told < 2.0
    listed = on_janus(
        lambda control, admin: control.list_participants(_room(occurrence.janus_room))
    )
    assert ben_id not in {p.display for p in listed}

    # When the host mutes Ada, Janus stops forwarding her microphone within a second
    # (her page mutes itself too, but a disabled track still sends silence), and when
    # she unmutes it flows again
    host_page.get_by_role("button", name="Mute Ada Attendee").click()
    expect(ada.get_by_text("The host muted your microphone")).to_be_visible(timeout=10_000)
    ada.wait_for_timeout(1_000)
    before = host_page.evaluate(AUDIO_PACKETS)
    host_page.wait_for_timeout(1_000)
    assert host_page.evaluate(AUDIO_PACKETS) == before
    ada.locator(".controls [data-action='mic']").click()
    wait_until(host_page, AUDIO_PACKETS, lambda packets: packets > before + 20)

    # When the host ends the meeting, the Janus room is destroyed
    host_page.get_by_role("button", name="End meeting for all").click()
    host_page.get_by_role("dialog").get_by_role("button", name="End meeting for all").click()
    for page in (ada, host_page):
        expect(page.get_by_role("heading", name="The meeting has ended")).to_be_visible(
            timeout=10_000
        )
    deadline = time.monotonic() + 5
    while on_janus(lambda control, admin: control.exists(room_id)):
        assert time.monotonic() < deadline, "the Janus room outlived the meeting"
        time.sleep(0.2)
    assert violations == []


@pytest.fixture
def janus_down(settings):
    settings.MEDIA_ENGINE = "janus"
    settings.JANUS_URL = f"http://127.0.0.1:{free_port()}/janus"
    settings.JANUS_ADMIN_URL = f"http://127.0.0.1:{free_port()}/admin"
    settings.JANUS_ADMIN_SECRET = "not-running"
    reset_gateway()
    yield
    reset_gateway()


def test_with_janus_down_a_small_meeting_runs_on_aiortc_and_the_host_is_told(
    janus_down, asgi_server, new_page
):
    host = UserFactory(full_name="Hana Host")
    meeting = MeetingFactory(host=host, title="Small sync", schedule=schedule_in(days=1))
    link = f"{asgi_server.url}/j/{meeting.join_token}/"
    violations: list[str] = []
    host_page = open_page(new_page, violations)
    start_as_host(host_page, asgi_server.url, host, link)
    notice = host_page.get_by_role("alert").filter(has_text="media server for large meetings")
    expect(notice).to_be_visible(timeout=10_000)
    expect(notice).to_contain_text("runs on the built-in one")

    ada = open_page(new_page, violations)
    ask_to_join(ada, link, meeting, "Ada Attendee", "ada@example.com")
    host_page.get_by_role("button", name="Admit Ada Attendee (from the notice)").click(
        timeout=15_000
    )
    join_when_let_in(ada)
    assert Occurrence.objects.get(meeting=meeting).media_engine == "aiortc"
    ids = {
        s.display_name: str(s.public_id)
        for s in ParticipantSession.objects.filter(occurrence__meeting=meeting)
    }
    for page, other in ((ada, "Hana Host"), (host_page, "Ada Attendee")):
        wait_until(page, FRAMES_PER_TILE, lambda f, peer=ids[other]: f.get(peer, 0) > 0)
    live = "window.__pcs.filter((pc) => pc.connectionState !== 'closed').length"
    assert ada.evaluate(live) == 1  # aiortc: one connection
    assert violations == []


def _room(stored):
    from meetings.janus.videoroom import JanusRoom

    return JanusRoom(stored["room_id"], stored["secret"], stored["pin"], stored["publishers"])


@pytest.fixture
def fresh_gateway():
    """The server's gateway is made anew from this test's settings, and forgotten after
    the server (and its rooms) has gone."""
    reset_gateway()
    yield
    reset_gateway()


def test_after_a_janus_restart_the_pages_reconnect_and_meet_again(
    settings,
    fresh_gateway,
    tmp_path,
    media_address,  # noqa: F811 (the fixture)
    asgi_server,
    new_page,
):
    with contextlib.ExitStack() as stack:
        first = stack.enter_context(run_janus(tmp_path / "first", media_address, 60))
        settings.MEDIA_ENGINE = "janus"
        settings.JANUS_URL = first.url
        settings.JANUS_ADMIN_URL = first.admin_url
        settings.JANUS_ADMIN_SECRET = first.admin_secret
        host = UserFactory(full_name="Hana Host")
        meeting = MeetingFactory(host=host, title="Restart", schedule=schedule_in(days=1))
        link = f"{asgi_server.url}/j/{meeting.join_token}/"
        violations: list[str] = []
        host_page = open_page(new_page, violations)
        start_as_host(host_page, asgi_server.url, host, link)
        ada = open_page(new_page, violations)
        ask_to_join(ada, link, meeting, "Ada Attendee", "ada@example.com")
        host_page.get_by_role("button", name="Admit Ada Attendee (from the notice)").click(
            timeout=15_000
        )
        join_when_let_in(ada)
        ids = {
            s.display_name: str(s.public_id)
            for s in ParticipantSession.objects.filter(occurrence__meeting=meeting)
        }
        pairs = ((ada, ids["Hana Host"]), (host_page, ids["Ada Attendee"]))
        for page, other in pairs:
            wait_until(page, FRAMES_PER_TILE, lambda f, peer=other: f.get(peer, 0) > 0)
        room_id = Occurrence.objects.get(meeting=meeting).janus_room["room_id"]

        opened = {page: page.evaluate("window.__pcs.length") for page, _other in pairs}

        # When Janus restarts
        stack.close()
        restarted = time.monotonic()
        with run_janus(tmp_path / "second", media_address, 60, like=first) as second:
            on_janus.server = second
            # Then both pages start over through our websocket and see each other again,
            # in the same room, recreated
            for page, other in pairs:
                wait_until(
                    page,
                    FRESH_FRAMES,
                    lambda f, peer=other: f.get(peer, 0) > 0,
                    timeout_s=40,
                    arg={"opened": opened[page], "peer": other},
                )
            took = time.monotonic() - restarted
            assert on_janus(lambda control, admin: control.exists(room_id))
            print(f"both pages decode each other again {took:.1f} s after the restart")
            assert took < 40
        assert violations == []
