"""The draw: fair, from confirmed entries only, once, notified, published with first name
and state only, and re-verifiable from its audit entry."""

import io
import threading
from collections import Counter
from datetime import timedelta

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from contests import draw, draws, services
from contests.models import Contest, ContestEntry
from privacy import audit
from privacy.email_categories import Category
from privacy.models import AuditEntry, OutgoingEmail
from tests.contests.factories import confirmed_entries, eligible, enter, make_contest
from tests.factories import UserFactory

DRAWS = 10_000
# Chi-square quantiles for 11 degrees of freedom at 1e-5 and 1 - 1e-5: a fair draw lands
# outside them once in 50,000 runs; one that gives an entry twice the others' chance, always.
CHI2_LOW, CHI2_HIGH = 0.730, 43.206


def chi_square(counts: Counter, categories: list[str], total: int) -> float:
    expected = total / len(categories)
    return sum((counts[c] - expected) ** 2 / expected for c in categories)


def test_each_entry_is_equally_likely_at_every_rank_over_10000_secret_seeded_draws():
    entry_ids = [f"entry-{n:02d}" for n in range(12)]
    by_rank = [Counter(), Counter(), Counter()]

    for _ in range(DRAWS):
        winners = draw.pick_winners(seed=draw.new_seed(), entry_ids=entry_ids, count=3)
        assert len(set(winners)) == 3
        for rank, winner in enumerate(winners):
            by_rank[rank][winner] += 1

    for counts in by_rank:
        assert CHI2_LOW < chi_square(counts, entry_ids, DRAWS) < CHI2_HIGH, counts


def test_the_bounds_catch_a_draw_that_favours_one_entry():
    # What a draw that maps 13 equally likely values onto 12 entries (value % 12) yields.
    entry_ids = [f"entry-{n:02d}" for n in range(12)]
    counts = Counter({entry: DRAWS // 13 for entry in entry_ids})
    counts["entry-00"] *= 2

    assert chi_square(counts, entry_ids, sum(counts.values())) > CHI2_HIGH


def test_the_same_seed_and_list_give_the_same_winners():
    seed = bytes(range(32))
    ids = [str(n) for n in range(50)]

    first = draw.pick_winners(seed=seed, entry_ids=ids, count=5)

    assert draw.pick_winners(seed=seed, entry_ids=ids, count=5) == first
    assert draw.pick_winners(seed=bytes(32), entry_ids=ids, count=5) != first
    assert draw.pick_winners(seed=seed, entry_ids=ids[:2], count=5) in (["0", "1"], ["1", "0"])


# --- the draw as staff run it ------------------------------------------------------------


@pytest.fixture
def contest(db):
    return make_contest(winners_count=2)


@pytest.fixture
def staff(db):
    return UserFactory(roles=["marketing"])


def after_close(contest):
    return time_machine.travel(contest.ends_at + timedelta(minutes=1))


def test_the_draw_waits_for_the_close(contest, staff):
    with pytest.raises(draws.DrawNotDue):
        draws.run_draw(contest=contest, actor=staff)

    assert Contest.objects.get().drawn_at is None


def test_winners_come_from_confirmed_entries_and_are_told_by_transactional_email(contest, staff):
    entries = confirmed_entries(contest, 5)
    enter(contest, name="Pending Person", email="pending@example.com")  # never confirmed
    OutgoingEmail.objects.all().delete()

    with after_close(contest):
        record = draws.run_draw(contest=contest, actor=staff)

    confirmed_ids = {str(entry.public_id) for entry in entries}
    assert record.entry_count == 5 and set(record.winners) <= confirmed_ids
    winners = ContestEntry.objects.filter(winner_rank__isnull=False).order_by("winner_rank")
    assert [str(w.public_id) for w in winners] == list(record.winners)
    mails = OutgoingEmail.objects.order_by("pk")
    assert [m.to for m in mails] == [w.email for w in winners]
    assert {m.category for m in mails} == {Category.TRANSACTIONAL}
    assert contest.prize in mails[0].text_body


def test_the_winners_list_shows_first_name_and_state_only(client, contest, staff):
    enter_as = [("Ada Lovelace", "ada@example.com", "CA"), ("Grace Hopper", "g@example.com", "NY")]
    for name, email, state in enter_as:
        services.confirm_entry(
            entry=enter(contest, name=name, email=email, statement=eligible(us_state=state))
        )
    with after_close(contest):
        draws.run_draw(contest=contest, actor=staff)
        body = client.get(reverse("contests:detail", args=[contest.slug])).content.decode()

    assert "Ada, California" in body and "Grace, New York" in body
    assert "Lovelace" not in body and "Hopper" not in body
    assert "ada@example.com" not in body


def test_the_draw_can_be_verified_from_its_audit_entry(contest, staff):
    confirmed_entries(contest, 7)
    with after_close(contest):
        record = draws.run_draw(contest=contest, actor=staff)
    contest.refresh_from_db()

    row = AuditEntry.objects.get(pk=contest.draw_audit_entry_id)
    assert row.action == "contest.draw" and row.actor == staff
    assert row.details["seed"] == record.seed_hex and len(bytes.fromhex(record.seed_hex)) == 32
    ordered = draws.drawn_entry_ids(contest)
    assert ordered == sorted(ordered) and len(ordered) == 7
    assert row.details["entries_sha256"] == draw.list_digest(ordered)

    assert draw.verify(details=row.details, entry_ids=ordered).ok
    assert draws.verify_recorded_draw(contest).ok
    assert audit.verify_chain().ok


def test_verification_fails_for_another_list_or_other_winners(contest, staff):
    confirmed_entries(contest, 6)
    with after_close(contest):
        draws.run_draw(contest=contest, actor=staff)
    contest.refresh_from_db()
    details = AuditEntry.objects.get(pk=contest.draw_audit_entry_id).details
    ordered = draws.drawn_entry_ids(contest)

    swapped = [ordered[1], ordered[0], *ordered[2:]]
    assert not draw.verify(details=details, entry_ids=swapped).list_matches
    assert not draw.verify(details=details, entry_ids=ordered[:-1]).ok
    forged = details | {"winners": list(reversed(details["winners"]))}
    result = draw.verify(details=forged, entry_ids=ordered)
    assert result.list_matches and not result.winners_match
    assert not draw.verify(details={"seed": "zz"}, entry_ids=ordered).ok

    ContestEntry.objects.filter(public_id=ordered[3]).delete()  # an entry erased since
    assert not draws.verify_recorded_draw(contest).ok


def test_a_second_draw_is_refused(contest, staff):
    confirmed_entries(contest, 3)
    with after_close(contest):
        first = draws.run_draw(contest=contest, actor=staff)
        with pytest.raises(draws.AlreadyDrawn):
            draws.run_draw(contest=contest, actor=staff)
        stale = Contest.objects.get(pk=contest.pk)
        stale.drawn_at = None  # a page loaded before the first draw
        with pytest.raises(draws.AlreadyDrawn):
            draws.run_draw(contest=stale, actor=staff)

    assert AuditEntry.objects.filter(action="contest.draw").count() == 1
    assert ContestEntry.objects.filter(winner_rank__isnull=False).count() == len(first.winners)


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_draws_make_one(staff):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL")
    contest = make_contest(slug="race", winners_count=1)
    confirmed_entries(contest, 3)
    Contest.objects.filter(pk=contest.pk).update(ends_at=timezone.now())
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def run() -> None:
        barrier.wait()
        try:
            draws.run_draw(contest=Contest.objects.get(pk=contest.pk), actor=None)
            outcomes.append("drawn")
        except draws.AlreadyDrawn:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["drawn", "refused"]
    assert AuditEntry.objects.filter(action="contest.draw").count() == 1


def test_staff_run_the_draw_from_the_page_and_a_second_click_is_refused(client, contest, staff):
    confirmed_entries(contest, 3)
    client.force_login(staff)
    url = reverse("contests:staff_draw", args=[contest.slug])

    with after_close(contest):
        assert client.post(url).status_code == 302
        again = client.post(url)
        detail = client.get(reverse("contests:staff_detail", args=[contest.slug]))

    assert again.status_code == 409 and "only once" in again.content.decode()
    assert "Verified just now" in detail.content.decode()


def test_the_verify_command_redoes_the_draw_and_fails_on_a_changed_list(contest, staff):
    confirmed_entries(contest, 4)
    with after_close(contest):
        record = draws.run_draw(contest=contest, actor=staff)
    out = io.StringIO()

    call_command("verify_contest_draw", contest.slug, stdout=out)

    assert record.seed_hex in out.getvalue() and "Verified" in out.getvalue()
    # The first in the hashed order moves to the end (the order is by random public id).
    ContestEntry.objects.filter(contest=contest, draw_position=0).update(draw_position=99)
    with pytest.raises(CommandError, match="not the one the draw hashed"):
        call_command("verify_contest_draw", contest.slug, stdout=io.StringIO())
    with pytest.raises(CommandError, match="No contest"):
        call_command("verify_contest_draw", "nope")


def test_a_draw_without_confirmed_entries_has_no_winner_and_still_verifies(contest, staff):
    enter(contest)  # never confirmed

    with after_close(contest):
        record = draws.run_draw(contest=contest, actor=staff)
    contest.refresh_from_db()

    assert (record.entry_count, record.winners) == (0, ())
    assert draws.verify_recorded_draw(contest).ok
    assert not OutgoingEmail.objects.filter(subject__startswith="You won").exists()
