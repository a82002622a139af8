"""The attendance report: the table, the timeline picture and the CSV, for the host only."""

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse

from meetings import attendance, lobby, report
from tests.factories import UserFactory
from tests.meetings.factories import MeetingFactory, schedule_in

T0 = datetime(2031, 1, 15, 15, 0, tzinfo=UTC)  # 10:00 in New York
NEW_YORK = ZoneInfo("America/New_York")


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.fixture
def history(db, time_machine):
    """Minutes from the start: host 0 to 30; Ana on two devices 2 to 10 and 8 to 20; Bob by
    personal link 5 to 15, back 18 to 30."""
    host = UserFactory(full_name="Hana Host", time_zone="America/New_York")
    time_machine.move_to(T0 - timedelta(days=2), tick=False)
    meeting = MeetingFactory(
        host=host,
        title="Quarterly review",
        schedule=schedule_in(
            2, time_zone="America/New_York", start_time=T0.astimezone(NEW_YORK).time()
        ),
        invitees=["bob@example.com"],
    )
    occurrence = meeting.occurrences.get()
    assert occurrence.starts_at == T0
    bob_invite = meeting.invitations.get()

    def join(minute, name, email, **extra):
        time_machine.move_to(at(minute), tick=False)
        session = lobby.request_entry(
            occurrence=occurrence, display_name=name, email=email, **extra
        )
        return lobby.admit(session=session) if session.state == "waiting" else session

    def leave(minute, session):
        time_machine.move_to(at(minute), tick=False)
        lobby.leave(session=session)

    join(0, "Hana Host", host.email, user=host)
    ana_laptop = join(2, "Ana", "ana@example.com")
    bob = join(5, "Bob", "bob@example.com", invitation=bob_invite)
    ana_phone = join(8, "Ana (phone)", "ANA@example.com")
    leave(10, ana_laptop)
    leave(15, bob)
    join(18, "Bob", "bob@example.com", invitation=bob_invite)
    leave(20, ana_phone)
    time_machine.move_to(at(30), tick=False)
    lobby.end_occurrence(occurrence=occurrence)
    time_machine.move_to(at(60), tick=False)
    client = Client()
    client.force_login(host)
    return client, meeting, occurrence


def report_url(meeting, occurrence, name="meetings:report"):
    return reverse(name, args=[meeting.public_id, occurrence.public_id])


def test_the_table_sums_rejoins_and_counts_overlap_once(history):
    client, meeting, occurrence = history

    response = client.get(report_url(meeting, occurrence))

    html = response.content.decode()
    assert response.status_code == 200
    rows = re.findall(r"<tr>\s*<td>(.*?)</tr>", html.split('id="people-heading"')[1], re.S)
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", "<td>" + row, re.S) for row in rows]
    text = [[re.sub(r"<[^>]+>", "", cell).strip() for cell in row] for row in cells]
    assert text == [
        ["Hana Host Host", meeting.host.email, "1", "10:00", "10:30", "30.0", "host"],
        ["Ana (phone)", "ana@example.com", "2", "10:02", "10:20", "18.0", "meeting link"],
        [
            "Bob",
            "bob@example.com",
            "2",
            "10:05",
            "10:30",
            "22.0",
            "personal link (bob@example.com)",
        ],
    ]


def test_the_summary_numbers_come_with_their_definitions(history):
    client, meeting, occurrence = history

    html = client.get(report_url(meeting, occurrence)).content.decode()

    values = re.findall(r'<dd class="stat-value">([^<]*)</dd>', html)
    assert values == ["3", "3", "70.0"]
    assert "counted once however often they rejoined" in html
    assert "The most people present at the same moment" in html
    assert "Everyone's minutes in the meeting, added up" in html


def test_the_timeline_draws_one_row_per_person_and_a_bar_per_stretch(history):
    client, meeting, occurrence = history

    html = client.get(report_url(meeting, occurrence)).content.decode()

    svg = re.search(r"<svg class=\"timeline\".*?</svg>", html, re.S).group(0)
    assert 'role="img"' in svg
    assert len(re.findall(r'<text class="tl-name"', svg)) == 3
    assert len(re.findall(r'<rect class="tl-bar', svg)) == 4  # host 1, Ana 1 (merged), Bob 2
    assert "Bob: 10:18\N{EN DASH}10:30" in svg
    assert "10:00" in re.findall(r'<text class="tl-tick"[^>]*>([^<]*)<', svg)
    assert "style=" not in svg
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)


def test_the_csv_has_the_same_people_in_utc_and_the_hosts_zone(history):
    client, meeting, occurrence = history

    response = client.get(report_url(meeting, occurrence, "meetings:report_csv"))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == (
        'attachment; filename="attendance-quarterly-review-2031-01-15.csv"'
    )
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == list(report.CSV_HEADER)
    assert rows[2] == [
        "Ana (phone)",
        "ana@example.com",
        "2",
        "2031-01-15T15:02:00Z",
        "2031-01-15T15:20:00Z",
        "2031-01-15T10:02:00-05:00",
        "2031-01-15T10:20:00-05:00",
        "America/New_York",
        "18.0",
        "meeting link",
    ]
    assert rows[3][0] == "Bob" and rows[3][4] == "2031-01-15T15:30:00Z"
    assert rows[3][9] == "personal link (bob@example.com)"
    assert len(rows) == 4


def test_a_name_that_looks_like_a_formula_is_defused_in_the_csv(db, time_machine):
    host = UserFactory(time_zone="UTC")
    meeting = MeetingFactory(host=host, lobby_enabled=False, passcode_required=False)
    occurrence = meeting.occurrences.get()
    lobby.request_entry(
        occurrence=occurrence, display_name='=HYPERLINK("http://x")', email="e@example.com"
    )
    client = Client()
    client.force_login(host)

    body = client.get(report_url(meeting, occurrence, "meetings:report_csv")).content.decode()

    assert list(csv.reader(io.StringIO(body)))[1][0] == '\'=HYPERLINK("http://x")'
    assert list(csv.reader(io.StringIO(body)))[1][4] == ""  # still present


def test_only_the_host_sees_the_report(history):
    _, meeting, occurrence = history
    other = Client()
    other.force_login(UserFactory())
    anonymous = Client()

    for name in ("meetings:report", "meetings:report_csv"):
        url = report_url(meeting, occurrence, name)
        assert other.get(url).status_code == 404
        response = anonymous.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))


def test_a_meeting_nobody_joined_says_so(db):
    host = UserFactory()
    meeting = MeetingFactory(host=host)
    client = Client()
    client.force_login(host)

    html = client.get(report_url(meeting, meeting.occurrences.get())).content.decode()

    assert "Nobody has joined this meeting yet" in html
    assert "<svg" not in html


def test_timeline_bars_stay_inside_the_plot(history):
    _, _, occurrence = history
    rows = attendance.attendance_for(occurrence)

    picture = report.timeline(rows, occurrence=occurrence, zone=NEW_YORK, now=at(60))

    bars = [bar for row in picture.rows for bar in row.bars]
    assert all(
        picture.plot_left <= bar.x and bar.x + bar.width <= picture.plot_right + 0.1 for bar in bars
    )
    assert [tick.label for tick in picture.ticks] == [
        "10:00",
        "10:05",
        "10:10",
        "10:15",
        "10:20",
        "10:25",
        "10:30",
    ]
