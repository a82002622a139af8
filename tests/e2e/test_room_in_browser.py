"""The meeting room in real Chromium pages, with real websockets and real WebRTC.

- A host and two attendees open the meeting by its link; the host lets them in from the
  room's people panel; every page decodes the other two's video; a chat message reaches
  everyone; the host removes one attendee; the attendance report then shows all three.
- An attendee's network drops and the room comes back by itself (a fresh peer
  connection, media both ways, chat); the host presents, mutes her, locks and ends.
- Without camera and microphone (blocked, missing) a guest still joins and sees the
  host; a browser without WebRTC is told why it cannot join.

Proof that media flows is getStats() inbound-rtp framesDecoded > 0 on the track each
tile shows. The server is uvicorn in a thread (the asgi_server fixture).
"""

import json
import re
from datetime import timedelta

from django.urls import reverse
from playwright.sync_api import expect

from meetings import attendance
from meetings.models import ParticipantSession
from meetings.room.media_gateway import get_gateway
from tests.factories import PASSWORD, UserFactory
from tests.meetings.factories import MeetingFactory, schedule_in

# Keeps the page's peer connections reachable for getStats(); the client has no test hook.
CAPTURE_PEER_CONNECTIONS = """
(() => {
  const Native = window.RTCPeerConnection;
  if (!Native) return;
  window.__pcs = [];
  window.RTCPeerConnection = class extends Native {
    constructor(...args) { super(...args); window.__pcs.push(this); }
  };
})();
"""

# For each remote camera tile: frames decoded on the inbound-rtp stream of the very track
# that tile shows (so the mid -> participant mapping is checked too).
FRAMES_PER_TILE = """
async () => {
  const pcs = (window.__pcs || []).filter((pc) => pc.connectionState !== "closed");
  const pc = pcs[pcs.length - 1];
  const decoded = new Map();
  if (pc) {
    (await pc.getStats()).forEach((report) => {
      if (report.type === "inbound-rtp" && report.kind === "video") {
        decoded.set(report.trackIdentifier, report.framesDecoded || 0);
      }
    });
  }
  const tiles = {};
  for (const tile of document.querySelectorAll(".tile[data-source='camera']:not(.tile-self)")) {
    const video = tile.querySelector("video");
    const track = video && video.srcObject ? video.srcObject.getVideoTracks()[0] : null;
    tiles[tile.dataset.peerId] = track ? decoded.get(track.id) || 0 : 0;
  }
  return tiles;
}
"""


# What the page's connection sends and receives, for the failure message.
RECEIVING = r"""
async () => {
  const pcs = (window.__pcs || []).filter((pc) => pc.connectionState !== "closed");
  const pc = pcs[pcs.length - 1];
  if (!pc) return "no peer connection";
  const rows = [];
  (await pc.getStats()).forEach((r) => {
    if (r.type === "outbound-rtp") {
      rows.push(`sending ${r.kind} mid=${r.mid} packets=${r.packetsSent} ` +
        `frames=${r.framesEncoded}`);
    }
    if (r.type === "inbound-rtp") {
      rows.push(`${r.kind} mid=${r.mid} track=${r.trackIdentifier} ` +
        `packets=${r.packetsReceived} frames=${r.framesReceived}/${r.framesDecoded} ` +
        `keyframes=${r.keyFramesDecoded} pli=${r.pliCount}`);
    }
  });
  const transceivers = pc.getTransceivers().map((t) =>
    `mid=${t.mid} ${t.currentDirection} track=${t.receiver.track && t.receiver.track.id}`);
  const lines = [`${pc.connectionState} ${pc.signalingState}`, ...rows, ...transceivers];
  return lines.join("\n");
}
"""


# The featured screen-share tile shows a track with decoded frames.
SCREEN_DECODED = """
async () => {
  const video = document.querySelector("[data-featured] .tile-screen video");
  const track = video && video.srcObject ? video.srcObject.getVideoTracks()[0] : null;
  const pc = (window.__pcs || []).filter((p) => p.connectionState !== "closed").pop();
  if (!track || !pc) return false;
  let decoded = 0;
  (await pc.getStats()).forEach((report) => {
    if (report.type === "inbound-rtp" && report.trackIdentifier === track.id) {
      decoded = report.framesDecoded || 0;
    }
  });
  return decoded > 0;
}
"""


def open_page(new_page, csp_violations, **options):
    page = new_page(**options)
    page.add_init_script(CAPTURE_PEER_CONNECTIONS)
    page.on(
        "console",
        lambda msg: "Content Security Policy" in msg.text and csp_violations.append(msg.text),
    )
    return page


def wait_for_video_from(page, people: dict[str, str], *, timeout_s: float = 30) -> dict:
    """Poll getStats() until every one of ``people`` (id -> name) has decoded frames."""
    deadline = page.evaluate("Date.now()") + timeout_s * 1000
    frames: dict = {}
    while page.evaluate("Date.now()") < deadline:
        frames = page.evaluate(FRAMES_PER_TILE)
        if set(frames) == set(people) and all(count > 0 for count in frames.values()):
            return frames
        page.wait_for_timeout(250)
    rooms = getattr(get_gateway(), "rooms", dict)()
    server = {name: room.stats() for name, room in rooms.items()}
    raise AssertionError(
        f"no video from {people} on {page.url}: frames per tile {frames}\n"
        f"{page.evaluate(RECEIVING)}\nmedia server: {json.dumps(server, indent=1)}"
    )


def start_as_host(page, base_url: str, host, link: str) -> None:
    """Sign in, open the meeting's link, start it and join from the pre-join screen."""
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Email").fill(host.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/meetings/", timeout=10_000)
    page.goto(link)
    page.get_by_role("button", name="Start the meeting").click()
    page.wait_for_url("**/room/", timeout=10_000)
    page.get_by_role("button", name="Join now").click(timeout=10_000)
    expect(page.locator(".tile-self")).to_be_visible(timeout=10_000)


def ask_to_join(page, link: str, meeting, name: str, email: str) -> None:
    page.goto(link)
    page.get_by_label("Your name").fill(name)
    page.get_by_label("Your email").fill(email)
    page.get_by_label("Meeting passcode").fill(meeting.passcode)
    page.get_by_role("button", name="Ask to join").click()
    page.wait_for_url("**/lobby/", timeout=10_000)


def join_when_let_in(page) -> None:
    """The lobby page moves on to the room by itself; join from the pre-join screen."""
    page.wait_for_url("**/room/", timeout=15_000)
    expect(page.get_by_role("heading", name="Ready to join?")).to_be_visible(timeout=10_000)
    page.get_by_role("button", name="Join now").click(timeout=10_000)


def host_and_two_admitted_attendees(asgi_server, new_page, violations, meeting):
    """The host starts `meeting` from its link, Ada and Ben ask to join by the same link,
    the host admits both from the people panel and they join: each one's page, and the
    id of each one's participant session, by name."""
    link = f"{asgi_server.url}/j/{meeting.join_token}/"
    host_page = open_page(new_page, violations, viewport={"width": 1280, "height": 800})
    start_as_host(host_page, asgi_server.url, meeting.host, link)
    attendees = {}
    for name, email in (("Ada Attendee", "ada@example.com"), ("Ben Attendee", "ben@example.com")):
        page = open_page(new_page, violations, viewport={"width": 1024, "height": 700})
        ask_to_join(page, link, meeting, name, email)
        attendees[name] = page
    host_page.get_by_role("button", name=re.compile(r"^People")).first.click()
    for name in attendees:
        admit = host_page.get_by_role("button", name=f"Admit {name}", exact=True)
        admit.click(timeout=15_000)
        expect(admit).to_have_count(0, timeout=10_000)
    for page in attendees.values():
        join_when_let_in(page)
    sessions = {
        s.display_name: str(s.public_id)
        for s in ParticipantSession.objects.filter(occurrence__meeting=meeting)
    }
    return {meeting.host.full_name: host_page, **attendees}, sessions


def test_host_and_two_attendees_meet_chat_and_one_is_removed(asgi_server, new_page):
    host = UserFactory(full_name="Hana Host")
    meeting = MeetingFactory(host=host, title="Design review", schedule=schedule_in(days=1))
    violations: list[str] = []

    # Given the host starts the meeting from its link, two attendees ask to join by the
    # same link, and the host admits them from the lobby queue in the people panel
    pages, sessions = host_and_two_admitted_attendees(asgi_server, new_page, violations, meeting)
    attendees = {name: page for name, page in pages.items() if name != "Hana Host"}
    host_page = pages["Hana Host"]
    assert set(sessions) == {"Hana Host", "Ada Attendee", "Ben Attendee"}

    # And every page decodes the other two's video
    for name, page in pages.items():
        others = {sessions[other]: other for other in pages if other != name}
        frames = wait_for_video_from(page, others)
        assert all(count > 0 for count in frames.values())
        for other in others.values():
            expect(page.locator(".tile", has_text=other)).to_be_visible(timeout=5_000)

    # When Ada sends a chat message, everyone sees it with her name
    ada = attendees["Ada Attendee"]
    ada.get_by_role("button", name=re.compile(r"^Chat")).click()
    ada.get_by_label("Message to everyone").fill("Hello from <b>Ada</b>")
    ada.get_by_label("Message to everyone").press("Enter")
    for name, page in pages.items():
        if name != "Ada Attendee":
            page.get_by_role("button", name=re.compile(r"^Chat")).click()
        message = page.locator(".chat-message", has_text="Hello from <b>Ada</b>")
        expect(message).to_be_visible(timeout=10_000)
        expect(message.locator("b")).to_have_count(0)  # text, never markup
    expect(host_page.locator(".chat-from", has_text="Ada Attendee")).to_be_visible()

    # When the host removes Ben
    host_page.get_by_role("button", name=re.compile(r"^People")).click()
    host_page.get_by_role("button", name="Remove Ben Attendee").click(timeout=10_000)
    host_page.get_by_role("dialog").get_by_role("button", name="Remove").click(timeout=5_000)

    # Then Ben's page says so, and the others no longer see him
    ben = attendees["Ben Attendee"]
    expect(ben.get_by_role("heading", name="The host removed you")).to_be_visible(timeout=10_000)
    for page in (host_page, ada):
        expect(page.locator(f".tile[data-peer-id='{sessions['Ben Attendee']}']")).to_have_count(
            0, timeout=10_000
        )
    removed = ParticipantSession.objects.get(public_id=sessions["Ben Attendee"])
    assert (removed.state, removed.leave_reason) == ("left", "removed")

    # And the attendance report shows the three of them with plausible durations
    occurrence = removed.occurrence
    host_page.goto(
        asgi_server.url
        + reverse(
            "meetings:report",
            kwargs={"public_id": meeting.public_id, "occurrence_id": occurrence.public_id},
        )
    )
    rows = host_page.locator("table tbody tr")
    expect(rows).to_have_count(3, timeout=10_000)
    for name in sessions:
        expect(rows.filter(has_text=name)).to_have_count(1)
    expect(rows.filter(has_text="Ben Attendee")).not_to_contain_text("Still here")
    expect(rows.filter(has_text="Ada Attendee")).to_contain_text("Still here")
    people = {row.display_name: row for row in attendance.attendance_for(occurrence)}
    assert set(people) == set(sessions)
    for row in people.values():
        assert timedelta(seconds=1) <= timedelta(seconds=row.seconds) <= timedelta(minutes=5)
    assert people["Hana Host"].seconds >= people["Ben Attendee"].seconds
    assert violations == []


def test_after_a_network_blip_the_room_comes_back_and_the_host_runs_it(asgi_server, new_page):
    host = UserFactory(full_name="Hana Host")
    meeting = MeetingFactory(host=host, title="Weekly sync", schedule=schedule_in(days=1))
    link = f"{asgi_server.url}/j/{meeting.join_token}/"
    violations: list[str] = []
    host_page = open_page(new_page, violations)
    start_as_host(host_page, asgi_server.url, host, link)
    ada = open_page(new_page, violations, viewport={"width": 375, "height": 740})
    ask_to_join(ada, link, meeting, "Ada Attendee", "ada@example.com")
    host_page.get_by_role("button", name="Admit Ada Attendee (from the notice)").click(
        timeout=15_000
    )
    join_when_let_in(ada)
    ids = {
        s.display_name: str(s.public_id)
        for s in ParticipantSession.objects.filter(occurrence__meeting=meeting)
    }
    wait_for_video_from(ada, {ids["Hana Host"]: "Hana Host"})
    wait_for_video_from(host_page, {ids["Ada Attendee"]: "Ada Attendee"})
    room = ada.locator("[data-room]")

    # When Ada's network drops for a few seconds
    ada.context.set_offline(True)
    expect(ada.get_by_role("status").filter(has_text="offline")).to_be_visible(timeout=5_000)
    ada.wait_for_timeout(3_000)
    ada.context.set_offline(False)

    # Then her page reconnects by itself, with a fresh peer connection, and media flows
    # both ways again
    expect(room).to_have_attribute("data-signalling", "open", timeout=10_000)
    expect(room).to_have_attribute("data-media", "connected", timeout=15_000)
    assert ada.evaluate("window.__pcs.length") == 2
    wait_for_video_from(ada, {ids["Hana Host"]: "Hana Host"})
    wait_for_video_from(host_page, {ids["Ada Attendee"]: "Ada Attendee"})
    host_page.get_by_role("button", name=re.compile(r"^Chat")).click()
    host_page.get_by_label("Message to everyone").fill("Welcome back")
    host_page.get_by_label("Message to everyone").press("Enter")
    expect(ada.get_by_role("status").filter(has_text="Welcome back")).to_be_visible(timeout=10_000)

    # When the host shares their screen, Ada sees it large, and it goes when they stop
    host_page.get_by_role("button", name="Share screen").click()
    screen = ada.locator(f"[data-featured] .tile[data-tile='{ids['Hana Host']}:screen']")
    expect(screen).to_be_visible(timeout=10_000)
    expect(screen).to_contain_text("Hana Host is presenting")
    ada.wait_for_function(SCREEN_DECODED, timeout=15_000, polling=250)
    host_page.get_by_role("button", name="Stop presenting").first.click()
    expect(screen).to_have_count(0, timeout=10_000)

    # When the host mutes her and locks the room
    host_page.get_by_role("button", name=re.compile(r"^People")).click()
    host_page.get_by_role("button", name="Mute Ada Attendee").click()
    mic = ada.locator(".controls [data-action='mic']")
    expect(mic).to_have_attribute("aria-pressed", "false", timeout=10_000)
    expect(mic).to_have_attribute("title", re.compile(r"^Turn on microphone"))
    expect(ada.get_by_text("The host muted your microphone")).to_be_visible()
    host_page.get_by_role("button", name="Lock the room").click()
    expect(ada.get_by_text("Locked", exact=True)).to_be_visible(timeout=10_000)

    # And ends the meeting for everyone
    host_page.get_by_role("button", name="End meeting for all").click()
    host_page.get_by_role("dialog").get_by_role("button", name="End meeting for all").click()
    for page in (ada, host_page):
        expect(page.get_by_role("heading", name="The meeting has ended")).to_be_visible(
            timeout=10_000
        )
    assert violations == []


DENY_CAMERA_AND_MIC = """
navigator.mediaDevices.getUserMedia = async () => {
  throw new DOMException("Permission denied", "NotAllowedError");
};
"""
NO_CAMERA_OR_MIC = """
navigator.mediaDevices.getUserMedia = async () => {
  throw new DOMException("Requested device not found", "NotFoundError");
};
"""
NO_WEBRTC = "delete window.RTCPeerConnection;"


def test_without_camera_and_mic_a_guest_still_joins_and_sees_everyone(asgi_server, new_page):
    host = UserFactory(full_name="Hana Host")
    meeting = MeetingFactory(host=host, title="Town hall", schedule=schedule_in(days=1))
    link = f"{asgi_server.url}/j/{meeting.join_token}/"
    violations: list[str] = []
    host_page = open_page(new_page, violations)
    start_as_host(host_page, asgi_server.url, host, link)

    # Given a guest whose browser blocks the camera and microphone
    guest = open_page(new_page, violations)
    guest.add_init_script(DENY_CAMERA_AND_MIC)
    ask_to_join(guest, link, meeting, "Gus Guest", "gus@example.com")
    host_page.get_by_role("button", name="Admit Gus Guest (from the notice)").click(timeout=15_000)
    guest.wait_for_url("**/room/", timeout=15_000)

    # Then the pre-join screen says what is wrong and how to fix it, with both off
    alert = guest.get_by_role("alert").filter(has_text="blocking the camera and microphone")
    expect(alert).to_be_visible(timeout=10_000)
    expect(alert).to_contain_text("You can still join")
    for control in ("mic", "camera"):
        expect(guest.locator(f".preview-toggles [data-action='{control}']")).to_have_attribute(
            "aria-pressed", "false"
        )

    # When they join anyway, they see and hear the host, and the host sees them muted
    guest.get_by_role("button", name="Join now").click()
    ids = {
        s.display_name: str(s.public_id)
        for s in ParticipantSession.objects.filter(occurrence__meeting=meeting)
    }
    wait_for_video_from(guest, {ids["Hana Host"]: "Hana Host"})
    guest_tile = host_page.locator(f".tile[data-peer-id='{ids['Gus Guest']}']")
    expect(guest_tile).to_have_attribute(
        "aria-label", "Gus Guest, microphone off, camera off", timeout=10_000
    )

    # A browser without a camera or microphone at all gets its own message
    second = guest.context.new_page()
    second.add_init_script(NO_CAMERA_OR_MIC)
    second.goto(guest.url)
    expect(second.get_by_role("alert")).to_contain_text(
        "No camera and microphone found", timeout=10_000
    )
    second.close()

    # And one without WebRTC cannot join, and says why
    old = guest.context.new_page()
    old.add_init_script(NO_WEBRTC)
    old.goto(guest.url)
    expect(old.get_by_role("alert").filter(has_text="no WebRTC")).to_be_visible(timeout=10_000)
    expect(old.get_by_role("button", name="Join now")).to_be_disabled()
    old.close()
    assert violations == []
