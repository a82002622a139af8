"""Consent changes and disclosures each write an entry to the hash-chained audit log."""

from django.urls import reverse

from privacy import audit, services
from privacy.consent.services import record_choice, record_gpc_signal
from privacy.disclosures import record_disclosure, subject_key
from privacy.email_categories import Category
from privacy.models import AuditEntry, Disclosure
from privacy.pi_categories import PersonalInfoCategory


def test_an_email_subscription_change_is_audited_without_the_address(db):
    services.set_subscription(
        email="Ann@Example.com",
        category=Category.NEWSLETTER,
        subscribed=True,
        source=services.Source.PREFERENCES,
    )

    entry = AuditEntry.objects.get(action="email_consent.subscribed")
    assert entry.details == {"category": "newsletter", "source": "preferences"}
    assert "ann@example.com" not in entry.target_id.lower()
    assert audit.verify_chain().ok


def test_an_unchanged_choice_writes_nothing(db):
    for _ in range(2):
        services.set_subscription(
            email="a@example.com",
            category=Category.SURVEYS,
            subscribed=True,
            source=services.Source.PREFERENCES,
        )
    assert AuditEntry.objects.filter(action="email_consent.subscribed").count() == 1


def test_a_one_click_unsubscribe_is_audited_once(client, db, django_capture_on_commit_callbacks):
    from privacy.tokens import make_unsubscribe_token

    token = make_unsubscribe_token(email="b@example.com", category=Category.MEETING_REMINDERS)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("privacy:unsubscribe", args=[token]),
            {"List-Unsubscribe": "One-Click"},
        )

    assert AuditEntry.objects.filter(action="email_consent.unsubscribed").count() == 1


def test_a_cookie_choice_is_audited_with_its_consent_id(db):
    receipt = record_choice(
        consent_id=None,
        previously_allowed=False,
        user=None,
        requested="reject_all",
        preferences=False,
        analytics=False,
        marketing=False,
        gpc=False,
        opted_out=False,
    )

    entry = AuditEntry.objects.get(target_type="cookie_consent")
    assert entry.action == "cookie_consent.reject_all"
    assert entry.target_id == str(receipt.consent_id)
    assert entry.actor_label == "visitor"


def test_a_gpc_opt_out_is_audited_when_it_is_first_recorded(user):
    record_gpc_signal(user=user)
    record_gpc_signal(user=user)

    assert AuditEntry.objects.filter(action="sale_sharing.opted_out").count() == 1


def test_a_disclosure_is_audited_by_its_ledger_row(db):
    row = record_disclosure(
        third_party="stripe",
        purpose=Disclosure.Purpose.SERVICE,
        description="Created the customer",
        categories=[PersonalInfoCategory.EMAIL],
        email="c@example.com",
    )

    entry = AuditEntry.objects.get(action="disclosure.recorded")
    assert entry.target_id == str(row.pk)
    assert entry.details["third_party"] == "stripe"
    assert entry.details["subject_key"] == subject_key("c@example.com")
    assert "c@example.com" not in str(entry.details)
