"""schemathesis over the published schema, as a host with a live meeting.

Every phase runs (examples, coverage, fuzzing, stateful) against a live server with a
bounded number of cases, a fixed seed and one worker: no 5xx, every response as the schema
documents it (status, content type, headers, body), and no request the schema calls valid
refused. The run's summary is printed, so CI logs show how many cases ran and how long.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from celery import Task
from rest_framework.throttling import SimpleRateThrottle

from accounts import services as account_services
from meetings import lobby, services
from tests.factories import UserFactory
from tests.meetings.factories import MeetingFactory, schedule_in

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "10"))
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
        "positive_data_acceptance",
    ]
)
# A schema-valid request may still be refused for what a schema cannot say: 404 for an id
# that is not yours, 409 when the sitting's state stands in the way, and 422 for the rules
# about meetings that the schema states in words (a start in the past, plan limits).
# Anything else, 400 above all, means the schema promised more than the API accepts.
CONFIG = """
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "401", "403", "404", "409", "422"]

# Real ids, so that requests reach the views' work rather than a 404 for a random UUID.
[parameters]
meeting_id = "{meeting_id}"
occurrence_id = "{occurrence_id}"
participant_id = "{participant_id}"
invitation_id = "{invitation_id}"
"""


@pytest.fixture
def live_host(transactional_db, monkeypatch) -> tuple[str, dict[str, str]]:
    """A host's token and the ids of their live sitting (one person in, one waiting, one
    invitation); they also host a weekly series to come."""
    # The run makes thousands of requests in minutes: throttling is tested elsewhere.
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"user": None, "anon": None})
    # Mail and the other tasks are neither run nor queued: this is about the HTTP API, and
    # every change to a meeting with a hundred invitees would otherwise send a hundred
    # emails (or leave them in a broker that another test's worker reads).
    monkeypatch.setattr(Task, "apply_async", lambda *args, **kwargs: None)
    host = UserFactory()
    MeetingFactory(
        host=host,
        schedule=schedule_in(3, recurrence="weekly", weekdays=(0, 2), count=4),
        invitees=["ivy@example.com", "ian@example.com"],
    )
    instant = services.start_instant_meeting(host=host)
    occurrence = instant.occurrences.get()
    inside = lobby.request_entry(occurrence=occurrence, display_name="Ann", email="ann@example.com")
    lobby.admit(session=inside)
    waiting = lobby.request_entry(
        occurrence=occurrence, display_name="Wes", email="wes@example.com"
    )
    (invitation,) = services.add_invitations(meeting=instant, emails=["ina@example.com"])
    _, key = account_services.create_api_token(user=host, name="schemathesis")
    return key, {
        "meeting_id": str(instant.public_id),
        "occurrence_id": str(occurrence.public_id),
        "participant_id": str(waiting.public_id),
        "invitation_id": str(invitation.pk),
    }


@pytest.mark.timeout(600)
def test_the_api_keeps_the_promises_of_its_schema(live_server, live_host, tmp_path):
    report = tmp_path / "junit.xml"
    config = tmp_path / "schemathesis.toml"
    key, ids = live_host
    config.write_text(CONFIG.format(**ids))
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file",
        str(config),
        "run",
        f"{live_server.url}/api/schema/?format=json",
        "--header",
        f"Authorization: Token {key}",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--checks",
        CHECKS,
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        "1",
        "--workers",
        "1",
        "--no-color",
        "--generation-database",
        "none",
        "--suppress-health-check",
        "all",
        *os.environ.get("SCHEMATHESIS_EXTRA_ARGS", "").split(),
        "--report",
        "junit",
        "--report-dir",
        str(tmp_path),
    ]
    started = time.monotonic()
    run = subprocess.run(
        command, capture_output=True, text=True, timeout=600, check=False, cwd=tmp_path
    )
    elapsed = time.monotonic() - started

    print(run.stdout[-6000:], f"\nschemathesis took {elapsed:.0f} s", sep="")
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-4000:]
    assert report.exists() or any(tmp_path.iterdir())
