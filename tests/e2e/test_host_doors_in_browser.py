"""The host's actions from another door than the room, and muting everyone, in Chromium.

- The host removes a guest from the meeting page (a second tab beside the room): the
  guest's room says the host removed them, and their tile goes from the host's room.
- The host ends the meeting from the meeting page while recording: every room says the
  meeting ended, and the recording is stopped and processed until it is ready.
- The host mutes everyone else from the room and doesn't let them unmute: the guest's
  microphone goes off and its button is disabled and says why, until the host allows
  unmuting again; then the guest unmutes and the host sees it.
- A guest who leaves from another tab: the room that was still open says so and stays
  out (a 4001 with ``session_closed``, no reconnect loop).

Each room action is one function on the server (``meetings.room.actions``) whichever
door calls it; these tests check what the people in the room see of it.
"""

import re

from django.urls import reverse
from playwright.sync_api import expect

from meetings.models import Occurrence, ParticipantSession
from recordings.models import Recording
from tests.e2e.test_recording_in_browser import eventually
from tests.e2e.test_room_in_browser import (
    ask_to_join,
    join_when_let_in,
    open_page,
    start_as_host,
    wait_for_video_from,
)
from tests.factories import UserFactory
from tests.meetings.factories import MeetingFactory, schedule_in

PROCESSING_TIMEOUT_S = 60


def participant_ids(meeting) -> dict[str, str]:
    return {
        s.display_name: str(s.public_id)
        for s in ParticipantSession.objects.filter(occurrence__meeting=meeting)
    }


def meeting_with_a_guest(asgi_server, new_page, violations, **meeting_options):
    """A host in the room and Ada let in from the host's notice, both joined."""
    host = UserFactory(full_name="Hana Host")
    meeting = MeetingFactory(
        host=host, title="Team meeting", schedule=schedule_in(days=1), **meeting_options
    )
    link = f"{asgi_server.url}/j/{meeting.join_token}/"
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
    return meeting, host_page, ada, ids


def count_sockets(page) -> list[str]:
    """The websockets the page opens from now on (a reconnect loop would show here)."""
    sockets: list[str] = []
    page.on("websocket", lambda socket: sockets.append(socket.url))
    return sockets


def open_meeting_page(host_page, base_url: str, meeting):
    """The host's meeting page, in a second tab of the host's browser."""
    page = host_page.context.new_page()
    page.goto(base_url + reverse("meetings:detail", kwargs={"public_id": meeting.public_id}))
    expect(page.get_by_role("heading", name=meeting.title, level=1)).to_be_visible()
    return page


def test_the_host_removes_a_guest_from_the_meeting_page(asgi_server, new_page):
    violations: list[str] = []
    meeting, host_page, ada, ids = meeting_with_a_guest(asgi_server, new_page, violations)
    ada_tile = host_page.locator(f".tile[data-peer-id='{ids['Ada Attendee']}']")
    expect(ada_tile).to_have_count(1)
    ada_sockets = count_sockets(ada)

    # When the host removes Ada from the meeting page's "In the meeting" list
    page = open_meeting_page(host_page, asgi_server.url, meeting)
    present = page.locator("#lobby")
    expect(present).to_contain_text("In the meeting")
    present.get_by_role("button", name="Remove Ada Attendee", exact=True).click()
    expect(page.get_by_text("Ada Attendee was removed from the meeting.")).to_be_visible()

    # Then Ada's room says the host removed her, at once
    expect(ada.get_by_role("heading", name="The host removed you")).to_be_visible(timeout=5_000)
    expect(ada.get_by_text("You're no longer in this meeting.")).to_be_visible()

    # And her tile goes from the host's room
    expect(ada_tile).to_have_count(0, timeout=10_000)
    host_page.get_by_role("button", name=re.compile(r"^People")).click()
    expect(host_page.locator(f"[data-person='{ids['Ada Attendee']}']")).to_have_count(0)

    # And she stays out: no reconnecting behind the end screen
    ada.wait_for_timeout(3_000)
    expect(ada.get_by_role("heading", name="The host removed you")).to_be_visible()
    assert ada_sockets == []
    removed = ParticipantSession.objects.get(public_id=ids["Ada Attendee"])
    assert (removed.state, removed.leave_reason) == ("left", "removed")
    assert violations == []


def test_the_host_ends_from_the_meeting_page_while_recording(asgi_server, new_page):
    violations: list[str] = []
    meeting, host_page, ada, _ids = meeting_with_a_guest(
        asgi_server, new_page, violations, recording_allowed=True
    )

    # Given a recording runs, and Ada agreed to be recorded
    record = host_page.get_by_role("button", name="Record meeting", exact=True)
    record.click()
    expect(record).to_have_attribute("aria-pressed", "true", timeout=10_000)
    dialog = ada.get_by_role("dialog", name="Recording started")
    dialog.get_by_role("button", name="Record me", exact=True).click(timeout=10_000)
    banner = ada.get_by_role("region", name="Recording", exact=True)
    expect(banner).to_contain_text("You're being recorded.", timeout=10_000)
    recording = Recording.objects.get(meeting=meeting)
    assert recording.state == Recording.State.RECORDING
    host_page.wait_for_timeout(3_000)  # a few seconds of both of them on the record

    # When the host ends the meeting from the meeting page
    page = open_meeting_page(host_page, asgi_server.url, meeting)
    page.get_by_role("button", name="End meeting for everyone").click()
    expect(page.get_by_text("The meeting has ended for everyone.")).to_be_visible()

    # Then every room says the meeting ended
    for room in (ada, host_page):
        expect(room.get_by_role("heading", name="The meeting has ended")).to_be_visible(
            timeout=5_000
        )
    occurrence = Occurrence.objects.get(pk=recording.occurrence_id)
    assert occurrence.status == Occurrence.Status.ENDED

    # And the recording stops and is processed until it is ready
    def state():
        recording.refresh_from_db()
        return recording.state

    eventually(lambda: state() != Recording.State.RECORDING, page, what="the recording to stop")
    eventually(
        lambda: state() in (Recording.State.READY, Recording.State.FAILED),
        page,
        timeout_s=PROCESSING_TIMEOUT_S,
        what="the recording to be processed",
    )
    assert recording.state == Recording.State.READY, recording.failure_reason
    assert recording.stopped_at is not None
    assert violations == []


def test_the_host_mutes_everyone_else_and_then_allows_unmuting(asgi_server, new_page):
    violations: list[str] = []
    _meeting, host_page, ada, ids = meeting_with_a_guest(asgi_server, new_page, violations)
    ada_id = ids["Ada Attendee"]
    ada_tile = host_page.locator(f".tile[data-peer-id='{ada_id}'][data-source='camera']")
    expect(ada_tile).to_have_attribute("aria-label", "Ada Attendee", timeout=10_000)
    mic = ada.locator(".controls [data-action='mic']")
    expect(mic).to_have_attribute("aria-pressed", "true")

    # When the host mutes everyone else from the room, ticking "Don't let them unmute"
    host_page.get_by_role("button", name=re.compile(r"^People")).click()
    host_page.get_by_label("Don't let them unmute").check()
    host_page.get_by_role("button", name="Mute everyone else").click()

    # Then Ada's microphone is off, and its button is disabled and says why
    expect(ada.get_by_text("The host muted everyone and turned off unmuting.")).to_be_visible(
        timeout=10_000
    )
    expect(mic).to_have_attribute("aria-pressed", "false")
    expect(mic).to_be_disabled()
    expect(mic).to_have_attribute("title", re.compile("the host turned off unmuting"))
    expect(mic).to_have_accessible_description("The host turned off unmuting")
    flag = ada.locator("[data-unmute-flag]")
    expect(flag).to_be_visible()
    expect(flag).to_have_text("The host turned off unmuting")
    expect(ada.locator(".tile-self")).to_have_attribute(
        "aria-label", "Ada Attendee (you), microphone off", timeout=10_000
    )
    # ... the host sees her muted, and can allow unmuting; the host's own mic is free
    expect(ada_tile).to_have_attribute("aria-label", "Ada Attendee, microphone off")
    expect(host_page.get_by_role("button", name="Mute Ada Attendee")).to_have_count(0)
    allow = host_page.get_by_role("button", name="Allow unmuting")
    expect(allow).to_be_visible()
    expect(host_page.locator(".controls [data-action='mic']")).to_be_enabled()
    expect(host_page.locator(".controls [data-action='mic']")).to_have_attribute(
        "aria-pressed", "true"
    )
    # ... and so does the database
    eventually(
        lambda: ParticipantSession.objects.get(public_id=ada_id).audio_muted,
        ada,
        what="Ada muted in the database",
    )
    assert Occurrence.objects.get(sessions__public_id=ada_id).unmute_locked is True

    # When Ada tries to unmute anyway (a click, the keyboard shortcut), she is told why
    mic.click(force=True)
    expect(ada.get_by_role("alert").filter(has_text="The host turned off unmuting")).to_be_visible()
    mic.focus()
    ada.keyboard.press("Control+d")
    ada.wait_for_timeout(1_000)
    expect(mic).to_have_attribute("aria-pressed", "false")
    assert ParticipantSession.objects.get(public_id=ada_id).audio_muted is True
    expect(ada_tile).to_have_attribute("aria-label", "Ada Attendee, microphone off")

    # When the host allows unmuting again
    allow.click()
    expect(allow).to_be_hidden(timeout=10_000)

    # Then Ada can unmute, and the host sees and hears of it
    expect(ada.get_by_text("The host allowed unmuting")).to_be_visible(timeout=10_000)
    expect(mic).to_be_enabled()
    expect(flag).to_be_hidden()
    mic.click()
    expect(mic).to_have_attribute("aria-pressed", "true", timeout=10_000)
    expect(ada_tile).to_have_attribute("aria-label", "Ada Attendee", timeout=10_000)
    expect(host_page.get_by_role("button", name="Mute Ada Attendee")).to_be_visible()
    eventually(
        lambda: not ParticipantSession.objects.get(public_id=ada_id).audio_muted,
        ada,
        what="Ada unmuted in the database",
    )
    assert violations == []


def test_a_guest_who_leaves_from_another_tab_sees_it_in_the_room(asgi_server, new_page):
    violations: list[str] = []
    _meeting, host_page, ada, ids = meeting_with_a_guest(asgi_server, new_page, violations)
    ada_sockets = count_sockets(ada)

    # When Ada opens the meeting in another tab and leaves from its pre-join screen
    other = ada.context.new_page()
    other.goto(ada.url.split("?")[0])
    other.get_by_role("button", name="Leave without joining").click()
    other.wait_for_load_state()

    # Then the room still open in her first tab says she left, and doesn't reconnect
    expect(ada.get_by_role("heading", name="You're out of the meeting")).to_be_visible(
        timeout=10_000
    )
    expect(ada.locator("[data-over-message]")).to_have_text("You left this meeting.")
    expect(ada.get_by_role("link", name="Join again")).to_be_visible()
    ada.wait_for_timeout(3_000)
    expect(ada.get_by_role("heading", name="You're out of the meeting")).to_be_visible()
    assert ada_sockets == []

    # And the host's room no longer shows her
    expect(host_page.locator(f".tile[data-peer-id='{ids['Ada Attendee']}']")).to_have_count(
        0, timeout=10_000
    )
    assert violations == []
