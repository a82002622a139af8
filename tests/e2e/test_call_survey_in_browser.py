"""The room's end screen in Chromium: after leaving, "How was the call?" with the call's
own getStats figures; the answer is stored once, with the browser's family and major
version only; a second answer is refused; the host's Skip stores nothing."""

import re

from playwright.sync_api import expect

from accounts.models import UiPreferences
from feedback.models import CallRating
from meetings.models import ParticipantSession
from tests.e2e.test_room_in_browser import (
    ask_to_join,
    join_when_let_in,
    open_page,
    start_as_host,
    wait_for_video_from,
)
from tests.factories import UserFactory
from tests.meetings.factories import MeetingFactory, schedule_in

SECOND_ANSWER = """
async () => {
  const root = document.querySelector("[data-room]");
  const csrf = root.querySelector("[data-leave-form] [name=csrfmiddlewaretoken]").value;
  const response = await fetch(root.dataset.surveyUrl, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
    body: JSON.stringify({ token: root.dataset.surveyToken, stars: 1 }),
  });
  return [response.status, (await response.json()).error];
}
"""


def test_leave_answer_the_survey_once_and_skip_as_host(asgi_server, new_page):
    host = UserFactory(full_name="Hana Host")
    meeting = MeetingFactory(host=host, title="Survey call", schedule=schedule_in(days=1))
    link = f"{asgi_server.url}/j/{meeting.join_token}/"
    violations: list[str] = []
    host_page = open_page(new_page, violations)
    start_as_host(host_page, asgi_server.url, host, link)
    guest_page = open_page(new_page, violations)
    ask_to_join(guest_page, link, meeting, "Ada Attendee", "ada@example.com")
    host_page.get_by_role("button", name=re.compile(r"^People")).click()
    host_page.get_by_role("button", name="Admit Ada Attendee", exact=True).click(timeout=15_000)
    join_when_let_in(guest_page)
    host_id = str(
        ParticipantSession.objects.get(occurrence__meeting=meeting, is_host=True).public_id
    )
    wait_for_video_from(guest_page, {host_id: "Hana Host"})
    guest_page.wait_for_timeout(2_500)  # at least one more getStats sample of the call

    # When the guest leaves, the end screen says so, offers to rejoin and asks
    guest_page.get_by_role("button", name="Leave the meeting").click()
    expect(guest_page.get_by_role("heading", name="You left the meeting")).to_be_visible()
    expect(guest_page.get_by_role("link", name="Join again")).to_be_visible()
    expect(guest_page.get_by_role("link", name="Go to the home page")).to_be_visible()
    expect(guest_page.get_by_role("heading", name="How was the call?")).to_be_visible()
    guest_page.locator("label[for='survey-star-2']").click()
    guest_page.get_by_label("Connection").check()
    guest_page.get_by_label("Comment (optional)").fill("The picture froze twice")
    guest_page.get_by_role("button", name="Send").click()
    expect(guest_page.get_by_text("Thank you: your answer helps us")).to_be_visible()

    # Then the answer is stored with the sitting, the browser and the call's figures
    rating = CallRating.objects.get()
    major = int(guest_page.evaluate("navigator.userAgent").split("Chrome/")[1].split(".")[0])
    assert rating.participant.display_name == "Ada Attendee"
    assert (rating.stars, rating.reasons, rating.comment) == (
        2,
        ["connection"],
        "The picture froze twice",
    )
    assert (rating.browser_family, rating.browser_major) == ("Chrome", major)
    assert rating.used_turn is False  # no TURN server is configured here
    assert rating.rtt_ms is not None and 0 <= rating.rtt_ms < 1000
    assert rating.packet_loss_pct is not None and 0 <= rating.packet_loss_pct <= 100
    assert rating.media_worker == "local"

    # And a second answer for the same sitting is refused
    assert guest_page.evaluate(SECOND_ANSWER) == [409, "already_answered"]

    # When the host leaves and skips, nothing is stored, and they are not asked for a day
    host_page.get_by_role("button", name="Leave the meeting").click()
    expect(host_page.get_by_role("link", name="Back to your meetings")).to_be_visible()
    host_page.get_by_role("button", name="Skip").click()
    expect(host_page.get_by_role("heading", name="How was the call?")).to_be_hidden()
    for _ in range(40):
        if UiPreferences.objects.filter(user=host, survey_asked_at__isnull=False).exists():
            break
        host_page.wait_for_timeout(100)
    assert UiPreferences.objects.get(user=host).survey_asked_at is not None
    assert CallRating.objects.count() == 1
    assert not violations, violations
