"""Recording a meeting, in real Chromium pages with real websockets and WebRTC.

- The host records; everyone sees the banner; an attendee who was already in is asked,
  agrees ("Record me") and is told so; a reconnect does not ask again; the host stops and
  the banner goes.
- A guest who joins while a recording runs is asked before anything is published, joins
  with camera and microphone off, and publishes nothing (the peer connection's senders
  carry no track); turning the microphone on later still doesn't record them.
- Where the meeting doesn't allow recording, the host's Record button is disabled and
  says why.

The consent receipts in the database are the server's side of each choice.
"""

import re
import time

from playwright.sync_api import expect

from meetings.models import ParticipantSession
from recordings.models import ConsentReceipt, Recording
from tests.e2e.test_room_in_browser import (
    ask_to_join,
    join_when_let_in,
    open_page,
    start_as_host,
    wait_for_video_from,
)
from tests.factories import UserFactory
from tests.meetings.factories import MeetingFactory, schedule_in

# The kinds of the tracks the page's live peer connection sends (window.__pcs comes from
# open_page's init script).
SENDING = """
() => (window.__pcs || [])
  .filter((pc) => pc.signalingState !== "closed")
  .flatMap((pc) => pc.getSenders().filter((s) => s.track).map((s) => s.track.kind))
  .sort()
"""


def banner(page):
    return page.get_by_role("region", name="Recording", exact=True)


def record_button(page):
    return page.get_by_role("button", name="Record meeting", exact=True)


def participant_ids(meeting) -> dict[str, str]:
    return {
        s.display_name: str(s.public_id)
        for s in ParticipantSession.objects.filter(occurrence__meeting=meeting)
    }


def decisions_of(participant_id: str) -> list[tuple[str, str]]:
    return list(
        ConsentReceipt.objects.filter(participant_id=participant_id)
        .order_by("decided_at", "pk")
        .values_list("decision", "context")
    )


def eventually(check, page, *, timeout_s: float = 10, what: str = "condition"):
    """Poll a database check while the page keeps running."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}: last {value!r}")
        page.wait_for_timeout(200)


def test_the_host_records_and_an_attendee_agrees_to_be_recorded(asgi_server, new_page):
    host = UserFactory(full_name="Hana Host")
    meeting = MeetingFactory(
        host=host, title="Design review", schedule=schedule_in(days=1), recording_allowed=True
    )
    link = f"{asgi_server.url}/j/{meeting.join_token}/"
    violations: list[str] = []
    host_page = open_page(new_page, violations, viewport={"width": 1280, "height": 800})
    start_as_host(host_page, asgi_server.url, host, link)
    ada = open_page(new_page, violations, viewport={"width": 1024, "height": 700})
    ask_to_join(ada, link, meeting, "Ada Attendee", "ada@example.com")
    host_page.get_by_role("button", name="Admit Ada Attendee (from the notice)").click(
        timeout=15_000
    )
    join_when_let_in(ada)
    ids = participant_ids(meeting)
    wait_for_video_from(host_page, {ids["Ada Attendee"]: "Ada Attendee"})
    expect(record_button(ada)).to_have_count(0)  # hosts only
    expect(banner(ada)).to_be_hidden()

    # When the host starts recording
    record = record_button(host_page)
    expect(record).to_have_attribute("aria-pressed", "false")
    record.click()

    # Then everyone sees the banner; the host is recorded without being asked
    expect(record).to_have_attribute("aria-pressed", "true", timeout=10_000)
    for page in (host_page, ada):
        expect(banner(page)).to_contain_text("This meeting is being recorded", timeout=10_000)
    expect(banner(host_page)).to_contain_text("You're being recorded.")
    expect(host_page.get_by_role("dialog")).to_have_count(0)

    # And Ada is asked, and isn't recorded until she answers
    dialog = ada.get_by_role("dialog", name="Recording started")
    expect(dialog).to_be_visible(timeout=10_000)
    expect(dialog).to_contain_text(
        "The host started recording. Your video, audio and shared screen will be recorded "
        "only if you agree."
    )
    expect(dialog.get_by_role("button", name="Don't record me")).to_be_visible()
    assert ada.evaluate("document.activeElement.closest('dialog') !== null")
    expect(banner(ada)).to_contain_text("You're not being recorded.")

    # When she chooses "Record me"
    dialog.get_by_role("button", name="Record me", exact=True).click()

    # Then the banner says she's recorded, and offers to stop that
    expect(dialog).to_be_hidden()
    expect(banner(ada)).to_contain_text("You're being recorded.")
    expect(banner(ada).get_by_role("button", name="Stop recording me")).to_be_visible()
    eventually(
        lambda: decisions_of(ids["Ada Attendee"]) == [("accepted", "in_meeting")],
        ada,
        what="Ada's consent receipt",
    )
    assert decisions_of(ids["Hana Host"]) == [("accepted", "started")]

    # When her network drops and comes back, she isn't asked again
    ada.context.set_offline(True)
    ada.wait_for_timeout(3_000)
    ada.context.set_offline(False)
    expect(ada.locator("[data-room]")).to_have_attribute("data-signalling", "open", timeout=10_000)
    ada.wait_for_timeout(1_000)
    expect(ada.get_by_role("dialog")).to_have_count(0)
    expect(banner(ada)).to_contain_text("You're being recorded.")

    # When the host stops recording, the banner goes for everyone
    record.click()
    expect(record).to_have_attribute("aria-pressed", "false", timeout=15_000)
    for page in (host_page, ada):
        expect(banner(page)).to_be_hidden(timeout=15_000)
        expect(page.get_by_text("Recording stopped.")).to_be_visible()
    eventually(
        lambda: (
            not Recording.objects.filter(meeting=meeting, state=Recording.State.RECORDING).exists()
        ),
        host_page,
        what="the recording to stop",
    )
    assert Recording.objects.filter(meeting=meeting).count() == 1
    assert violations == []


def test_a_guest_joining_a_recorded_meeting_can_join_unrecorded_with_nothing_published(
    asgi_server, new_page
):
    host = UserFactory(full_name="Hana Host")
    meeting = MeetingFactory(
        host=host, title="Town hall", schedule=schedule_in(days=1), recording_allowed=True
    )
    link = f"{asgi_server.url}/j/{meeting.join_token}/"
    violations: list[str] = []
    host_page = open_page(new_page, violations)
    start_as_host(host_page, asgi_server.url, host, link)
    record_button(host_page).click()
    expect(banner(host_page)).to_contain_text("You're being recorded.", timeout=10_000)

    # Given a guest let in while the recording runs
    gus = open_page(new_page, violations)
    ask_to_join(gus, link, meeting, "Gus Guest", "gus@example.com")
    host_page.get_by_role("button", name="Admit Gus Guest (from the notice)").click(timeout=15_000)
    join_when_let_in(gus)

    # Then they are asked before their camera and microphone are published
    dialog = gus.get_by_role("dialog", name="This meeting is being recorded")
    expect(dialog).to_be_visible(timeout=10_000)
    expect(dialog).to_contain_text(
        "Your video, audio and shared screen will be recorded only if you agree."
    )
    expect(dialog.get_by_role("button", name="Record me and join")).to_be_visible()
    expect(banner(gus)).to_contain_text("You're not being recorded.")
    room = gus.locator("[data-room]")
    expect(room).to_have_attribute("data-media", "connected", timeout=15_000)
    assert gus.evaluate(SENDING) == []

    # When they choose to join with camera and microphone off
    dialog.get_by_role("button", name="Join with camera and microphone off").click()

    # Then they are in the meeting, see the host, and publish nothing
    expect(dialog).to_be_hidden()
    for control in ("mic", "camera"):
        expect(gus.locator(f".controls [data-action='{control}']")).to_have_attribute(
            "aria-pressed", "false"
        )
    expect(banner(gus)).to_contain_text("You're not being recorded.")
    expect(banner(gus).get_by_role("button", name="Record me", exact=True)).to_be_visible()
    ids = participant_ids(meeting)
    wait_for_video_from(gus, {ids["Hana Host"]: "Hana Host"})
    assert gus.evaluate(SENDING) == []
    expect(host_page.locator(f".tile[data-peer-id='{ids['Gus Guest']}']")).to_have_attribute(
        "aria-label", "Gus Guest, microphone off, camera off", timeout=10_000
    )
    eventually(
        lambda: decisions_of(ids["Gus Guest"]) == [("declined", "on_join")],
        gus,
        what="Gus's consent receipt",
    )

    # When they turn their microphone on later, they are heard but still not recorded
    mic = gus.locator(".controls [data-action='mic']")
    mic.click()
    expect(mic).to_have_attribute("aria-pressed", "true")
    gus.wait_for_function(
        "() => (window.__pcs || []).some((pc) => pc.signalingState !== 'closed' && "
        "pc.getSenders().some((sender) => sender.track && sender.track.kind === 'audio'))",
        timeout=10_000,
    )
    expect(banner(gus)).to_contain_text("You're not being recorded.")
    assert decisions_of(ids["Gus Guest"]) == [("declined", "on_join")]

    # The host stops; processing (eager here) is over before the next test's pages load.
    record_button(host_page).click()
    expect(banner(host_page)).to_be_hidden(timeout=30_000)
    assert not Recording.objects.filter(
        meeting=meeting, state__in=[Recording.State.RECORDING, Recording.State.PROCESSING]
    ).exists()
    assert violations == []


def test_where_recording_is_not_allowed_the_record_button_says_why(asgi_server, new_page):
    host = UserFactory(full_name="Hana Host")
    meeting = MeetingFactory(host=host, title="Weekly sync", schedule=schedule_in(days=1))
    link = f"{asgi_server.url}/j/{meeting.join_token}/"
    violations: list[str] = []
    host_page = open_page(new_page, violations)
    start_as_host(host_page, asgi_server.url, host, link)

    record = record_button(host_page)
    expect(record).to_be_disabled(timeout=10_000)
    expect(record).to_have_accessible_description(re.compile(r"turned off for this meeting"))
    record.focus()
    expect(host_page.locator("#rec-control-note")).to_be_visible()
    expect(host_page.locator("#rec-control-note")).to_contain_text("turned off for this meeting")
    host_page.get_by_role("button", name=re.compile(r"^People")).click()
    expect(host_page.get_by_role("button", name="Start recording")).to_be_disabled()
    expect(host_page.locator("#rec-unavailable-note")).to_contain_text(
        "turned off for this meeting"
    )
    assert not Recording.objects.filter(meeting=meeting).exists()
    assert violations == []
