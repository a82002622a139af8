"""A guest joins before their camera and microphone are ready, in real Chromium.

Their browser answers the device prompt late: getUserMedia resolves 1.5 s after it is
called. The guest clicks "Join now" as soon as the pre-join screen lets them, before any
track exists. Once the devices arrive, the host must see them with the microphone and
camera on (and hear and see them), and the host's Mute button for them must be there and
work: the guest then shows muted everywhere, and the guest's page says the host muted them.
"""

import re

from playwright.sync_api import expect

from meetings.models import ParticipantSession
from tests.e2e.test_room_in_browser import (
    ask_to_join,
    open_page,
    start_as_host,
    wait_for_video_from,
)
from tests.factories import UserFactory
from tests.meetings.factories import MeetingFactory, schedule_in

DEVICE_DELAY_MS = 1_500

# The device prompt answered late: every getUserMedia call resolves DEVICE_DELAY_MS after
# the real one. window.__devices counts the calls made and the streams handed over.
LATE_DEVICES = f"""
(() => {{
  const devices = navigator.mediaDevices;
  if (!devices || !devices.getUserMedia) return;
  const original = devices.getUserMedia.bind(devices);
  window.__devices = {{ asked: 0, arrived: 0 }};
  devices.getUserMedia = async (constraints) => {{
    window.__devices.asked += 1;
    const stream = await original(constraints);
    await new Promise((resolve) => setTimeout(resolve, {DEVICE_DELAY_MS}));
    window.__devices.arrived += 1;
    return stream;
  }};
}})();
"""

# Audio the page receives: packets and energy summed over its inbound audio streams (the
# host receives one: the guest's).
AUDIO_RECEIVED = """
async () => {
  const pcs = (window.__pcs || []).filter((pc) => pc.connectionState !== "closed");
  const pc = pcs[pcs.length - 1];
  let packets = 0;
  let energy = 0;
  if (pc) {
    (await pc.getStats()).forEach((report) => {
      if (report.type === "inbound-rtp" && report.kind === "audio") {
        packets += report.packetsReceived || 0;
        energy += report.totalAudioEnergy || 0;
      }
    });
  }
  return { packets, energy };
}
"""


def wait_for_audio(page, *, timeout_s: float = 20) -> dict:
    """Poll getStats() until the page has received audio with sound in it."""
    deadline = page.evaluate("Date.now()") + timeout_s * 1000
    received: dict = {}
    while page.evaluate("Date.now()") < deadline:
        received = page.evaluate(AUDIO_RECEIVED)
        if received["packets"] > 0 and received["energy"] > 0:
            return received
        page.wait_for_timeout(250)
    raise AssertionError(f"no audio reached {page.url}: {received}")


def test_a_microphone_that_arrives_after_joining_shows_on_and_the_host_can_mute_it(
    asgi_server, new_page
):
    host = UserFactory(full_name="Hana Host")
    meeting = MeetingFactory(host=host, title="Late mic", schedule=schedule_in(days=1))
    link = f"{asgi_server.url}/j/{meeting.join_token}/"
    violations: list[str] = []
    host_page = open_page(new_page, violations)
    start_as_host(host_page, asgi_server.url, host, link)

    # Given a guest whose browser hands over the camera and microphone 1.5 s late
    guest = open_page(new_page, violations)
    guest.add_init_script(LATE_DEVICES)
    ask_to_join(guest, link, meeting, "Gus Guest", "gus@example.com")
    host_page.get_by_role("button", name="Admit Gus Guest (from the notice)").click(timeout=15_000)
    guest.wait_for_url("**/room/", timeout=15_000)

    # When they click "Join now" as early as the page allows, before any device is ready
    guest.get_by_role("button", name="Join now").click(timeout=10_000)
    devices = guest.evaluate("window.__devices")
    assert devices["asked"] >= 1
    assert devices["arrived"] == 0, "the devices arrived before the guest could join"
    expect(guest.locator(".tile-self")).to_be_visible(timeout=10_000)

    ids = {
        s.display_name: str(s.public_id)
        for s in ParticipantSession.objects.filter(occurrence__meeting=meeting)
    }
    guest_id = ids["Gus Guest"]

    # Then, once the devices arrive, the host sees them with microphone and camera on
    guest.wait_for_function("() => window.__devices.arrived >= 1", timeout=10_000)
    guest_tile = host_page.locator(f".tile[data-peer-id='{guest_id}'][data-source='camera']")
    expect(guest_tile).to_have_attribute("aria-label", "Gus Guest", timeout=10_000)
    # ... and that is true: the host decodes their video and receives their sound
    wait_for_video_from(host_page, {guest_id: "Gus Guest"})
    wait_for_audio(host_page)
    # ... and the guest's own controls agree
    mic = guest.locator(".controls [data-action='mic']")
    expect(mic).to_have_attribute("aria-pressed", "true")

    # And the host's people panel shows their microphone on, with a Mute button
    host_page.get_by_role("button", name=re.compile(r"^People")).click()
    person = host_page.locator(f"[data-person='{guest_id}']")
    expect(person.get_by_title("Microphone on")).to_be_visible(timeout=10_000)
    mute = host_page.get_by_role("button", name="Mute Gus Guest")
    expect(mute).to_be_visible()

    # When the host mutes them
    mute.click()

    # Then the guest's page says so, with its microphone off
    expect(guest.get_by_text("The host muted your microphone")).to_be_visible(timeout=10_000)
    expect(mic).to_have_attribute("aria-pressed", "false", timeout=10_000)
    expect(mic).to_have_attribute("title", re.compile(r"^Turn on microphone"))
    expect(guest.locator(".tile-self")).to_have_attribute(
        "aria-label", "Gus Guest (you), microphone off", timeout=10_000
    )

    # And the host sees them muted, with no Mute button any more
    expect(guest_tile).to_have_attribute("aria-label", "Gus Guest, microphone off", timeout=10_000)
    expect(person.get_by_title("Microphone off")).to_be_visible()
    expect(mute).to_have_count(0)
    session = ParticipantSession.objects.get(public_id=guest_id)
    assert session.audio_muted is True

    # When the guest unmutes themselves, the host sees it and can mute them again
    mic.click()
    expect(mic).to_have_attribute("aria-pressed", "true", timeout=10_000)
    expect(guest_tile).to_have_attribute("aria-label", "Gus Guest", timeout=10_000)
    expect(mute).to_be_visible(timeout=10_000)
    assert violations == []
