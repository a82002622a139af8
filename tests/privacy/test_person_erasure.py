"""Delete: every app's erase for one person, the dry run staff see first, and the result."""

import pytest
from celery.exceptions import Retry

from accounts.models import User
from billing import gateway, mirror
from billing.models import Customer, Invoice, MrrChange, Subscription, WebhookEvent
from meetings import attendance
from meetings.models import Invitation, Meeting, ParticipantSession
from privacy import audit
from privacy.models import AuditEntry, CookieConsent, Disclosure, EmailPreference, OutgoingEmail
from privacy.requests import data_map
from privacy.subjects import REMOVED_DOMAIN, REMOVED_NAME, ErasureLine, Subject
from recordings import storage
from recordings.models import ConsentReceipt, Recording
from support.models import Ticket
from tests.privacy.people import (
    GUEST_EMAIL,
    PERSON_EMAIL,
    SECOND_EMAIL,
    build_world,
    row_counts,
    tables_holding,
)


@pytest.fixture
def world(db):
    return build_world()


def summary_of(occurrence):
    rows = attendance.attendance_for(occurrence)
    return attendance.summarise(rows), sorted(row.seconds for row in rows)


def by_what(lines):
    return {(line.app, line.action, line.what.split(":")[0]): line.count for line in lines}


def test_a_dry_run_changes_nothing_and_says_what_would_happen(world):
    counts = row_counts()
    holding = tables_holding(PERSON_EMAIL)
    file = storage.composed_path(world.hosted_recording)

    lines = data_map.erase_person(Subject.for_user(world.person), dry_run=True)

    assert row_counts() == counts
    assert tables_holding(PERSON_EMAIL) == holding
    assert file.is_file()
    world.person.refresh_from_db()
    assert world.person.is_active and world.person.email == PERSON_EMAIL
    counted = by_what(lines)
    assert counted[("meetings", "deleted", "Meetings they host")] == 1
    assert (
        counted[("meetings", "anonymised", "Their attendance rows in other hosts' meetings")] == 3
    )
    assert counted[("meetings", "anonymised", "Invitations they received from other hosts")] == 1
    assert (
        counted[
            (
                "recordings",
                "deleted",
                "Recordings they host, with their files (also those still being processed)",
            )
        ]
        == 1
    )
    assert (
        counted[("recordings", "anonymised", "Their consent receipts on other hosts' recordings")]
        == 1
    )
    assert counted[("support", "deleted", "Contact tickets they wrote")] == 1
    assert counted[("privacy", "deleted", "Email preferences (and suppression entries)")] == 1
    assert counted[("accounts", "anonymised", "The account")] == 1
    assert (
        counted[
            (
                "billing",
                "anonymised",
                "Link between their account and their billing customer",
            )
        ]
        == 1
    )
    kept = [line for line in lines if line.action == "kept"]
    assert {line.what for line in kept} >= {
        "Disclosure ledger entries about them",
        "Audit log entries by or about their account",
    }
    billing_kept = {line.what.split(" (")[0]: line for line in kept if line.app == "billing"}
    assert set(billing_kept) == {
        "Invoices",
        "Billing customer record",
        "Ended subscriptions",
        "Revenue history entries of their subscriptions",
        "Stripe events received about their billing",
    }
    assert all(line.count == 1 for line in billing_kept.values())
    invoices = billing_kept["Invoices"]
    assert "Tax and accounting records" in invoices.reason and "7 years" in invoices.reason
    assert "26 CFR 1.6001-1" in invoices.reason
    assert "Stripe" in billing_kept["Billing customer record"].reason
    assert all(line.reason for line in kept)
    assert all(line.count > 0 for line in lines)


def test_the_real_erase_does_what_the_dry_run_said(world, django_capture_on_commit_callbacks):
    subject = Subject.for_user(world.person)
    planned = data_map.erase_person(subject, dry_run=True)

    with django_capture_on_commit_callbacks(execute=True):
        done = data_map.erase_person(subject, dry_run=False)

    assert done == planned
    # A second run finds only what is kept on purpose (the ledger knows the address's hash).
    again = data_map.erase_person(Subject.for_email(PERSON_EMAIL), dry_run=True)
    assert [(line.app, line.action) for line in again] == [("privacy", "kept")]


def test_after_erasure_no_table_holds_the_address(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        data_map.erase_person(Subject.for_user(world.person), dry_run=False)

    assert tables_holding(PERSON_EMAIL) == {}
    assert tables_holding(SECOND_EMAIL) == {}
    assert tables_holding("Pat Person") == {}
    assert audit.verify_chain().ok


def test_after_erasure_the_account_is_blank_and_closed(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        data_map.erase_person(Subject.for_user(world.person), dry_run=False)

    person = User.objects.get(pk=world.person.pk)
    assert not person.is_active and person.deleted_at is not None
    assert not person.has_usable_password()
    assert person.full_name == "" and person.company == ""
    assert not Meeting.objects.filter(host=person).exists()
    assert not Recording.objects.filter(host=person).exists()
    assert not storage.directory(world.hosted_recording).exists()
    assert not Ticket.objects.filter(pk=world.ticket.pk).exists()
    # Kept, naming the account only by id.
    assert Disclosure.objects.filter(user=person).count() == 1
    assert AuditEntry.objects.filter(actor=person).count() == 1
    assert AuditEntry.objects.get(actor=person).actor_label == f"user:{person.pk}"
    assert CookieConsent.objects.filter(user__isnull=True, gpc=True).count() == 1


def test_billing_keeps_the_invoices_and_cuts_the_link_to_the_account(
    world, django_capture_on_commit_callbacks
):
    olga_customer = Customer.objects.get(user=world.other_host)

    with django_capture_on_commit_callbacks(execute=True):
        data_map.erase_person(Subject.for_user(world.person), dry_run=False)

    customer = Customer.objects.get(pk=world.customer.pk)
    assert customer.user_id is None
    assert customer.stripe_customer_id == "cus_pat"
    invoice = Invoice.objects.get(pk=world.invoice.pk)
    assert (invoice.customer_id, invoice.number, invoice.amount_paid) == (
        customer.pk,
        "CONF-0042",
        1500,
    )
    assert Subscription.objects.filter(pk=world.subscription.pk, customer=customer).exists()
    assert MrrChange.objects.filter(customer=customer).count() == 1
    assert WebhookEvent.objects.filter(stripe_event_id="evt_pat_paid").exists()
    assert not Customer.objects.filter(user=world.person).exists()
    # Another customer keeps their account.
    assert Customer.objects.get(pk=olga_customer.pk).user == world.other_host
    # A new export finds no billing for the (blanked) account any more.
    export = data_map.export_person(Subject.for_user(User.objects.get(pk=world.person.pk)))
    assert export["billing"] == {"customer": [], "subscriptions": [], "invoices": []}


def test_a_running_subscription_is_cancelled_at_stripe_only_after_the_erasure_commits(
    world, monkeypatch, settings, django_capture_on_commit_callbacks
):
    settings.STRIPE_SECRET_KEY = "sk_test_erasure"
    Subscription.objects.filter(pk=world.subscription.pk).update(
        status=Subscription.Status.ACTIVE, canceled_at=None, ended_at=None
    )
    cancelled = []
    monkeypatch.setattr(
        gateway,
        "cancel_subscription_now",
        lambda **kwargs: cancelled.append(kwargs),
    )
    monkeypatch.setattr(
        mirror,
        "sync_subscription",
        lambda sid, **kwargs: Subscription.objects.get(stripe_subscription_id=sid),
    )
    subject = Subject.for_user(world.person)
    planned = data_map.erase_person(subject, dry_run=True)
    assert cancelled == []  # a dry run calls nobody

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        done = data_map.erase_person(subject, dry_run=False)
    assert cancelled == []  # nothing inside the transaction
    for callback in callbacks:
        callback()

    assert done == planned
    [running] = [line for line in done if line.what.startswith("Subscriptions still running")]
    assert (running.app, running.action, running.count) == ("billing", "cancelled", 1)
    assert cancelled == [
        {
            "subscription_id": world.subscription.stripe_subscription_id,
            "idempotency_key": f"erasure-cancel-{world.subscription.stripe_subscription_id}",
        }
    ]
    assert not [line for line in done if line.what.startswith("Ended subscriptions")]


def test_other_hosts_keep_their_attendance_counts(world, django_capture_on_commit_callbacks):
    before = summary_of(world.other_occurrence)

    with django_capture_on_commit_callbacks(execute=True):
        data_map.erase_person(Subject.for_user(world.person), dry_run=False)

    after = summary_of(world.other_occurrence)
    assert after == before
    assert before[0].unique_participants == 5  # Olga, Pat, Pat as a guest, Xena, Gia
    sessions = ParticipantSession.objects.filter(occurrence=world.other_occurrence)
    removed = sessions.filter(display_name=REMOVED_NAME)
    assert removed.count() == 3
    assert all(s.email.endswith("@" + REMOVED_DOMAIN) for s in removed)
    assert all("pat" not in s.email for s in removed)
    # The two signed-in sessions share the account; the guest session got its own stand-in.
    assert len({s.email for s in removed}) == 2
    assert set(
        sessions.exclude(display_name=REMOVED_NAME).values_list("display_name", flat=True)
    ) == {
        "Olga Other",
        "Xena",
        "Gia",
    }
    invitations = set(world.other_meeting.invitations.values_list("email", flat=True))
    assert {"xena@example.com", GUEST_EMAIL} < invitations and len(invitations) == 3


def test_other_people_s_rows_are_untouched(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        data_map.erase_person(Subject.for_user(world.person), dry_run=False)

    assert Ticket.objects.filter(pk=world.other_ticket.pk).exists()
    assert EmailPreference.objects.filter(email="olga.other@example.com").exists()
    assert Disclosure.objects.filter(user=world.other_host).exists()
    assert Recording.objects.filter(pk=world.other_recording.pk).exists()
    assert storage.composed_path(world.other_recording).is_file()
    receipts = ConsentReceipt.objects.filter(recording=world.other_recording)
    assert set(receipts.values_list("display_name", flat=True)) == {REMOVED_NAME, "Gia", "Xena"}
    assert User.objects.get(pk=world.other_host.pk).email == "olga.other@example.com"


def test_the_host_s_unsent_invitations_that_name_them_are_withdrawn(
    world, django_capture_on_commit_callbacks
):
    to_ivy = OutgoingEmail.objects.get(to="ivy.invitee@example.com")
    assert PERSON_EMAIL in to_ivy.calendar  # the host is the invitation's organiser

    with django_capture_on_commit_callbacks(execute=True):
        data_map.erase_person(Subject.for_user(world.person), dry_run=False)

    to_ivy.refresh_from_db()
    assert to_ivy.status == OutgoingEmail.Status.FAILED
    assert to_ivy.calendar == "" and to_ivy.text_body == ""


def test_a_failed_erasure_rolls_back_everything_and_keeps_the_files(
    world, monkeypatch, django_capture_on_commit_callbacks
):
    from support import privacy_data as support_data

    def broken(subject, *, dry_run):
        raise RuntimeError("database went away")

    # Support runs after recordings and meetings have done their part.
    monkeypatch.setattr(support_data, "erase_for", broken)
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
    ):
        data_map.erase_person(Subject.for_user(world.person), dry_run=False)

    assert callbacks == []  # the file removal was dropped with the transaction
    assert Recording.objects.filter(pk=world.hosted_recording.pk).exists()
    assert storage.composed_path(world.hosted_recording).is_file()
    assert ParticipantSession.objects.filter(email=PERSON_EMAIL).count() == 3
    assert User.objects.get(pk=world.person.pk).is_active


def test_an_attendee_without_an_account_is_anonymised(world, django_capture_on_commit_callbacks):
    subject = Subject.for_email(GUEST_EMAIL)
    before = summary_of(world.other_occurrence)
    planned = data_map.erase_person(subject, dry_run=True)

    with django_capture_on_commit_callbacks(execute=True):
        done = data_map.erase_person(subject, dry_run=False)

    assert done == planned
    assert {(line.app, line.action) for line in done} == {
        ("meetings", "anonymised"),
        ("recordings", "anonymised"),
        ("privacy", "deleted"),  # the invitation email queued to them
    }
    assert tables_holding(GUEST_EMAIL) == {}
    assert tables_holding("Gia") == {}
    assert summary_of(world.other_occurrence) == before
    world.guest_receipt.refresh_from_db()
    assert world.guest_receipt.display_name == REMOVED_NAME
    assert world.guest_receipt.decision == ConsentReceipt.Decision.ACCEPTED
    assert not Invitation.objects.filter(email__iexact=GUEST_EMAIL).exists()
    # Pat, who has an account, is not touched by Gia's erasure.
    assert tables_holding(PERSON_EMAIL)


def test_the_audit_log_stores_an_account_id_and_keyed_hashes_not_addresses(world):
    entry = audit.record(
        actor="Visitor <walk.in@example.com>",
        action="request.received",
        target_type="email",
        target_id="walk.in@example.com",
        purpose="Request by walk.in@example.com",
        details={"emails": ["walk.in@example.com"], "nested": {"to": "walk.in@example.com"}},
    )

    entry.refresh_from_db()
    assert tables_holding("walk.in@example.com") == {}
    assert entry.target_id.startswith("email-key:")
    assert entry.actor_label.startswith("Visitor <email-key:")
    assert entry.purpose == f"Request by {entry.target_id}"
    assert audit.verify_chain().ok


def test_an_erasure_line_that_keeps_rows_must_say_why():
    with pytest.raises(ValueError, match="why"):
        ErasureLine("privacy", "Ledger", 1, "kept")
    with pytest.raises(ValueError, match="action"):
        ErasureLine("privacy", "Ledger", 1, "hidden")  # type: ignore[arg-type]


def test_the_erasure_cancellation_retries_while_stripe_is_down(world, monkeypatch, settings):
    from billing.tasks import cancel_subscription_for_erasure

    settings.STRIPE_SECRET_KEY = "sk_test_erasure"
    calls = []

    def down(**kwargs):
        calls.append(kwargs)
        raise gateway.GatewayError("Stripe is down")

    monkeypatch.setattr(gateway, "cancel_subscription_now", down)
    sid = world.subscription.stripe_subscription_id

    # Scheduled again, with backoff, while retries remain...
    with pytest.raises(Retry):
        cancel_subscription_for_erasure.apply(args=[sid])
    # ...and after the last one it fails loudly, for the task's error log.
    with pytest.raises(gateway.GatewayError):
        cancel_subscription_for_erasure.apply(
            args=[sid], retries=cancel_subscription_for_erasure.max_retries
        )
    assert len(calls) == 2
