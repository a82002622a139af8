"""A host schedules a meeting, a guest joins by link and waits, the host lets them in."""

import re
from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import expect

from meetings.models import Meeting, ParticipantSession
from tests.factories import PASSWORD, UserFactory


def watch_csp(page, violations: list[str]) -> None:
    page.on(
        "console",
        lambda msg: "Content Security Policy" in msg.text and violations.append(msg.text),
    )


def test_a_guest_joins_by_link_waits_and_is_let_in_by_the_host(live_server, new_page):
    host = UserFactory(full_name="Hana Host", time_zone="Europe/Paris")
    violations: list[str] = []
    tomorrow = (timezone.now() + timedelta(days=1)).date().isoformat()

    # Given a host who schedules a meeting through the form
    host_page = new_page()
    watch_csp(host_page, violations)
    host_page.goto(f"{live_server.url}/accounts/login/")
    host_page.get_by_label("Email").fill(host.email)
    host_page.get_by_label("Password").fill(PASSWORD)
    host_page.get_by_role("button", name="Sign in").click()
    host_page.wait_for_url("**/meetings/")
    host_page.get_by_role("link", name="Schedule a meeting").click()
    assert host_page.get_by_label("Time zone").input_value() == "Europe/Paris"
    assert host_page.get_by_label("Every").is_hidden()
    host_page.get_by_label("How often").select_option("weekly")
    assert host_page.get_by_label("Every").is_visible()
    host_page.get_by_label("How often").select_option("none")
    host_page.get_by_label("Title").fill("Launch rehearsal")
    host_page.get_by_label("Date", exact=True).fill(tomorrow)
    host_page.get_by_label("Start time").fill("10:00")
    host_page.get_by_label("Duration (minutes)").fill("30")
    host_page.get_by_label("Invitees (optional)").fill("ada@example.com")
    host_page.get_by_role("button", name="Schedule meeting").click()
    host_page.wait_for_url("**/meetings/*/")
    assert host_page.get_by_role("heading", name="Launch rehearsal").is_visible()
    meeting = Meeting.objects.get()
    link = host_page.get_by_label("Join link").input_value()
    assert link == f"{live_server.url}/j/{meeting.join_token}/"
    assert host_page.locator("code.passcode").inner_text() == meeting.passcode
    host_page.get_by_role("button", name="Copy").first.click()
    # Copied, or (clipboard refused) selected with a hint to copy by hand.
    expect(host_page.locator('[data-copy-feedback="copy-meeting-link"]')).to_have_text(
        re.compile(r"on your clipboard|Ctrl\+C")
    )

    # When a guest opens the link in another browser and passes the form
    guest_page = new_page(viewport={"width": 375, "height": 740})
    watch_csp(guest_page, violations)
    guest_page.goto(link)
    guest_page.get_by_label("Your name").fill("Ada Guest")
    guest_page.get_by_label("Your email").fill("ada@example.com")
    guest_page.get_by_label("Meeting passcode").fill(meeting.passcode)
    guest_page.get_by_role("button", name="Ask to join").click()
    guest_page.wait_for_url("**/lobby/")
    guest_page.get_by_role("heading", name="Waiting for the host").wait_for(timeout=10_000)

    # Then the host sees them in the lobby list (it refreshes by itself) and admits them
    admit = host_page.get_by_role("button", name="Admit Ada Guest")
    admit.wait_for(timeout=15_000)
    admit.click()
    host_page.wait_for_url("**#lobby")

    # And the guest's page takes them on to the meeting room, ready to join
    guest_page.wait_for_url("**/room/", timeout=10_000)
    guest_page.get_by_role("heading", name="Ready to join?").wait_for(timeout=10_000)
    assert guest_page.get_by_text("You'll join as Ada Guest").is_visible()
    assert guest_page.get_by_text("Launch rehearsal").first.is_visible()
    session = ParticipantSession.objects.get()
    assert (session.display_name, session.state) == ("Ada Guest", "admitted")
    overflow = guest_page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0

    # Finally the guest leaves
    guest_page.get_by_role("button", name="Leave without joining").click()
    guest_page.get_by_role("heading", name="You're out of the meeting").wait_for(timeout=10_000)
    session.refresh_from_db()
    assert session.state == "left"
    assert violations == []
