"""A meeting's page: its link, dates, invitations and the lobby the host runs."""

import re
from datetime import time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse

from billing.models import Plan
from meetings import lobby
from meetings.models import Meeting, Occurrence, ParticipantSession
from tests.factories import UserFactory
from tests.meetings.factories import MeetingFactory, schedule_in

State = ParticipantSession.State


@pytest.fixture
def host(db):
    return UserFactory(time_zone="Europe/Berlin")


@pytest.fixture
def host_client(client, host):
    client.force_login(host)
    return client


@pytest.fixture
def series(host):
    return MeetingFactory(
        host=host,
        title="Weekly sync",
        schedule=schedule_in(
            3, time_zone="Europe/Berlin", recurrence="weekly", weekdays=(0, 3), count=4
        ),
        invitees=["ana@example.com", "ben@example.com"],
    )


def detail_of(client, meeting) -> str:
    response = client.get(reverse("meetings:detail", args=[meeting.public_id]))
    assert response.status_code == 200
    return response.content.decode()


def test_the_page_shows_link_passcode_dates_invitations_and_calendar_file(host_client, series):
    html = detail_of(host_client, series)

    assert f"http://testserver/j/{series.join_token}/" in html
    assert series.passcode in html
    assert reverse("meetings:ics", args=[series.public_id]) in html
    assert reverse("meetings:edit", args=[series.public_id]) in html
    assert reverse("meetings:cancel", args=[series.public_id]) in html
    for occurrence in series.occurrences.all():
        assert (
            reverse("meetings:occurrence_edit", args=[series.public_id, occurrence.public_id])
            in html
        )
        assert (
            reverse("meetings:occurrence_cancel", args=[series.public_id, occurrence.public_id])
            in html
        )
    assert "ana@example.com" in html and "ben@example.com" in html
    assert "?i=" in html  # each invitee's personal link
    assert "Nobody is waiting." in html
    assert "Every week on Mon, Thu, 4 times" in html


# --- Invitations ------------------------------------------------------------------------


def test_the_host_invites_more_people(host_client, series):
    response = host_client.post(
        reverse("meetings:invitation_add", args=[series.public_id]),
        {"emails": "carl@example.com, ana@example.com"},
    )

    assert response.status_code == 302
    assert sorted(series.invitations.values_list("email", flat=True)) == [
        "ana@example.com",
        "ben@example.com",
        "carl@example.com",
    ]


def test_a_bad_address_is_shown_on_the_invite_form(host_client, series):
    response = host_client.post(
        reverse("meetings:invitation_add", args=[series.public_id]),
        {"emails": "carl@, dan@example.com"},
    )

    html = response.content.decode()
    assert response.status_code == 400
    assert 'id="id_emails_errors"' in html
    assert "is not a valid email address" in html
    assert series.invitations.count() == 2


def test_the_host_removes_and_resends_invitations(
    host_client, series, django_capture_on_commit_callbacks
):
    ana = series.invitations.get(email="ana@example.com")
    ben = series.invitations.get(email="ben@example.com")

    with django_capture_on_commit_callbacks() as callbacks:
        resent = host_client.post(
            reverse("meetings:invitation_resend", args=[series.public_id, ben.pk])
        )
    removed = host_client.post(
        reverse("meetings:invitation_remove", args=[series.public_id, ana.pk])
    )

    assert resent.status_code == removed.status_code == 302
    assert len(callbacks) == 1  # the resend is queued once the request commits
    assert list(series.invitations.values_list("email", flat=True)) == ["ben@example.com"]
    assert "ana@example.com is uninvited" in detail_of(host_client, series)


# --- One date of a series ----------------------------------------------------------------


def test_the_host_moves_one_date_in_the_meetings_zone(host_client, series):
    occurrence = series.occurrences.all()[1]
    url = reverse("meetings:occurrence_edit", args=[series.public_id, occurrence.public_id])
    local = occurrence.starts_at.astimezone(ZoneInfo("Europe/Berlin"))
    assert 'value="09:00"' in host_client.get(url).content.decode()

    response = host_client.post(
        url,
        {"starts_on": local.date().isoformat(), "start_time": "16:15", "duration_minutes": "20"},
    )

    assert response.status_code == 302
    occurrence.refresh_from_db()
    assert occurrence.starts_at.astimezone(ZoneInfo("Europe/Berlin")).time() == time(16, 15)
    assert (occurrence.duration_minutes, occurrence.is_override) == (20, True)
    assert series.occurrences.filter(is_override=False).count() == 3


def test_moving_a_date_into_the_past_is_an_inline_error(host_client, series):
    occurrence = series.occurrences.first()
    url = reverse("meetings:occurrence_edit", args=[series.public_id, occurrence.public_id])

    response = host_client.post(
        url, {"starts_on": "2001-01-01", "start_time": "10:00", "duration_minutes": "30"}
    )

    assert response.status_code == 400
    assert 'id="id_starts_on_errors"' in response.content.decode()
    assert "in the past" in response.content.decode()


def test_the_host_cancels_one_date(host_client, series):
    occurrence = series.occurrences.all()[2]
    url = reverse("meetings:occurrence_cancel", args=[series.public_id, occurrence.public_id])
    assert "Cancel this date" in host_client.get(url).content.decode()

    host_client.post(url)

    occurrence.refresh_from_db()
    assert occurrence.status == Occurrence.Status.CANCELLED
    assert series.occurrences.filter(status=Occurrence.Status.SCHEDULED).count() == 3


# --- Cancelling the meeting ------------------------------------------------------------


def test_the_host_confirms_then_cancels_the_meeting(host_client, series, client):
    url = reverse("meetings:cancel", args=[series.public_id])
    assert "Cancel the meeting" in host_client.get(url).content.decode()

    response = host_client.post(url)

    assert response["Location"] == reverse("meetings:dashboard")
    series.refresh_from_db()
    assert series.status == Meeting.Status.CANCELLED
    html = detail_of(host_client, series)
    assert "Cancelled" in html
    assert reverse("meetings:edit", args=[series.public_id]) not in html
    host_client.logout()
    assert host_client.get(reverse("meetings:join", args=[series.join_token])).status_code == 404


# --- The lobby --------------------------------------------------------------------------


def waiting_guests(meeting, *names: str) -> list[ParticipantSession]:
    occurrence = meeting.occurrences.first()
    return [
        lobby.request_entry(
            occurrence=occurrence, display_name=name, email=f"{name.lower()}@example.com"
        )
        for name in names
    ]


def test_the_host_sees_the_queue_and_admits_everyone(host_client, series):
    waiting_guests(series, "Ana", "Ben", "Cy")
    html = detail_of(host_client, series)
    assert all(name in html for name in ("Ana", "Ben", "Cy"))
    occurrence = series.occurrences.first()

    response = host_client.post(
        reverse("meetings:lobby_admit_all", args=[series.public_id, occurrence.public_id])
    )

    assert response.status_code == 302
    assert set(occurrence.sessions.values_list("state", flat=True)) == {State.ADMITTED}
    html = detail_of(host_client, series)
    assert "Let in 3 waiting." in html
    assert "End meeting for everyone" in html


def test_admitting_into_a_full_meeting_explains_why_not(host_client, series, monkeypatch):
    ana, ben = waiting_guests(series, "Ana", "Ben")
    Plan.objects.filter(slug="free").update(max_participants=1)
    host_client.post(reverse("meetings:lobby_admit", args=[series.public_id, ana.public_id]))

    host_client.post(reverse("meetings:lobby_admit", args=[series.public_id, ben.public_id]))

    ben.refresh_from_db()
    assert ben.state == State.WAITING
    assert "This meeting is full" in detail_of(host_client, series)


def test_a_second_decision_on_the_same_guest_is_explained(host_client, series):
    (ana,) = waiting_guests(series, "Ana")
    host_client.post(reverse("meetings:lobby_deny", args=[series.public_id, ana.public_id]))

    host_client.post(reverse("meetings:lobby_admit", args=[series.public_id, ana.public_id]))

    ana.refresh_from_db()
    assert ana.state == State.DENIED
    assert "This participant is denied entry, not waiting in the lobby." in detail_of(
        host_client, series
    )


def test_the_host_removes_someone_and_ends_the_meeting(host_client, series, host):
    occurrence = series.occurrences.first()
    lobby.request_entry(occurrence=occurrence, display_name="Host", email=host.email, user=host)
    ana, ben = waiting_guests(series, "Ana", "Ben")
    lobby.admit(session=ana)
    lobby.admit(session=ben)

    host_client.post(reverse("meetings:lobby_remove", args=[series.public_id, ana.public_id]))
    host_client.post(
        reverse("meetings:occurrence_end", args=[series.public_id, occurrence.public_id])
    )

    ana.refresh_from_db()
    ben.refresh_from_db()
    occurrence.refresh_from_db()
    assert (ana.leave_reason, ben.leave_reason) == ("removed", "ended")
    assert occurrence.status == Occurrence.Status.ENDED
    # The join link now leads to the next date of the series.
    assert detail_of(host_client, series).count("Nobody is waiting.") == 1
    assert series.occurrences.filter(status=Occurrence.Status.SCHEDULED).count() == 3


def test_a_detail_page_times_follow_the_hosts_zone(client, db):
    host = UserFactory(time_zone="Asia/Tokyo")
    meeting = MeetingFactory(host=host, schedule=schedule_in(3, time_zone="UTC"))
    client.force_login(host)

    html = detail_of(client, meeting)

    assert "18:00" in html  # 09:00 UTC
    assert "Asia/Tokyo" in html


def test_a_past_date_of_a_series_links_its_report(host_client, host, time_machine):
    time_machine.move_to(schedule_in(0).first_local_start() - timedelta(days=10), tick=False)
    meeting = MeetingFactory(
        host=host, schedule=schedule_in(1, time_zone="UTC", recurrence="daily", count=20)
    )
    first = meeting.occurrences.first()
    time_machine.move_to(first.starts_at, tick=False)
    lobby.request_entry(occurrence=first, display_name="Host", email=host.email, user=host)
    lobby.end_occurrence(occurrence=first)
    time_machine.shift(timedelta(days=3))
    host_client.force_login(host)

    html = detail_of(host_client, meeting)

    assert reverse("meetings:report", args=[meeting.public_id, first.public_id]) in html
    assert "Not held" in html  # the two dates since then


def test_meeting_pages_keep_to_the_content_security_policy(host_client, series):
    occurrence = series.occurrences.first()
    pages = [
        reverse("meetings:dashboard"),
        reverse("meetings:schedule"),
        reverse("meetings:detail", args=[series.public_id]),
        reverse("meetings:edit", args=[series.public_id]),
        reverse("meetings:cancel", args=[series.public_id]),
        reverse("meetings:occurrence_edit", args=[series.public_id, occurrence.public_id]),
        reverse("meetings:report", args=[series.public_id, occurrence.public_id]),
    ]
    host_client.post(reverse("meetings:join", args=[series.join_token]))
    pages.append(reverse("meetings:lobby", args=[series.join_token]))

    for url in pages:
        response = host_client.get(url)
        html = response.content.decode()
        assert response.status_code == 200, url
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), url
        assert " style=" not in html, url
        assert "script-src 'self'" in response["Content-Security-Policy"]
    guest_page = Client().get(reverse("meetings:join", args=[series.join_token])).content.decode()
    assert " style=" not in guest_page and "meetings.js" in guest_page
