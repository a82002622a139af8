"""What the schema promises about shapes and errors, and the filters and throttles behind it."""

import pytest
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from tests.factories import UserFactory
from tests.meetings.factories import MeetingFactory, schedule_in

INVITATIONS = "/api/meetings/{meeting_id}/invitations/"


@pytest.fixture
def schema(client, db):
    return client.get("/api/schema/?format=json").json()


@pytest.fixture
def host(db):
    return UserFactory()


@pytest.fixture
def api(host) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=host)
    return client


def test_a_start_time_is_a_wall_clock_time_not_an_rfc3339_time(schema):
    start_time = schema["components"]["schemas"]["Meeting"]["properties"]["start_time"]

    assert "format" not in start_time
    assert start_time["pattern"].startswith("^([01][0-9]|2[0-3])")


def test_the_invitations_a_post_makes_are_a_plain_array(schema):
    responses = schema["paths"][INVITATIONS]["post"]["responses"]

    assert responses["201"]["content"]["application/json"]["schema"]["type"] == "array"
    assert "Paginated" in str(schema["paths"][INVITATIONS]["get"]["responses"]["200"])


def test_every_operation_documents_its_errors_with_a_json_body(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            assert {"401", "404", "405", "429"} <= codes, (method, path)
            if "requestBody" in operation:
                assert {"400", "415"} <= codes, (method, path)
            if method != "get":
                assert {"403", "409", "422"} <= codes, (method, path)
            for code in codes - {"200", "201", "202", "204"}:
                assert "application/json" in operation["responses"][code]["content"]
    throttled = schema["paths"]["/api/meetings/"]["get"]["responses"]["429"]
    assert "Retry-After" in throttled["headers"]


def test_the_rules_a_schema_can_state_are_in_it(schema):
    components = schema["components"]["schemas"]
    create = components["MeetingCreateRequest"]

    assert "Europe/Berlin" in components["TimeZoneEnum"]["enum"]
    assert {"required": ["start"]} in create["anyOf"]
    assert "not" in create and "not" in components["PatchedMeetingInputRequest"]
    assert "T" in create["properties"]["start"]["pattern"]
    assert components["InvitationCreateRequest"]["properties"]["emails"]["minItems"] == 1


def test_a_start_with_an_offset_is_refused_as_the_schema_says(api):
    body = {"title": "T", "duration_minutes": 30, "start": "2099-03-25T09:00:00+02:00"}

    response = api.post("/api/meetings/", body, format="json")

    assert response.status_code == 400
    assert "without a UTC offset" in response.json()["start"][0]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=AAA", "status"),
        ("status=", "status"),
        ("page_size=null", "page_size"),
        ("page_size=0", "page_size"),
        ("page_size=201", "page_size"),
        ("page_size=-1", "page_size"),
    ],
)
def test_a_bad_filter_is_a_400_not_ignored(api, query, field):
    response = api.get(f"/api/meetings/?{query}")

    assert response.status_code == 400
    assert field in response.json()


def test_good_filters_filter(api, host):
    MeetingFactory(host=host, schedule=schedule_in(3))

    scheduled = api.get("/api/meetings/?status=scheduled&page_size=1").json()
    cancelled = api.get("/api/meetings/?status=cancelled").json()

    assert scheduled["count"] == 1 and len(scheduled["results"]) == 1
    assert cancelled["count"] == 0


@pytest.fixture
def tight_throttles(monkeypatch):
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"user": "3/min", "anon": "2/min"})


def test_each_user_is_throttled_on_their_own(tight_throttles, api):
    other = APIClient()
    other.force_authenticate(user=UserFactory())

    answers = [api.get("/api/meetings/").status_code for _ in range(4)]

    assert answers == [200, 200, 200, 429]
    throttled = api.get("/api/meetings/")
    assert int(throttled["Retry-After"]) > 0
    assert "detail" in throttled.json()
    assert other.get("/api/meetings/").status_code == 200


def test_anonymous_clients_are_throttled_by_address(tight_throttles, db):
    # (A request without credentials to a host's endpoint is a 401 before any throttle:
    # it does no work, and a 256-bit token cannot be guessed.)
    here, there = APIClient(REMOTE_ADDR="203.0.113.1"), APIClient(REMOTE_ADDR="203.0.113.2")

    answers = [here.get("/api/nothing-here/").status_code for _ in range(3)]

    assert answers == [404, 404, 429]
    # A forwarded-for header of the client's choosing is no way out.
    spoofed = here.get("/api/nothing-here/", HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert spoofed.status_code == 429
    assert there.get("/api/nothing-here/").status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"start": "0001-01-01T00:00"},
        {"start_date": "1999-12-31", "start_time": "09:00"},
        {"start_date": "3000-01-01", "start_time": "09:00"},
    ],
)
def test_dates_outside_the_years_the_schema_names_are_a_400(api, body):
    response = api.post(
        "/api/meetings/", {"title": "T", "duration_minutes": 30} | body, format="json"
    )

    assert response.status_code == 400
    assert "years 2000 to 2999" in str(response.json())


def test_an_offset_at_the_edge_of_time_is_a_400_not_an_overflow(api, host):
    meeting = MeetingFactory(host=host, schedule=schedule_in(3))
    occurrence = meeting.occurrences.get()
    path = f"/api/meetings/{meeting.public_id}/occurrences/{occurrence.public_id}/"

    response = api.patch(path, {"starts_at": "0001-01-01T00:00:00+14:00"}, format="json")

    assert response.status_code == 400


def test_29_february_is_taken_though_the_pattern_leaves_it_out(api):
    body = {"title": "Leap", "duration_minutes": 30, "start": "2032-02-29T09:00"}

    response = api.post("/api/meetings/", body, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["start_date"] == "2032-02-29"


def test_a_patch_needs_a_body_with_a_field(schema):
    for path, operations in schema["paths"].items():
        if "patch" in operations:
            assert operations["patch"]["requestBody"]["required"] is True, path
    components = schema["components"]["schemas"]
    assert components["PatchedMeetingInputRequest"]["minProperties"] == 1
    assert components["PatchedOccurrenceRescheduleRequest"]["minProperties"] == 1
