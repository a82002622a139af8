"""The ledger and registry staff pages: legal disclosures, refusals, filters and the CSV."""

import csv
import io
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from accounts.roles import FINANCE, PRIVACY_ADMIN
from privacy.disclosures import record_disclosure
from privacy.models import AuditEntry, Disclosure, ThirdParty
from privacy.pi_categories import PersonalInfoCategory as PI
from tests.factories import UserFactory

LEDGER_URL = reverse("privacy:staff_ledger")
REGISTRY_URL = reverse("privacy:staff_third_parties")


@pytest.fixture
def admin(db):
    return UserFactory(email="dpo@example.com", roles=[PRIVACY_ADMIN])


@pytest.fixture
def staff(client, admin):
    client.force_login(admin)
    return client


def party(slug, role, **fields):
    return ThirdParty.objects.create(
        slug=slug,
        name=fields.pop("name", slug.title()),
        postal_address="1 Court St, Sacramento, CA",
        role=role,
        business=fields.pop("business", "Government"),
        purpose="n/a",
        categories=[],
        confidentiality_agreement=False,
        **fields,
    )


@pytest.fixture
def court(db):
    return party("superior-court", ThirdParty.Role.LEGAL, name="Superior Court of California")


@pytest.fixture
def adco(db):
    return party("adco", ThirdParty.Role.MARKETING_PARTNER, name="AdCo", business="Travel deals")


def legal_form(third_party, **overrides):
    return {
        "third_party": third_party.pk,
        "email": "subject@example.com",
        "categories": [PI.EMAIL, PI.NAME_AND_ADDRESS],
        "description": "Account records under subpoena",
        "reference": "SUB-2031-0042",
    } | overrides


def test_a_legal_disclosure_is_recorded_with_its_reference(staff, admin, court):
    account = UserFactory(email="subject@example.com")

    response = staff.post(LEDGER_URL, legal_form(court))

    assert response.status_code == 302
    row = Disclosure.objects.get()
    assert row.purpose == Disclosure.Purpose.LEGAL and row.personal
    assert row.third_party == court and row.user == account
    assert row.reference == "SUB-2031-0042" and row.recorded_by == admin
    assert row.categories == sorted([PI.EMAIL, PI.NAME_AND_ADDRESS])
    assert AuditEntry.objects.filter(action="disclosure.recorded").exists()


def test_a_person_without_an_account_is_named_by_a_keyed_hash(staff, court):
    staff.post(LEDGER_URL, legal_form(court, email="Guest@Example.com"))

    row = Disclosure.objects.get()
    assert row.user is None and len(row.subject_key) == 64
    assert "guest@example.com" not in row.subject_key


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"reference": ""}, "reference"),
        ({"categories": []}, "categories"),
        ({"email": "nobody"}, "email"),
    ],
)
def test_missing_parts_are_form_errors(staff, court, overrides, field):
    response = staff.post(LEDGER_URL, legal_form(court, **overrides))

    assert response.status_code == 400
    assert response.context["legal_form"].errors[field]
    assert not Disclosure.objects.exists()


def test_a_disclosure_to_a_marketing_partner_is_refused(staff, adco):
    response = staff.post(LEDGER_URL, legal_form(adco))

    assert response.status_code == 400
    errors = response.context["legal_form"].non_field_errors()
    assert any("never shared with third parties for their own marketing" in e for e in errors)
    assert not Disclosure.objects.exists()


def test_the_ledger_page_filters_and_is_audited(staff, court, admin):
    record_disclosure(
        third_party=court,
        purpose="legal",
        description="Subpoena",
        categories=[PI.EMAIL],
        email="a@example.com",
        reference="R-1",
    )
    record_disclosure(
        third_party="stripe",
        purpose="service",
        description="Checkout customer",
        categories=[PI.EMAIL],
        email="b@example.com",
    )

    everything = staff.get(LEDGER_URL).content.decode()
    legal_only = staff.get(LEDGER_URL, {"purpose": "legal"}).content.decode()
    bad_dates = staff.get(LEDGER_URL, {"since": "2031-02-02", "until": "2031-01-01"})

    assert "Subpoena" in everything and "Checkout customer" in everything
    assert "Subpoena" in legal_only and "Checkout customer" not in legal_only
    assert bad_dates.status_code == 400
    assert AuditEntry.objects.filter(action="privacy_ledger.view", actor=admin).count() == 3


def test_the_ledger_date_filter_includes_the_last_day(staff, court, time_machine):
    time_machine.move_to(datetime(2031, 1, 31, 23, 30, tzinfo=UTC), tick=False)
    record_disclosure(
        third_party=court,
        purpose="legal",
        description="Late January",
        categories=[PI.EMAIL],
        email="a@example.com",
        reference="R-2",
    )
    time_machine.move_to(datetime(2031, 2, 1, 10, 0, tzinfo=UTC), tick=False)
    staff.force_login(UserFactory(roles=[PRIVACY_ADMIN]))

    january = staff.get(LEDGER_URL, {"since": "2031-01-01", "until": "2031-01-31"})
    february = staff.get(LEDGER_URL, {"since": "2031-02-01"})

    assert "Late January" in january.content.decode()
    assert "Late January" not in february.content.decode()


def test_the_csv_has_every_row_with_formula_safe_cells(staff, court, admin):
    record_disclosure(
        third_party=court,
        purpose="legal",
        description='=HYPERLINK("http://x")',
        categories=[PI.EMAIL],
        email="a@example.com",
        reference="+R-3",
    )

    response = staff.get(LEDGER_URL, {"format": "csv", "purpose": "legal"})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode()
    header, row = list(csv.reader(io.StringIO(text)))
    assert header[0] == "time_utc" and len(row) == len(header)
    assert row[header.index("description")] == '\'=HYPERLINK("http://x")'
    assert row[header.index("reference")] == "'+R-3"
    assert row[header.index("third_party")] == "Superior Court of California"
    assert AuditEntry.objects.filter(action="privacy_ledger.export", actor=admin).exists()


def test_the_ledger_refuses_people_without_the_role(client, court):
    client.force_login(UserFactory(roles=[FINANCE]))

    assert client.get(LEDGER_URL).status_code == 403
    assert client.post(LEDGER_URL, legal_form(court)).status_code == 403
    assert not Disclosure.objects.exists()


# --- Registry ---------------------------------------------------------------------------------


def registry_form(**overrides):
    return {
        "slug": "acme-dns",
        "name": "Acme DNS",
        "postal_address": "3 Main St, Denver, CO",
        "role": "service_provider",
        "business": "DNS hosting",
        "purpose": "Resolves our domain names",
        "categories": [PI.EMAIL],
        "confidentiality_agreement": "on",
        "privacy_policy_url": "https://acme.example/privacy",
        "active": "on",
    } | overrides


def test_the_registry_lists_the_seeded_parties_and_warns_about_marketing(staff, adco):
    html = staff.get(REGISTRY_URL).content.decode()

    for name in ("Stripe", "AdCo"):
        assert name in html
    assert "personal information is never disclosed to them" in html
    assert "No personal information" in html  # on the marketing partner's row


def test_a_third_party_is_added_and_edited(staff, admin):
    added = staff.post(REGISTRY_URL, registry_form())

    assert added.status_code == 302
    acme = ThirdParty.objects.get(slug="acme-dns")
    assert acme.categories == [PI.EMAIL] and acme.confidentiality_agreement

    edit_url = reverse("privacy:staff_third_party_edit", args=["acme-dns"])
    edited = staff.post(edit_url, registry_form(slug="renamed", business="DNS and CDN"))

    assert edited.status_code == 302
    acme.refresh_from_db()
    assert acme.business == "DNS and CDN" and acme.slug == "acme-dns"  # the slug stays
    assert AuditEntry.objects.filter(action="third_party.changed", target_id="acme-dns").exists()


def test_bad_registry_input_is_a_form_error(staff):
    response = staff.post(REGISTRY_URL, registry_form(slug="stripe", role="spy"))

    assert response.status_code == 400
    assert response.context["form"].errors["slug"] and response.context["form"].errors["role"]
