"""What the mailer tells the disclosure ledger, and what it forgets on request."""

import pytest
from django.core import mail

from privacy import mailer
from privacy.disclosures import subject_key
from privacy.email_categories import Category
from privacy.models import Disclosure, OutgoingEmail


@pytest.fixture
def send(django_capture_on_commit_callbacks):
    """Queue a message and let it leave, as it does once the transaction commits."""

    def queue(**kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            outgoing = mailer.send_email(**kwargs)
        outgoing.refresh_from_db()
        return outgoing

    return queue


def test_each_message_sent_through_a_provider_is_a_ledger_row(db, settings, send):
    settings.EMAIL_PROVIDER = "amazon-ses"

    send(to="Ann@Example.com", subject="Hi", text="Body", category=Category.TRANSACTIONAL)

    row = Disclosure.objects.get()
    assert row.third_party.slug == "amazon-ses"
    assert row.purpose == Disclosure.Purpose.SERVICE
    assert row.categories == ["email"]
    assert row.subject_key == subject_key("ann@example.com")


def test_without_a_provider_nothing_left_and_nothing_is_recorded(db, settings, send):
    settings.EMAIL_PROVIDER = ""
    send(to="a@example.com", subject="Hi", text="B", category=Category.TRANSACTIONAL)
    assert len(mail.outbox) == 1
    assert not Disclosure.objects.exists()


def test_a_suppressed_message_is_no_disclosure(db, settings, send):
    settings.EMAIL_PROVIDER = "amazon-ses"
    send(to="a@example.com", subject="Hi", text="B", category=Category.PROMOTIONS)
    assert mail.outbox == []
    assert not Disclosure.objects.exists()


def test_forget_recipient_blanks_the_address_once_the_message_is_out(db, send):
    outgoing = send(
        to="gone@example.com",
        subject="Done",
        text="Deleted",
        category=Category.TRANSACTIONAL,
        forget_recipient=True,
    )

    assert mail.outbox[0].to == ["gone@example.com"]
    assert outgoing.status == OutgoingEmail.Status.SENT
    assert outgoing.to == ""


def test_other_messages_keep_their_address_in_the_send_log(db, send):
    outgoing = send(to="kept@example.com", subject="Hi", text="B", category=Category.TRANSACTIONAL)
    outgoing.refresh_from_db()
    assert outgoing.to == "kept@example.com"


def test_a_message_that_never_went_out_forgets_too(db, settings, send):
    settings.EMAIL_BACKEND = "tests.privacy.test_mailer.FailingBackend"
    outgoing = OutgoingEmail.objects.create(
        to="gone@example.com",
        category=Category.TRANSACTIONAL,
        subject="s",
        text_body="t",
        forget_recipient=True,
    )
    mailer.give_up(outgoing.pk, "smtp down")
    outgoing.refresh_from_db()
    assert outgoing.status == OutgoingEmail.Status.FAILED and outgoing.to == ""
