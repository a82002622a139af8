import pytest

from privacy.disclosures import DisclosureRefused, Purpose, record_disclosure, subject_key
from privacy.models import Disclosure, ThirdParty
from privacy.pi_categories import PersonalInfoCategory as PI


@pytest.fixture
def marketing_partner(db):
    return ThirdParty.objects.create(
        slug="adco",
        name="AdCo",
        postal_address="1 Ad St",
        role=ThirdParty.Role.MARKETING_PARTNER,
        business="Advertising",
        purpose="Would market to our users",
        categories=[PI.EMAIL],
        confidentiality_agreement=False,
    )


def test_the_seeded_service_providers_exist(db):
    slugs = set(ThirdParty.objects.values_list("slug", flat=True))
    assert {"stripe", "aws-hosting", "amazon-ses"} <= slugs


def test_a_service_disclosure_is_recorded_with_a_keyed_hash_for_people_without_accounts(db):
    row = record_disclosure(
        third_party="amazon-ses",
        purpose=Purpose.SERVICE,
        description="Delivered an email",
        categories=[PI.EMAIL],
        email="Guest@Example.com",
    )

    row.refresh_from_db()
    assert row.personal and row.categories == ["email"]
    assert row.subject_key == subject_key("guest@example.com")
    assert "guest@example.com" not in row.subject_key
    assert row.user is None


def test_an_account_holder_s_disclosure_names_the_account(user):
    row = record_disclosure(
        third_party="stripe",
        purpose=Purpose.SERVICE,
        description="Created the customer",
        categories=[PI.NAME_AND_ADDRESS, PI.EMAIL],
        user=user,
    )
    assert row.user == user
    assert row.subject_key == subject_key(user.email)


@pytest.mark.parametrize("purpose", [Purpose.DIRECT_MARKETING, Purpose.SERVICE])
def test_personal_information_never_goes_to_a_marketing_partner(marketing_partner, purpose):
    with pytest.raises(DisclosureRefused, match="marketing"):
        record_disclosure(
            third_party=marketing_partner,
            purpose=purpose,
            description="List rental",
            categories=[PI.EMAIL],
            email="a@example.com",
        )
    assert not Disclosure.objects.exists()


def test_personal_information_never_goes_to_a_service_provider_for_its_marketing(db):
    with pytest.raises(DisclosureRefused):
        record_disclosure(
            third_party="stripe",
            purpose=Purpose.DIRECT_MARKETING,
            description="Marketing",
            categories=[PI.EMAIL],
            email="a@example.com",
        )
    assert not Disclosure.objects.exists()


def test_a_non_personal_aggregate_may_go_to_anyone_and_is_logged_as_non_personal(
    marketing_partner,
):
    row = record_disclosure(
        third_party=marketing_partner,
        purpose=Purpose.AGGREGATE,
        description="Monthly count of meetings held",
        personal=False,
    )
    assert row.personal is False and row.categories == [] and row.subject_key == ""


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"purpose": Purpose.SERVICE, "email": "a@example.com"}, "categories"),
        ({"purpose": Purpose.SERVICE, "categories": [PI.EMAIL]}, "whose"),
        (
            {"purpose": Purpose.LEGAL, "categories": [PI.EMAIL], "email": "a@example.com"},
            "reference",
        ),
        (
            {"purpose": Purpose.AGGREGATE, "personal": False, "email": "a@example.com"},
            "names no person",
        ),
        (
            {"purpose": Purpose.AGGREGATE, "categories": [PI.EMAIL], "email": "a@example.com"},
            "not an aggregate",
        ),
        ({"purpose": Purpose.SERVICE, "personal": False}, "aggregate"),
    ],
)
def test_badly_described_disclosures_are_refused(db, kwargs, message):
    with pytest.raises(DisclosureRefused, match=message):
        record_disclosure(third_party="stripe", description="x", **kwargs)
    assert not Disclosure.objects.exists()


def test_an_unknown_category_is_refused(db):
    with pytest.raises(ValueError):
        record_disclosure(
            third_party="stripe",
            purpose=Purpose.SERVICE,
            description="x",
            categories=["shoe_size"],
            email="a@example.com",
        )
