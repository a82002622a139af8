"""The host's dashboard: upcoming and past meetings in the host's own time zone."""

import io
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.urls import reverse

from accounts.demo import DEMO_EMAIL
from meetings import lobby
from meetings.models import Meeting
from tests.factories import UserFactory
from tests.meetings.factories import MeetingFactory, schedule_in

URL = reverse("meetings:dashboard")
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)


@pytest.fixture
def host(db):
    return UserFactory(time_zone="America/New_York")


@pytest.fixture
def host_client(client, host):
    client.force_login(host)
    return client


def test_upcoming_meetings_show_in_the_hosts_zone_with_link_and_invitee_count(host_client, host):
    meeting = MeetingFactory(
        host=host,
        title="Board call",
        schedule=schedule_in(4, time_zone="Europe/Berlin"),
        invitees=["ana@example.com", "ben@example.com"],
    )
    starts = meeting.occurrences.get().starts_at.astimezone(ZoneInfo("America/New_York"))

    response = host_client.get(URL)

    html = response.content.decode()
    assert response.status_code == 200
    assert "Board call" in html
    assert starts.strftime("%H:%M") in html
    assert ">09:00<" not in html and ", 09:00<" not in html  # Berlin's wall clock is not shown
    assert "America/New_York" in html
    assert "2 invitees" in html
    assert f'value="http://testserver/j/{meeting.join_token}/"' in html
    assert "data-copy=" in html
    assert not INLINE_SCRIPT.search(html)


def test_a_series_is_one_row_with_its_next_date(host_client, host):
    MeetingFactory(host=host, title="Standup", schedule=schedule_in(2, recurrence="daily", count=5))

    html = host_client.get(URL).content.decode()

    assert html.count("Standup</a>") == 1
    assert "Every day, 5 times (4 more booked)" in html


def test_past_meetings_show_their_attendance_summary(host_client, host, time_machine):
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)
    time_machine.move_to(start - timedelta(days=1), tick=False)
    meeting = MeetingFactory(
        host=host, title="Old sync", schedule=schedule_in(1, time_zone="UTC"), lobby_enabled=False
    )
    occurrence = meeting.occurrences.get()
    time_machine.move_to(occurrence.starts_at, tick=False)
    lobby.request_entry(occurrence=occurrence, display_name="Host", email=host.email, user=host)
    time_machine.shift(timedelta(minutes=5))
    guest = lobby.request_entry(occurrence=occurrence, display_name="Ana", email="ana@example.com")
    time_machine.shift(timedelta(minutes=10))
    lobby.leave(session=guest)
    time_machine.shift(timedelta(minutes=5))
    lobby.end_occurrence(occurrence=occurrence)
    time_machine.move_to(start + timedelta(days=3), tick=False)
    host_client.force_login(host)

    html = host_client.get(URL).content.decode()

    past = html.split('id="past-heading"')[1]
    assert "Old sync" in past
    cells = re.findall(r'<td class="num">([^<]*)</td>', past)
    assert cells == ["2", "2", "30.0"]  # people, peak, person-minutes (20 + 10)
    report = reverse("meetings:report", args=[meeting.public_id, occurrence.public_id])
    assert report in past


def test_meet_now_starts_an_instant_meeting(host_client, host):
    response = host_client.post(reverse("meetings:meet_now"))

    meeting = Meeting.objects.get()
    assert meeting.is_instant and meeting.host == host
    assert response["Location"] == reverse("meetings:detail", args=[meeting.public_id])
    assert "Your meeting is ready" in host_client.get(response["Location"]).content.decode()


def test_an_empty_dashboard_says_what_to_do(host_client):
    html = host_client.get(URL).content.decode()

    assert "Nothing scheduled" in html
    assert reverse("meetings:schedule") in html


def test_signed_in_people_land_on_the_dashboard_and_see_it_in_the_menu(host_client):
    response = host_client.get(reverse("home"))

    assert response["Location"] == URL
    html = host_client.get(URL).content.decode()
    assert f'<a href="{URL}">Meetings</a>' in html


def test_signing_in_leads_to_the_dashboard(client, password, db):
    person = UserFactory()

    response = client.post(reverse("account_login"), {"login": person.email, "password": password})

    assert response["Location"] == URL


def test_the_demo_data_books_one_meeting_tomorrow_however_often_it_loads(db):
    first, second = io.StringIO(), io.StringIO()

    call_command("load_demo", stdout=first)
    call_command("load_demo", stdout=second)

    meeting = Meeting.objects.get()
    assert meeting.host.email == DEMO_EMAIL
    local = meeting.occurrences.get().starts_at.astimezone(ZoneInfo(meeting.host.time_zone))
    today = datetime.now(UTC).astimezone(ZoneInfo(meeting.host.time_zone)).date()
    assert local.date() == today + timedelta(days=1)
    assert meeting.recording_allowed  # the walkthrough can show recording
    link = f"/j/{meeting.join_token}/"
    assert link in first.getvalue() and link in second.getvalue()
    assert meeting.passcode in second.getvalue()
