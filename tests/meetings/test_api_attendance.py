"""The attendance report through the API: the JSON summary and rows, and the CSV export."""

import csv
import io
from datetime import timedelta

import pytest
import time_machine
from rest_framework.test import APIClient

from meetings import lobby
from tests.factories import UserFactory
from tests.meetings.factories import MeetingFactory, schedule_in

COLUMNS = ["display_name", "email", "sessions", "first_joined", "last_left", "minutes", "links"]


@pytest.fixture
def host(db):
    return UserFactory(full_name="Hana Host")


@pytest.fixture
def api(host) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=host)
    return client


@pytest.fixture
def meeting(host):
    return MeetingFactory(host=host, schedule=schedule_in(1), invitees=["bob@example.com"])


@pytest.fixture
def occurrence(meeting):
    return meeting.occurrences.get()


def iso(moment) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@pytest.fixture
def held(host, meeting, occurrence):
    """A sitting with a host, a guest who rejoined, an invitee on their personal link, a
    guest who picked a spreadsheet formula as a name, and someone who was turned away."""
    t0 = occurrence.starts_at
    invitation = meeting.invitations.get()

    def at(minutes: int, action, **kwargs):
        with time_machine.travel(t0 + timedelta(minutes=minutes), tick=False):
            return action(**kwargs)

    def enter(minutes: int, **kwargs):
        return at(minutes, lobby.request_entry, occurrence=occurrence, **kwargs)

    hosting = enter(0, display_name="Hana", email=host.email, user=host)
    alice = enter(1, display_name="Alice", email="Alice@Example.com")
    turned_away = enter(2, display_name="Eve", email="eve@example.com")
    at(2, lobby.admit, session=alice)
    at(2, lobby.deny, session=turned_away)
    bob = enter(3, display_name="Bob", email="bob@example.com", invitation=invitation)
    mallory = enter(4, display_name='=HYPERLINK("http://x")', email="m@example.com")
    at(4, lobby.admit, session=mallory)
    at(5, lobby.admit, session=bob)
    at(6, lobby.leave, session=mallory)
    at(12, lobby.leave, session=alice)
    alice_again = enter(15, display_name="Alice B.", email="alice@example.com")
    at(15, lobby.admit, session=alice_again)
    at(25, lobby.leave, session=alice_again)
    at(30, lobby.leave, session=bob)
    at(30, lobby.leave, session=hosting)
    return t0


def path(meeting, occurrence) -> str:
    return f"/api/meetings/{meeting.public_id}/occurrences/{occurrence.public_id}/"


def test_the_report_sums_each_persons_sessions(api, meeting, occurrence, held):
    t0 = held

    response = api.get(path(meeting, occurrence) + "attendance/")

    assert response.status_code == 200
    report = response.json()
    assert report["occurrence"] == str(occurrence.public_id)
    assert report["summary"] == {
        "unique_participants": 4,
        "peak_concurrent": 4,
        "person_minutes": 77.0,
    }
    rows = {row["email"]: row for row in report["rows"]}
    assert [row["display_name"] for row in report["rows"]] == [
        "Hana",
        "Alice B.",
        '=HYPERLINK("http://x")',
        "Bob",
    ]
    assert rows["alice@example.com"] == {
        "display_name": "Alice B.",
        "email": "alice@example.com",
        "sessions": 2,
        "first_joined": iso(t0 + timedelta(minutes=2)),
        "last_left": iso(t0 + timedelta(minutes=25)),
        "minutes": 20.0,
        "links": ["meeting link"],
    }
    assert rows["bob@example.com"]["minutes"] == 25.0
    assert rows["bob@example.com"]["links"] == ["personal link (bob@example.com)"]
    assert rows[meeting.host.email]["links"] == ["host"]
    assert rows[meeting.host.email]["minutes"] == 30.0
    assert "eve@example.com" not in rows


def test_the_csv_has_a_header_and_the_same_rows(api, meeting, occurrence, held):
    report = api.get(path(meeting, occurrence) + "attendance/").json()

    for address in ["attendance.csv", "attendance/?format=csv"]:
        response = api.get(path(meeting, occurrence) + address)

        assert response.status_code == 200
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        assert response["Content-Disposition"].startswith('attachment; filename="attendance-')
        table = list(csv.reader(io.StringIO(response.content.decode())))
        assert table[0] == COLUMNS
        assert len(table) == 1 + len(report["rows"])
        alice = next(row for row in table if row[1] == "alice@example.com")
        expected = report["rows"][1]
        assert alice == [
            expected["display_name"],
            expected["email"],
            "2",
            expected["first_joined"],
            expected["last_left"],
            "20.0",
            "meeting link",
        ]


def test_the_csv_defuses_names_that_a_spreadsheet_would_run(api, meeting, occurrence, held):
    response = api.get(path(meeting, occurrence) + "attendance.csv")

    names = [row[0] for row in csv.reader(io.StringIO(response.content.decode()))][1:]
    assert '\'=HYPERLINK("http://x")' in names
    assert not any(name.startswith(("=", "+", "-", "@")) for name in names)


def test_the_csv_is_served_whatever_the_client_accepts(api, meeting, occurrence, held):
    response = api.get(path(meeting, occurrence) + "attendance.csv", HTTP_ACCEPT="application/json")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")


def test_the_csv_can_be_asked_for_by_accept_header(api, meeting, occurrence, held):
    response = api.get(path(meeting, occurrence) + "attendance/", HTTP_ACCEPT="text/csv")

    assert response["Content-Type"].startswith("text/csv")


def test_someone_still_present_has_no_last_left(api, host, meeting, occurrence):
    with time_machine.travel(occurrence.starts_at, tick=False):
        lobby.request_entry(occurrence=occurrence, display_name="Hana", email=host.email, user=host)
    with time_machine.travel(occurrence.starts_at + timedelta(minutes=10), tick=False):
        report = api.get(path(meeting, occurrence) + "attendance/").json()
        csv_text = api.get(path(meeting, occurrence) + "attendance.csv").content.decode()

    assert report["rows"][0]["last_left"] is None
    assert report["rows"][0]["minutes"] == 10.0
    assert list(csv.reader(io.StringIO(csv_text)))[1][4] == ""


def test_an_occurrence_nobody_attended_has_an_empty_report(api, meeting, occurrence):
    report = api.get(path(meeting, occurrence) + "attendance/").json()
    csv_text = api.get(path(meeting, occurrence) + "attendance.csv").content.decode()

    assert report["summary"] == {
        "unique_participants": 0,
        "peak_concurrent": 0,
        "person_minutes": 0.0,
    }
    assert report["rows"] == []
    assert csv_text.splitlines() == [",".join(COLUMNS)]


@pytest.mark.parametrize("suffix", ["attendance.csv", "attendance/?format=csv"])
def test_errors_from_the_csv_address_are_still_json(api, meeting, occurrence, suffix):
    other = APIClient()
    other.force_authenticate(user=UserFactory())

    refused = other.get(path(meeting, occurrence) + suffix)
    anonymous = APIClient().get(path(meeting, occurrence) + suffix)

    assert refused.status_code == 404
    assert refused["Content-Type"] == "application/json"
    assert refused.json() == {"detail": "No meeting of yours has this id."}
    assert anonymous.status_code == 401
    assert anonymous["Content-Type"] == "application/json"


def test_an_unknown_format_is_a_json_404(api, meeting, occurrence):
    response = api.get(path(meeting, occurrence) + "attendance/?format=xlsx")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
