"""Settings → Delete account is a deletion request, carried out at once through the same
erasure staff run: the person's meetings, recordings and tickets go, a running plan is
cancelled at Stripe and Stripe is told to delete the customer, and the request's record
names the person themself as the one who acted."""

import threading

import pytest
from django.core import mail
from django.db import connection
from django.urls import reverse

from billing import tasks as billing_tasks
from meetings.models import Invitation, Meeting
from privacy.models import AuditEntry, OutgoingEmail, PrivacyRequest
from privacy.requests import account_deletion, provider_directions
from privacy.requests import tasks as request_tasks
from privacy.requests.services import RequestError
from privacy.subjects import ErasureLine
from recordings import storage
from recordings.models import Recording
from support.models import Ticket
from tests.billing.factories import CustomerFactory, SubscriptionFactory
from tests.factories import UserFactory
from tests.meetings.factories import MeetingFactory
from tests.recordings.factories import RecordingFactory

DELETE_URL = reverse("accounts:delete")
EMAIL = "hana.host@example.com"
NAME = "Hana Hostington"


@pytest.fixture
def host(db):
    return UserFactory(email=EMAIL, full_name=NAME)


@pytest.fixture
def seeded(host, settings):
    """A meeting with invitees and its recording on disk, a ticket, a running plan."""
    settings.STRIPE_SECRET_KEY = "sk_test_delete_from_settings"  # Stripe is asked by API
    meeting = MeetingFactory(host=host, invitees=["ivo@example.com", "ines@example.com"])
    recording = RecordingFactory(host=host, meeting=meeting)
    ticket = Ticket.objects.create(
        name=NAME, email=EMAIL, topic="billing", message="Please call me.", user=host
    )
    subscription = SubscriptionFactory(customer=CustomerFactory(user=host))
    return {
        "meeting": meeting,
        "recording": recording,
        "file": storage.composed_path(recording),
        "ticket": ticket,
        "subscription": subscription,
    }


@pytest.fixture
def queued(monkeypatch):
    """The Stripe tasks the erasure leaves for after the commit, caught instead of sent."""
    calls = {"cancel": [], "delete_customer": []}
    monkeypatch.setattr(
        billing_tasks.cancel_subscription_for_erasure,
        "delay",
        lambda *args: calls["cancel"].append(args),
    )
    monkeypatch.setattr(
        request_tasks.direct_stripe_deletion,
        "delay",
        lambda *args: calls["delete_customer"].append(args),
    )
    return calls


def text_of(response):
    return " ".join(response.content.decode().split())


def confirm(client, password):
    return client.post(DELETE_URL, {"password": password, "confirm": "on"})


def test_deleting_from_settings_is_the_erasure_of_a_deletion_request(
    client, host, password, seeded, queued, django_capture_on_commit_callbacks
):
    client.force_login(host)

    with django_capture_on_commit_callbacks(execute=True):
        response = confirm(client, password)

    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    host.refresh_from_db()
    assert not host.is_active and host.deleted_at is not None
    assert (host.email, host.full_name) != (EMAIL, NAME) and host.full_name == ""
    assert not Meeting.objects.filter(pk=seeded["meeting"].pk).exists()
    assert not Invitation.objects.filter(email__in=["ivo@example.com", "ines@example.com"])
    assert not Recording.objects.filter(pk=seeded["recording"].pk).exists()
    assert not seeded["file"].exists()
    assert not Ticket.objects.filter(pk=seeded["ticket"].pk).exists()
    customer_id = seeded["subscription"].customer.stripe_customer_id
    assert queued["cancel"] == [(seeded["subscription"].stripe_subscription_id,)]
    request = PrivacyRequest.objects.get()
    assert queued["delete_customer"] == [(request.pk, customer_id)]
    assert (request.kind, request.channel, request.state) == (
        "delete",
        "account_settings",
        "completed",
    )
    assert request.verified_at is not None and request.email != EMAIL
    events = list(request.events.all())
    assert [e.action for e in events][:3] == ["received", "reauthenticated", "started"]
    assert events[-1].action == "completed"
    for event in (*events[:3], events[-1]):
        assert event.actor_id == host.pk
        assert event.actor_label == f"the requester (user:{host.pk})"
    assert provider_directions.DIRECTED in {e.action for e in events}
    audited = AuditEntry.objects.filter(
        action="privacy_request.completed", target_id=request.reference
    )
    assert audited.get().details == {"kind": "delete", "by_requester": True}
    # One email, the answer, sent before the address was forgotten.
    [answer] = [m for m in mail.outbox if EMAIL in m.to]
    assert request.reference in answer.subject
    assert not OutgoingEmail.objects.filter(to__iexact=EMAIL).exists()
    page = text_of(response)
    assert request.reference in page
    assert "Stripe, our payment processor, is asked to delete your customer record" in page
    assert response.context["deletion"].stripe_told
    assert "Meetings you host" in page


def test_a_wrong_password_changes_nothing(client, host, seeded):
    client.force_login(host)

    response = client.post(DELETE_URL, {"password": "not-it", "confirm": "on"})

    assert response.status_code == 400
    assert "not your password" in response.context["form"].errors["password"][0]
    host.refresh_from_db()
    assert host.is_active and host.email == EMAIL
    assert Meeting.objects.filter(pk=seeded["meeting"].pk).exists()
    assert seeded["file"].is_file()
    assert not PrivacyRequest.objects.exists()
    assert client.session["_auth_user_id"] == str(host.pk)


def test_an_account_without_a_password_is_told_to_set_one(client, host):
    host.set_unusable_password()
    host.save()
    client.force_login(host)

    response = client.post(DELETE_URL, {"password": "anything", "confirm": "on"})

    assert response.status_code == 400
    assert "no password yet" in response.context["form"].errors["password"][0]
    assert reverse("account_set_password") in response.content.decode()
    host.refresh_from_db()
    assert host.is_active


@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_visitors_are_sent_to_sign_in(client, db, method):
    response = getattr(client, method)(DELETE_URL)

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


def test_the_page_shows_what_will_be_deleted_and_kept_in_the_person_s_words(client, host, seeded):
    client.force_login(host)

    response = client.get(DELETE_URL)

    assert response.status_code == 200
    headings = [group.heading for group in response.context["groups"]]
    assert headings[0] == "Deleted"
    assert {"Cancelled", "Kept, and why", account_deletion.PROVIDERS_HEADING} <= set(headings)
    page = text_of(response)
    assert "Meetings you host" in page
    assert "Recordings you host, with your files" in page
    assert "so the card on file is not charged again" in page
    assert "Stripe, Inc.:</strong> delete your customer record" in page
    # The staff wording stays on the staff page.
    for jargon in ("privacy.", " rows", "erasure", "they host", "the person", "anonymis"):
        assert jargon not in page.lower(), jargon
    assert Meeting.objects.filter(pk=seeded["meeting"].pk).exists()  # a preview only


def test_a_second_submit_is_not_an_error(
    client, host, password, seeded, queued, django_capture_on_commit_callbacks
):
    client.force_login(host)
    with django_capture_on_commit_callbacks(execute=True):
        confirm(client, password)

    again = confirm(client, password)

    assert again.status_code == 302
    assert again.url.startswith(reverse("account_login"))
    assert PrivacyRequest.objects.count() == 1


def test_a_deletion_racing_a_finished_one_is_refused_not_repeated(host, seeded, queued):
    stale = type(host).objects.get(pk=host.pk)  # what a second request had loaded
    account_deletion.delete_own_account(user=host)

    with pytest.raises(RequestError, match="already deleted"):
        account_deletion.delete_own_account(user=stale)

    assert PrivacyRequest.objects.count() == 1


def test_a_provider_no_api_reaches_is_worded_for_the_person():
    line = ErasureLine(
        provider_directions.APP,
        "Acme Mail: no automated direction: write to them",
        1,
        "kept",
        reason="x",
    )
    account = ErasureLine(
        "accounts", "The account: the row stays so invoices keep their shape", 1, "anonymised"
    )

    groups = account_deletion.readable([account, line])

    assert groups[0].entries[0].text == "The account: the record stays so invoices keep their shape"
    [entry] = groups[-1].entries
    assert (entry.area, entry.text) == ("Acme Mail", account_deletion.BY_HAND)


@pytest.mark.django_db(transaction=True)
def test_two_submits_at_once_erase_once(queued):
    """Both passed the password check; the lock lets one erase and refuses the other."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no row locks to race on")
    host = UserFactory(email=EMAIL, full_name=NAME)
    MeetingFactory(host=host)
    start = threading.Barrier(2)
    outcomes = []

    def submit():
        start.wait()
        try:
            outcomes.append(account_deletion.delete_own_account(user=host).reference)
        except RequestError as error:
            outcomes.append(str(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes) == sorted(
        [PrivacyRequest.objects.get().reference, "This account is already deleted."]
    )
