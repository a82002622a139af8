"""Who sees the answers: the host on their own sitting's report, quality-assurance staff on
the `quality` dashboard (audited, with its CSV), and nobody else."""

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.roles import FINANCE, QUALITY_ASSURANCE
from feedback import selectors
from feedback.chart import chart
from meetings import lobby
from privacy.models import AuditEntry
from tests.factories import UserFactory
from tests.feedback.factories import rate
from tests.meetings.factories import MeetingFactory


@pytest.fixture
def host(db):
    return UserFactory(full_name="Hana Host")


@pytest.fixture
def sitting(host):
    meeting = MeetingFactory(host=host, title="Design review")
    occurrence = meeting.occurrences.first()
    rate(occurrence, name="Ada Guest", email="ada@example.com", stars=5)
    rate(
        occurrence,
        name="Bo Guest",
        email="bo@example.com",
        stars=2,
        reasons=["audio", "connection"],
        comment="Echo all along",
        browser_family="Firefox",
        browser_major=133,
        media_worker="media-1/41",
        used_turn=True,
        packet_loss_pct=7.5,
        rtt_ms=310,
    )
    rate(occurrence, name="Cy Guest", email="cy@example.com", stars=2, reasons=["audio"])
    return meeting, occurrence


def report_url(meeting, occurrence):
    return reverse(
        "meetings:report",
        kwargs={"public_id": meeting.public_id, "occurrence_id": occurrence.public_id},
    )


def test_the_host_sees_average_distribution_reasons_and_named_comments(client, host, sitting):
    meeting, occurrence = sitting
    client.force_login(host)

    page = client.get(report_url(meeting, occurrence)).content.decode()

    assert "How was the call?" in page
    assert "3.0 ★</strong> on average from 3 answers" in page
    assert "<td>2 ★</td><td>2</td><td>67%</td>" in page
    assert "Audio: 2 (67% of answers)" in page and "Connection: 1 (33% of answers)" in page
    assert "<strong>Bo Guest</strong> (2 ★): Echo all along" in page
    ratings = selectors.for_sitting(occurrence)
    assert ratings.average == 3.0 and [s.count for s in ratings.distribution] == [1, 0, 0, 2, 0]


def test_another_host_cannot_see_the_ratings(client, sitting):
    meeting, occurrence = sitting
    client.force_login(UserFactory())

    response = client.get(report_url(meeting, occurrence))

    assert response.status_code == 404
    assert b"Echo all along" not in response.content


@pytest.mark.usefixtures("sitting")
def test_the_report_of_another_sitting_shows_only_its_own_answers(client, host):
    other = MeetingFactory(host=host).occurrences.first()
    client.force_login(host)

    page = client.get(report_url(other.meeting, other)).content.decode()

    assert "Nobody answered the end screen's survey" in page and "Echo" not in page


# --- the staff dashboard ----------------------------------------------------------------

DASHBOARD = "/staff/quality/"
CSV = "/staff/quality/answers.csv"


def test_anonymous_visitors_and_other_staff_cannot_open_the_dashboard(client, sitting):
    for url in (DASHBOARD, CSV):
        assert client.get(url).status_code == 302  # to the sign-in page
    client.force_login(UserFactory(roles=[FINANCE]))
    for url in (DASHBOARD, CSV):
        assert client.get(url).status_code == 403
    client.force_login(UserFactory())
    assert client.get(DASHBOARD).status_code == 403
    assert not AuditEntry.objects.filter(action__startswith="feedback.").exists()


def test_quality_assurance_sees_the_dashboard_and_each_view_is_audited(client, sitting):
    staff = UserFactory(roles=[QUALITY_ASSURANCE])
    client.force_login(staff)

    page = client.get(DASHBOARD).content.decode()

    assert "Call quality" in page and "<polyline" in page
    assert "Audio: 2 (67% of answers)" in page
    assert "<td>Firefox 133</td><td>1</td><td>2.0</td>" in page
    assert "<td>media-1/41</td><td>1</td><td>2.0</td>" in page
    # The worst call first, with its stats.
    worst = page.index("Worst calls")
    assert page.index("Echo all along", worst) < page.index("5 ★", worst)
    assert "7.5%" in page and "310 ms" in page
    entries = AuditEntry.objects.filter(action="feedback.dashboard.view")
    assert entries.count() == 1 and entries.get().actor_id == staff.pk
    assert "Call quality" in client.get(reverse("staff")).content.decode()


def test_the_csv_has_every_answer_and_is_audited(client, sitting):
    client.force_login(UserFactory(roles=[QUALITY_ASSURANCE]))

    response = client.get(CSV)

    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert response["Content-Type"] == "text/csv"
    assert sorted(r["stars"] for r in rows) == ["2", "2", "5"]
    bo = next(r for r in rows if r["comment"])
    assert (bo["reasons"], bo["used_turn"], bo["packet_loss_pct"], bo["rtt_ms"]) == (
        "audio connection",
        "yes",
        "7.5",
        "310",
    )
    assert AuditEntry.objects.filter(action="feedback.csv.download").count() == 1


def test_daily_average_and_response_rate_over_90_days(sitting):
    _, occurrence = sitting
    now = timezone.now()
    old = rate(
        occurrence, name="Old", email="old@example.com", stars=1, at=now - timedelta(days=91)
    )
    days = selectors.daily(now)

    assert len(days) == 90 and days[-1].day == now.date()
    assert sum(d.answers for d in days) == 3  # the 91-day-old answer is outside
    assert old.pk not in [r.pk for r in selectors.worst_calls(now)]
    drawn = chart(days)
    assert len(drawn.average.points) == len([d for d in days if d.answers])
    assert drawn.average.points[-1][1] == pytest.approx(40 + 160 * (1 - (3.0 - 1) / 4))


def test_the_response_rate_is_answers_over_participants_let_in_that_day(db):
    occurrence = MeetingFactory(host=UserFactory()).occurrences.first()
    admitted = [
        lobby.admit(
            session=lobby.request_entry(
                occurrence=occurrence, display_name=f"P{i}", email=f"p{i}@example.com"
            )
        )
        for i in range(4)
    ]
    rate(occurrence, name="", email="", stars=4, participant=admitted[0])

    today = selectors.daily(timezone.now())[-1]

    assert (today.answers, today.participants, today.response_rate) == (1, 4, 25.0)
