"""Survey answers are personal data: in a person's export, and gone on erasure."""

from datetime import UTC, date, datetime

import pytest
import time_machine
from django.urls import reverse

from feedback.models import CallRating
from privacy.models import PolicyDocument
from privacy.policies import documents
from privacy.requests import data_map
from privacy.subjects import Subject
from tests.factories import UserFactory
from tests.feedback.factories import rate
from tests.meetings.factories import MeetingFactory


@pytest.fixture
def world(db):
    person = UserFactory(email="pat@example.com", full_name="Pat Person")
    elsewhere = MeetingFactory(host=UserFactory(), title="Other's meeting").occurrences.first()
    hosted = MeetingFactory(host=person, title="Pat's meeting").occurrences.first()
    # Pat's own answers: once as a guest by address, once in her own meeting.
    rate(
        elsewhere,
        name="Pat Person",
        email="PAT@example.com",
        stars=2,
        reasons=["video"],
        comment="Pat here: my camera froze",
        browser_family="Chrome",
        browser_major=131,
    )
    rate(elsewhere, name="Quinn", email="quinn@example.com", stars=5, comment="Fine")
    rate(hosted, name="Rae", email="rae@example.com", stars=4, comment="Good host")
    return person


def test_the_export_holds_the_persons_answers_with_their_context(world):
    rows = data_map.export_person(Subject.for_user(world))["feedback"]["call_quality_answers"]

    assert [(r["meeting"], r["stars"], r["comment"]) for r in rows] == [
        ("Other's meeting", 2, "Pat here: my camera froze")
    ]
    assert rows[0]["reasons"] == "Video" and rows[0]["browser"] == "Chrome 131"


def test_erasure_deletes_the_persons_answers_and_those_in_meetings_they_host(world):
    subject = Subject.for_user(world)

    planned = [
        line for line in data_map.erase_person(subject, dry_run=True) if line.app == "feedback"
    ]
    assert [(line.count, line.action) for line in planned] == [(1, "deleted"), (1, "deleted")]
    assert CallRating.objects.count() == 3

    data_map.erase_person(subject, dry_run=False)

    assert list(CallRating.objects.values_list("comment", flat=True)) == ["Fine"]


def test_the_privacy_policy_names_the_survey_in_its_generated_forms_section(client, db):
    version = documents.current_version(PolicyDocument.PRIVACY, today=date(2026, 12, 8))
    assert version is not None and (version.version, version.material) == (3, False)

    with time_machine.travel(datetime(2026, 12, 8, 12, tzinfo=UTC), tick=False):
        page = client.get(reverse("privacy:policy")).content.decode()

    section = page[page.index("When you answer a survey or fill out a form") :]
    assert "Call-quality survey (end of a meeting)" in section
    # Built from the survey's own choices and limit, so it cannot drift from the form.
    assert "screen share, connection, something else" in section and "1,000 characters" in section
    assert "Not your IP address" in section
    assert "Contest entry form" in section
    assert "direct our service providers to delete" in page and "Stripe" in page
