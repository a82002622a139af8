"""The notice reads the ledger: empty, and with a marketing partner that only a bypass of
the guard (a direct database insert) could have put there."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from privacy.disclosures import subject_key
from privacy.models import Disclosure, ThirdParty
from privacy.pi_categories import PersonalInfoCategory as PI
from privacy.requests.shine_the_light import compose_notice

EMAIL = "cal@example.com"
CALIFORNIA = ZoneInfo("America/Los_Angeles")


@pytest.fixture
def partner(db):
    return ThirdParty.objects.create(
        slug="adco",
        name="AdCo Holdings",
        postal_address="1 Market St, San Francisco, CA 94105",
        role=ThirdParty.Role.MARKETING_PARTNER,
        business="Sells travel and consumer electronics",
        purpose="n/a",
        categories=[PI.EMAIL, PI.NAME_AND_ADDRESS],
        confidentiality_agreement=False,
    )


def _bypass_the_guard(partner, *, at, categories, key=None):
    # bulk_create writes rows without record_disclosure's guard, as a fault or an
    # attacker with database access could; the notice must still report them.
    Disclosure.objects.bulk_create(
        [
            Disclosure(
                third_party=partner,
                subject_key=key or subject_key(EMAIL),
                personal=True,
                categories=categories,
                purpose=Disclosure.Purpose.DIRECT_MARKETING,
                description="list rental",
                at=at,
            )
        ]
    )


def test_with_an_empty_ledger_the_notice_says_none_and_states_the_standing_policy(db):
    notice = compose_notice(
        name="Cal", user_id=None, subject_key=subject_key(EMAIL), request_year=2027
    )

    assert notice.covered_year == 2026
    assert notice.categories == [] and notice.third_parties == []
    assert "During 2026 we did not disclose any of your personal information" in notice.text
    assert "we do not share personal information with third parties for their own" in notice.text


def test_a_marketing_disclosure_in_the_ledger_is_named_with_its_categories_and_address(partner):
    _bypass_the_guard(
        partner, at=datetime(2026, 6, 1, tzinfo=UTC), categories=["email", "name_address"]
    )

    notice = compose_notice(
        name="Cal", user_id=None, subject_key=subject_key(EMAIL), request_year=2027
    )

    assert [item["label"] for item in notice.categories] == ["Email address", "Name and address"]
    assert notice.third_parties == [
        {
            "name": "AdCo Holdings",
            "postal_address": "1 Market St, San Francisco, CA 94105",
            "business": "Sells travel and consumer electronics",
        }
    ]
    assert "AdCo Holdings" in notice.text and "Email address" in notice.text


def test_only_the_preceding_calendar_year_and_only_this_customer_count(partner):
    # The years are California calendar years.
    before = datetime(2025, 12, 31, 23, 59, tzinfo=CALIFORNIA)
    _bypass_the_guard(partner, at=before, categories=["email"])
    _bypass_the_guard(partner, at=datetime(2027, 1, 1, tzinfo=CALIFORNIA), categories=["email"])
    _bypass_the_guard(
        partner,
        at=datetime(2026, 5, 1, tzinfo=UTC),
        categories=["telephone"],
        key=subject_key("someone-else@example.com"),
    )

    notice = compose_notice(
        name="Cal", user_id=None, subject_key=subject_key(EMAIL), request_year=2027
    )

    assert notice.categories == []


def test_service_disclosures_are_not_marketing_disclosures(db):
    from privacy.disclosures import record_disclosure

    record_disclosure(
        third_party="stripe",
        purpose=Disclosure.Purpose.SERVICE,
        description="customer created",
        categories=[PI.EMAIL],
        email=EMAIL,
    )
    notice = compose_notice(
        name="Cal", user_id=None, subject_key=subject_key(EMAIL), request_year=2027
    )
    assert notice.third_parties == []
