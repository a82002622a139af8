"""The API's schema and docs page, and how it answers when things go wrong."""

import re
from datetime import timedelta

import pytest
import yaml
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.management import call_command
from rest_framework.test import APIClient, APIRequestFactory

from conferencing.api_errors import UNEXPECTED_ERROR, exception_handler
from meetings import attendance_api, services
from meetings.errors import InvalidTransition, MeetingError, MeetingFull, RateLimited
from tests.factories import UserFactory
from tests.meetings.factories import MeetingFactory, schedule_in

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
ASSET = re.compile(r'<(?:script|link)[^>]*\b(?:src|href)="([^"]+)"', re.I)


def test_the_schema_validates_without_warnings(tmp_path, db):
    target = tmp_path / "schema.yaml"

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))

    schema = yaml.safe_load(target.read_text())
    assert schema["info"]["title"].endswith("API")
    assert (
        "/api/meetings/{meeting_id}/occurrences/{occurrence_id}/attendance.csv" in schema["paths"]
    )
    assert set(schema["components"]["securitySchemes"]) == {"tokenAuth", "cookieAuth"}


def test_the_schema_is_served_and_lists_every_endpoint(client, db):
    response = client.get("/api/schema/?format=json")

    assert response.status_code == 200
    paths = response.json()["paths"]
    assert set(paths) == {
        "/api/meetings/",
        "/api/meetings/{meeting_id}/",
        "/api/meetings/{meeting_id}/occurrences/",
        "/api/meetings/{meeting_id}/occurrences/{occurrence_id}/",
        "/api/meetings/{meeting_id}/occurrences/{occurrence_id}/cancel/",
        "/api/meetings/{meeting_id}/occurrences/{occurrence_id}/attendance/",
        "/api/meetings/{meeting_id}/occurrences/{occurrence_id}/attendance.csv",
        "/api/meetings/{meeting_id}/occurrences/{occurrence_id}/live/",
        *(
            f"/api/meetings/{{meeting_id}}/occurrences/{{occurrence_id}}/live/participants/"
            f"{{participant_id}}/{action}/"
            for action in ("admit", "deny", "remove", "mute")
        ),
        *(
            f"/api/meetings/{{meeting_id}}/occurrences/{{occurrence_id}}/live/{action}/"
            for action in ("admit-all", "mute-all", "lock", "unlock", "end")
        ),
        "/api/meetings/{meeting_id}/invitations/",
        "/api/meetings/{meeting_id}/invitations/{invitation_id}/",
        "/api/meetings/{meeting_id}/invitations/{invitation_id}/resend/",
    }
    assert not any("{id}" in path or "{pk}" in path for path in paths)


def test_the_docs_page_loads_everything_from_our_own_static_files(client, db):
    response = client.get("/api/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert INLINE_SCRIPT.findall(html) == []
    assets = ASSET.findall(html)
    assert len(assets) >= 4  # stylesheet, favicon, two Swagger UI bundles, start-up script
    assert all(url.startswith(("/static/", "/api/docs/?")) for url in assets), assets
    assert not any("//" in url for url in assets)
    for url in assets:
        asset = client.get(url.replace("&amp;", "&"))
        assert asset.status_code == 200, url
        if hasattr(asset, "streaming_content"):
            b"".join(asset.streaming_content)  # close WhiteNoise's file


def test_the_docs_start_up_script_points_at_the_schema(client, db):
    response = client.get("/api/docs/?script=")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in response.content.decode()
    assert "/api/schema/" in response.content.decode()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/"),
        ("get", "/api/nothing-here/"),
        ("post", "/api/meetings"),
        ("get", "/api/meetings/not-a-uuid/"),
        ("delete", "/api/meetings/00000000-0000-0000-0000-000000000000/invitations/x/"),
    ],
)
def test_unknown_api_addresses_are_a_json_404(client, db, method, path):
    response = getattr(client, method)(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert "no such API endpoint" in response.json()["detail"]


# --- Errors that are not the caller's fault -----------------------------------------


@pytest.fixture
def host(db):
    return UserFactory()


@pytest.fixture
def api(host) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=host)
    return client


@pytest.fixture
def attendance_path(host):
    meeting = MeetingFactory(host=host, schedule=schedule_in(3))
    occurrence = meeting.occurrences.get()
    return f"/api/meetings/{meeting.public_id}/occurrences/{occurrence.public_id}/attendance/"


def broken(*args, **kwargs):
    raise RuntimeError("a bug")


def test_a_bug_is_raised_in_tests_rather_than_hidden_in_a_500(api, attendance_path, monkeypatch):
    monkeypatch.setattr(attendance_api, "attendance_for", broken)

    with pytest.raises(RuntimeError, match="a bug"):
        api.get(attendance_path)


def test_a_bug_in_production_is_logged_and_answered_in_json(
    api, attendance_path, monkeypatch, caplog
):
    monkeypatch.setattr(attendance_api, "attendance_for", broken)
    api.raise_request_exception = False

    for suffix in ["", "?format=csv"]:
        response = api.get(attendance_path + suffix)

        assert response.status_code == 500
        assert response["Content-Type"] == "application/json"
        assert response.json() == {"detail": UNEXPECTED_ERROR}
    logged = [r for r in caplog.records if r.name == "conferencing.api"]
    assert logged and logged[0].exc_info[0] is RuntimeError


@pytest.mark.parametrize(
    ("error", "status", "headers"),
    [
        (InvalidTransition("This participant has left."), 409, {}),
        (MeetingFull("This meeting is full."), 409, {}),
        (
            RateLimited("Too many tries; try again later.", retry_after=120),
            429,
            {"Retry-After": "120"},
        ),
        (MeetingError("That can't be done."), 400, {}),
    ],
)
def test_meeting_errors_become_json_with_their_message(
    api, host, monkeypatch, error, status, headers
):
    meeting = MeetingFactory(host=host, schedule=schedule_in(3))
    occurrence = meeting.occurrences.get()

    def refuse(**kwargs):
        raise error

    monkeypatch.setattr(services, "cancel_occurrence", refuse)

    response = api.post(
        f"/api/meetings/{meeting.public_id}/occurrences/{occurrence.public_id}/cancel/"
    )

    assert response.status_code == status
    assert response.json() == {"detail": error.message}
    for name, value in headers.items():
        assert response[name] == value


def test_a_django_validation_error_reaching_the_handler_is_a_422_keyed_by_field():
    context = {"request": APIRequestFactory().get("/api/"), "view": None}

    keyed = exception_handler(DjangoValidationError({"title": ["Too long."]}), context)
    plain = exception_handler(DjangoValidationError("Not now."), context)

    assert keyed.status_code == 422 and keyed.data == {"title": ["Too long."]}
    assert plain.status_code == 422 and plain.data == {"non_field_errors": ["Not now."]}


def test_the_series_cap_is_reported_on_the_field(api, host):
    # A daily series for more than two years is cut by the schedule's own rule.
    start = schedule_in(2).starts_on
    response = api.post(
        "/api/meetings/",
        {
            "title": "Daily",
            "start_date": start.isoformat(),
            "start_time": "09:00",
            "duration_minutes": 15,
            "recurrence": "daily",
            "until": (start + timedelta(days=400)).isoformat(),
        },
        format="json",
    )

    assert response.status_code == 422
    assert "at most 366 occurrences" in response.json()["until"][0]
