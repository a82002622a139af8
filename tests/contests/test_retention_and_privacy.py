"""Entries are personal data: in the person's export and erasure, and deleted by the
daily task once the retention in the rules has passed."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from contests import draws, services
from contests.eligibility import add_months
from contests.models import Contest, ContestEntry
from contests.tasks import purge_expired_contest_entries
from privacy.models import AuditEntry
from privacy.requests import data_map
from privacy.subjects import Subject
from tests.contests.factories import confirmed_entries, eligible, enter, make_contest
from tests.factories import UserFactory


@pytest.fixture
def contest(db):
    return make_contest(retention_months=12)


def draw_after_close(contest):
    with time_machine.travel(contest.ends_at + timedelta(hours=1), tick=False):
        draws.run_draw(contest=contest, actor=None)
    contest.refresh_from_db()
    return contest


def test_entries_go_twelve_months_after_the_draw_and_not_a_day_before(contest):
    confirmed_entries(contest, 3)
    contest = draw_after_close(contest)
    due = add_months(contest.drawn_at, 12)

    with time_machine.travel(due - timedelta(minutes=1), tick=False):
        assert purge_expired_contest_entries.delay().get() == 0
    assert ContestEntry.objects.count() == 3

    with time_machine.travel(due, tick=False):
        assert purge_expired_contest_entries.delay().get() == 3
        assert purge_expired_contest_entries.delay().get() == 0  # run twice: nothing more

    assert not ContestEntry.objects.exists()
    contest.refresh_from_db()
    assert contest.entries_purged_at == due
    purge = AuditEntry.objects.get(action="contest.entries_purged")
    assert purge.details == {"entries": 3, "retention_months": 12}


def test_the_retention_the_rules_state_is_the_one_applied(db):
    short = make_contest(slug="short", retention_months=3)
    other = make_contest(slug="long", retention_months=24)
    confirmed_entries(short, 1)
    services.confirm_entry(entry=enter(other, email="other@example.com"))
    short, other = draw_after_close(short), draw_after_close(other)

    with time_machine.travel(add_months(short.drawn_at, 3) + timedelta(days=1), tick=False):
        draws.purge_expired_entries()

    assert not short.entries.exists()
    assert other.entries.count() == 1


def test_entries_of_a_contest_never_drawn_go_after_the_retention_from_its_close(contest):
    confirmed_entries(contest, 2)

    with time_machine.travel(add_months(contest.ends_at, 12) + timedelta(seconds=1)):
        draws.purge_expired_entries()

    assert not ContestEntry.objects.exists()


def test_unconfirmed_entries_go_once_their_link_has_expired(contest):
    enter(contest, email="pending@example.com")
    services.confirm_entry(entry=enter(contest, email="kept@example.com"))

    with time_machine.travel(timezone.now() + timedelta(days=6)):
        draws.purge_expired_entries()
        assert ContestEntry.objects.count() == 2
    with time_machine.travel(timezone.now() + timedelta(days=8)):
        draws.purge_expired_entries()

    assert list(ContestEntry.objects.values_list("email", flat=True)) == ["kept@example.com"]


def test_month_arithmetic_keeps_the_end_of_the_month():
    moment = datetime(2027, 1, 31, 12, 0, tzinfo=UTC)

    assert add_months(moment, 1) == datetime(2027, 2, 28, 12, 0, tzinfo=UTC)
    assert add_months(moment, 12) == datetime(2028, 1, 31, 12, 0, tzinfo=UTC)
    assert add_months(moment, 13) == datetime(2028, 2, 29, 12, 0, tzinfo=UTC)


def test_the_export_holds_the_persons_entries_by_account_and_by_address(db):
    user = UserFactory(email="grace@example.com")
    first = make_contest(slug="first", title="First draw")
    second = make_contest(slug="second", title="Second draw", ask_birth_date=True)
    enter(first, user=user, name="Grace Hopper")
    services.confirm_entry(
        entry=enter(
            second,
            name="G. Hopper",
            email="GRACE@example.com",
            statement=eligible(birth_date=datetime(1990, 12, 9).date()),
        )
    )
    enter(first, name="Someone Else", email="else@example.com")

    rows = data_map.export_person(Subject.for_user(user))["contests"]["contest_entries"]

    assert [(r["contest"], r["name"], r["email"]) for r in rows] == [
        ("First draw", "Grace Hopper", "grace@example.com"),
        ("Second draw", "G. Hopper", "grace@example.com"),
    ]
    assert rows[1]["date_of_birth"] == "1990-12-09" and rows[0]["us_state"] == "CA"


def test_erasure_deletes_the_persons_entries_and_no_one_elses(db, contest):
    services.confirm_entry(entry=enter(contest, email="Pat@Example.com"))
    enter(contest, email="else@example.com")
    subject = Subject.for_email("pat@example.com")

    lines = data_map.erase_person(subject, dry_run=True)
    [planned] = [line for line in lines if line.app == "contests"]
    assert (planned.count, planned.action) == (1, "deleted")
    assert ContestEntry.objects.count() == 2

    data_map.erase_person(subject, dry_run=False)

    assert list(ContestEntry.objects.values_list("email", flat=True)) == ["else@example.com"]
    assert Contest.objects.filter(pk=contest.pk).exists()


def test_after_the_purge_the_staff_page_says_the_draw_can_no_longer_be_redone(client, contest):
    confirmed_entries(contest, 2)
    contest = draw_after_close(contest)

    with time_machine.travel(add_months(contest.drawn_at, 12), tick=False):
        draws.purge_expired_entries()
        client.force_login(UserFactory(roles=["marketing"]))
        body = client.get(reverse("contests:staff_detail", args=[contest.slug])).content.decode()

    assert "can no longer be redone" in body
    assert contest.draw_audit_entry_id and AuditEntry.objects.filter(action="contest.draw").exists()
