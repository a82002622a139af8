"""Who may enter, and until when: age, region and statements, on the contest's clock."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from contests import services
from contests.eligibility import LocalTimeError, aware_in_zone, problems
from tests.contests.factories import birth_date_years_ago, eligible, enter, make_contest

TODAY = date(2026, 6, 15)


@pytest.fixture
def contest(db):
    return make_contest(allowed_countries=["US", "CA"], allowed_us_states=["CA", "NY"])


def test_an_eligible_statement_has_no_problem(contest):
    assert problems(contest, eligible(), today=TODAY) == {}


def test_the_age_statement_and_the_rules_must_be_ticked(contest):
    found = problems(contest, eligible(age_confirmed=False, rules_accepted=False), today=TODAY)

    assert set(found) == {"age_confirmed", "rules_accepted"}
    assert "at least 18" in found["age_confirmed"]


@pytest.mark.parametrize(
    ("years", "days", "allowed"),
    [(18, 0, True), (18, 1, False), (30, 0, True), (17, 0, False)],
)
def test_a_date_of_birth_is_checked_against_the_minimum_age_on_the_contest_date(
    contest, years, days, allowed
):
    contest.ask_birth_date = True
    born = birth_date_years_ago(years, today=TODAY, days=days)

    found = problems(contest, eligible(age_confirmed=False, birth_date=born), today=TODAY)

    assert ("birth_date" not in found) is allowed


def test_nobody_under_13_whatever_the_contest_says(contest):
    contest.ask_birth_date, contest.minimum_age = True, 5  # as if the validator were bypassed
    born = birth_date_years_ago(12, today=TODAY)

    assert "birth_date" in problems(contest, eligible(birth_date=born), today=TODAY)


@pytest.mark.parametrize(
    ("country", "state", "field"),
    [
        ("US", "CA", None),
        ("US", "NY", None),
        ("US", "TX", "us_state"),  # a state the rules leave out
        ("US", "", "us_state"),
        ("US", "XX", "us_state"),
        ("CA", "", None),
        ("GB", "", "country"),
        ("other", "", "country"),
    ],
)
def test_region_rules(contest, country, state, field):
    found = problems(contest, eligible(country=country, us_state=state), today=TODAY)

    assert list(found) == ([field] if field else [])


def test_the_service_refuses_an_ineligible_entrant_and_keeps_nothing(contest):
    with pytest.raises(services.NotEligible) as refused:
        enter(contest, statement=eligible(country="US", us_state="TX"))

    assert "us_state" in refused.value.reasons
    assert not contest.entries.exists()


# --- the contest's clock ---------------------------------------------------------------

# Entries close at 23:59 on 15 March 2026 in New York, a week after the clocks went
# forward (8 March): 03:59 UTC on the 16th. A close read on the start's offset (EST,
# UTC-5) would say 04:59 UTC.


@pytest.fixture
def across_dst(db):
    return make_contest(
        slug="spring",
        time_zone="America/New_York",
        starts_at=aware_in_zone(datetime(2026, 3, 1, 9, 0), "America/New_York"),
        ends_at=aware_in_zone(datetime(2026, 3, 15, 23, 59), "America/New_York"),
    )


def test_the_close_is_the_wall_clock_time_in_the_contest_zone_after_a_dst_change(across_dst):
    assert across_dst.starts_at == datetime(2026, 3, 1, 14, 0, tzinfo=UTC)
    assert across_dst.ends_at == datetime(2026, 3, 16, 3, 59, tzinfo=UTC)


def test_an_entry_a_minute_before_the_close_counts(across_dst):
    with time_machine.travel(datetime(2026, 3, 16, 3, 58, tzinfo=UTC), tick=False):
        entry = enter(across_dst)

    assert entry.pk is not None


def test_an_entry_at_the_close_is_refused_though_the_start_offset_says_an_hour_is_left(
    across_dst,
):
    with (
        time_machine.travel(datetime(2026, 3, 16, 3, 59, tzinfo=UTC), tick=False),
        pytest.raises(services.EntriesClosed),
    ):
        enter(across_dst)

    assert not across_dst.entries.exists()


def test_an_entry_before_the_start_is_refused(across_dst):
    with (
        time_machine.travel(datetime(2026, 3, 1, 13, 59, tzinfo=UTC), tick=False),
        pytest.raises(services.EntriesClosed),
    ):
        enter(across_dst)


def test_the_age_is_reached_on_the_contest_calendar_not_utc(db):
    # 20:30 in Los Angeles on 14 June is already 15 June in UTC: an entrant born
    # 15 June 2008 is not 18 yet where the contest runs.
    with time_machine.travel(datetime(2026, 6, 15, 3, 30, tzinfo=UTC), tick=False):
        contest = make_contest(time_zone="America/Los_Angeles", ask_birth_date=True)
        with pytest.raises(services.NotEligible):
            enter(contest, statement=eligible(birth_date=date(2008, 6, 15)))
    with time_machine.travel(datetime(2026, 6, 15, 7, 30, tzinfo=UTC), tick=False):
        assert enter(contest, statement=eligible(birth_date=date(2008, 6, 15))).birth_date


def test_a_skipped_or_repeated_wall_clock_time_is_refused():
    with pytest.raises(LocalTimeError, match="does not exist"):
        aware_in_zone(datetime(2026, 3, 8, 2, 30), "America/New_York")
    with pytest.raises(LocalTimeError, match="happens twice"):
        aware_in_zone(datetime(2026, 11, 1, 1, 30), "America/New_York")
    assert aware_in_zone(datetime(2026, 11, 1, 3, 0), "America/New_York").utcoffset() == (
        timedelta(hours=-5)
    )
