"""The yearly figures on a constructed set of requests, with hand-computed medians."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from accounts.roles import PRIVACY_ADMIN
from privacy.models import PrivacyRequest
from privacy.requests.metrics import yearly_metrics
from tests.factories import UserFactory
from tests.privacy.request_helpers import submit

State = PrivacyRequest.State
METRICS_URL = reverse("privacy:staff_request_metrics")
CALIFORNIA = ZoneInfo("America/Los_Angeles")


def made(kind, *, received, state, days_to_close=None):
    request = submit(kind=kind, verified=False, email=f"{kind}{received:%j%H}@example.com")
    closed = received + timedelta(days=days_to_close) if days_to_close is not None else None
    PrivacyRequest.objects.filter(pk=request.pk).update(
        received_at=received, state=state, closed_at=closed
    )


@pytest.fixture
def year_2031(db):
    jan, jun = datetime(2031, 1, 10, 9, tzinfo=UTC), datetime(2031, 6, 1, 23, tzinfo=UTC)
    made("access", received=jan, state=State.COMPLETED, days_to_close=10)
    made("access", received=jun, state=State.COMPLETED, days_to_close=20)
    made("access", received=jan + timedelta(hours=1), state=State.DENIED, days_to_close=5)
    made("access", received=jun + timedelta(hours=-1), state=State.LAPSED, days_to_close=30)
    made("access", received=datetime(2031, 12, 31, 22, tzinfo=UTC), state=State.RECEIVED)
    made("delete", received=jan + timedelta(hours=2), state=State.COMPLETED, days_to_close=3)
    made("delete", received=jun + timedelta(hours=-2), state=State.COMPLETED, days_to_close=8)
    # Outside the California year: counted in neither.
    made(
        "access",
        received=datetime(2030, 12, 31, 23, tzinfo=CALIFORNIA),
        state=State.COMPLETED,
        days_to_close=1,
    )
    made(
        "delete",
        received=datetime(2032, 1, 1, 0, tzinfo=CALIFORNIA),
        state=State.DENIED,
        days_to_close=1,
    )


def test_figures_per_kind_and_in_total(year_2031):
    lines = {line.kind: line for line in yearly_metrics(year=2031)}

    access, delete, every = lines["access"], lines["delete"], lines["all"]
    assert (access.received, access.completed, access.denied, access.lapsed, access.open) == (
        5,
        2,
        1,
        1,
        1,
    )
    assert access.median_days == 10.0  # of 10, 20 and 5; lapsed ones never answered
    assert (delete.received, delete.completed, delete.median_days) == (2, 2, 5.5)  # of 3 and 8
    assert lines["correct"].received == 0 and lines["correct"].median_days is None
    assert (every.received, every.completed, every.denied) == (7, 4, 1)
    assert every.median_days == 8.0  # of 3, 5, 8, 10, 20


def test_the_page_shows_the_figures_and_their_definitions(client, year_2031):
    client.force_login(UserFactory(roles=[PRIVACY_ADMIN]))

    response = client.get(METRICS_URL, {"year": 2031})

    html = response.content.decode()
    assert response.status_code == 200
    access_row = html[
        html.index('data-kind="access"') : html.index("</tr>", html.index('data-kind="access"'))
    ]
    cells = [cell.split("<")[0] for cell in access_row.split('<td class="num">')[1:]]
    assert cells == ["5", "2", "1", "1", "1", "10"]
    assert "5.5" in html and "median" in html.lower()
    assert "computed in Python" in html
    assert "Requests received during the year" in html


def test_a_bad_year_is_a_form_error_not_a_crash(client, db):
    client.force_login(UserFactory(roles=[PRIVACY_ADMIN]))

    response = client.get(METRICS_URL, {"year": "abc"})

    assert response.status_code == 400
    assert response.context["form"].errors["year"]
