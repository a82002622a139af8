"""Marketing's contest pages: only marketing gets in, the form converts the contest's
wall-clock times, and the list of entrants writes one audit entry per view."""

from datetime import UTC, datetime

import pytest
import time_machine
from django.urls import reverse

from accounts.roles import FINANCE, MARKETING, PRIVACY_ADMIN, SUPPORT
from contests.models import Contest
from privacy.models import AuditEntry
from tests.contests.factories import enter, make_contest
from tests.factories import UserFactory

NEW = reverse("contests:staff_new")
FORM = {
    "title": "Spring draw",
    "slug": "spring-draw",
    "prize": "A year of the Business plan",
    "rules_markdown": "# Rules\n\nOne entry per person.",
    "free_entry_method": "Enter on this page; no purchase is needed.",
    "minimum_age": "18",
    "winners_count": "3",
    "retention_months": "12",
    "time_zone": "America/New_York",
    "starts_local": "2026-03-01T09:00",
    "ends_local": "2026-03-15T23:59",
    "countries": "us, ca",
    "us_states": "CA NY",
}


@pytest.fixture
def contest(db):
    return make_contest()


def staff_urls(contest):
    slug = [contest.slug]
    return [
        ("get", reverse("contests:staff_list")),
        ("get", NEW),
        ("get", reverse("contests:staff_detail", args=slug)),
        ("get", reverse("contests:staff_edit", args=slug)),
        ("get", reverse("contests:staff_entrants", args=slug)),
        ("post", reverse("contests:staff_draw", args=slug)),
    ]


@pytest.mark.parametrize("role", [None, PRIVACY_ADMIN, FINANCE, SUPPORT])
def test_only_marketing_may_open_the_contest_pages(client, contest, role):
    client.force_login(UserFactory(roles=[role] if role else []))

    for method, url in staff_urls(contest):
        assert getattr(client, method)(url).status_code == 403, url

    assert contest.drawn_at is None
    assert not AuditEntry.objects.filter(action="contest.entrants.view").exists()


def test_anonymous_visitors_are_sent_to_sign_in(client, contest):
    for method, url in staff_urls(contest):
        response = getattr(client, method)(url)
        assert response.status_code == 302 and "/accounts/login/" in response.url, url


def test_marketing_creates_a_contest_in_its_own_time_zone(client, db):
    staff = UserFactory(roles=[MARKETING])
    client.force_login(staff)

    response = client.post(NEW, FORM)

    assert response.status_code == 302
    contest = Contest.objects.get()
    assert contest.starts_at == datetime(2026, 3, 1, 14, 0, tzinfo=UTC)  # EST
    assert contest.ends_at == datetime(2026, 3, 16, 3, 59, tzinfo=UTC)  # EDT
    assert contest.allowed_countries == ["CA", "US"]
    assert contest.allowed_us_states == ["CA", "NY"]
    assert (contest.minimum_age, contest.winners_count, contest.retention_months) == (18, 3, 12)
    assert contest.created_by == staff


def test_the_form_defaults_are_age_18_one_winner_and_12_months(client, db):
    client.force_login(UserFactory(roles=[MARKETING]))

    body = client.get(NEW).content.decode()

    assert 'name="minimum_age" value="18"' in body
    assert 'name="winners_count" value="1"' in body
    assert 'name="retention_months" value="12"' in body


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"minimum_age": "12"}, "minimum_age"),
        ({"countries": "US, XX"}, "countries"),
        ({"countries": ""}, "countries"),
        ({"us_states": "ZZ"}, "us_states"),
        ({"countries": "CA"}, "us_states"),  # states given, but not the US
        ({"ends_local": "2026-02-01T09:00"}, "ends_local"),
        ({"ends_local": "2026-03-08T02:30"}, "ends_local"),  # skipped by the clocks
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"slug": "staff"}, "slug"),
        ({"free_entry_method": ""}, "free_entry_method"),
        ({"winners_count": "0"}, "winners_count"),
    ],
)
def test_bad_contest_settings_get_a_form_error(client, db, changes, field):
    client.force_login(UserFactory(roles=[MARKETING]))

    response = client.post(NEW, FORM | changes)

    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert not Contest.objects.exists()


def test_the_entrants_page_shows_people_and_writes_one_audit_entry_per_view(client, contest):
    staff = UserFactory(roles=[MARKETING])
    client.force_login(staff)
    enter(contest, name="Ada Lovelace", email="ada@example.com")
    url = reverse("contests:staff_entrants", args=[contest.slug])

    first = client.get(url)
    client.get(url)

    assert "ada@example.com" in first.content.decode()
    entries = AuditEntry.objects.filter(action="contest.entrants.view", actor=staff)
    assert entries.count() == 2
    assert entries.first().details == {"page": 1, "rows": 1}
    assert "ada@example.com" not in str(entries.first().details)


def test_the_staff_console_lists_contests_for_marketing(client, db):
    client.force_login(UserFactory(roles=[MARKETING]))

    assert reverse("contests:staff_list") in client.get(reverse("staff")).content.decode()


def test_a_contest_can_be_edited_until_it_opens_and_not_after(client, db):
    staff = UserFactory(roles=[MARKETING])
    with time_machine.travel(datetime(2026, 2, 1, 12, 0, tzinfo=UTC), tick=False):
        client.force_login(staff)
        client.post(NEW, FORM)
        contest = Contest.objects.get()
        url = reverse("contests:staff_edit", args=[contest.slug])

        shown = client.get(url).content.decode()
        assert 'value="2026-03-15T23:59"' in shown and 'value="CA, NY"' in shown
        saved = client.post(url, FORM | {"prize": "Two years", "ends_local": "2026-03-20T12:00"})

    assert saved.status_code == 302
    contest.refresh_from_db()
    assert contest.prize == "Two years"
    assert contest.ends_at == datetime(2026, 3, 20, 16, 0, tzinfo=UTC)

    with time_machine.travel(contest.starts_at, tick=False):
        client.force_login(staff)  # a session from February would have expired
        refused = client.post(url, FORM | {"prize": "Nothing"})
        assert client.get(url).status_code == 409

    assert refused.status_code == 409 and "can no longer change" in refused.content.decode()
    contest.refresh_from_db()
    assert contest.prize == "Two years"


def test_a_new_contest_starts_in_the_creator_s_zone(client, db):
    client.force_login(UserFactory(roles=[MARKETING], time_zone="Europe/Berlin"))

    page = client.get(NEW).content.decode()

    assert '<option value="Europe/Berlin" selected>' in page
