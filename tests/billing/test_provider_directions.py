"""A deletion request directs the service providers to delete: Stripe through its API
(on localstripe, retried while it is down), the others recorded at once, and the dry run
says what each will be asked. Here, beside billing's tests, for their localstripe."""

from functools import partial

import pytest
import requests
from celery.exceptions import Retry

from billing import gateway
from billing import services as billing_services
from billing.models import Subscription
from privacy.models import Disclosure, PrivacyRequestEvent, ThirdParty
from privacy.requests import provider_directions, services
from privacy.requests.tasks import direct_stripe_deletion
from tests.factories import UserFactory
from tests.privacy.people import tables_holding
from tests.privacy.request_helpers import submit

from .conftest import API_KEY
from .factories import CustomerFactory, SubscriptionFactory

EMAIL = "dana.delete@example.com"
NAME = "Dana Deletewell"


@pytest.fixture
def person(db):
    return UserFactory(email=EMAIL, full_name=NAME)


@pytest.fixture
def admin(db):
    return UserFactory(email="dpo@example.com")


def delete_request(person):
    return submit(kind="delete", user=person, email=EMAIL, name=NAME)


def stripe_customer(env, customer_id):
    """What localstripe answers for the customer: its JSON, or None when it has none."""
    response = requests.get(f"{env.url}/v1/customers/{customer_id}", auth=(API_KEY, ""), timeout=10)
    if response.status_code == 404:
        return None
    response.raise_for_status()
    return response.json()


def ledger(request, slug):
    return Disclosure.objects.filter(third_party__slug=slug, reference=request.reference)


def history(request):
    return list(
        PrivacyRequestEvent.objects.filter(
            request=request, action__startswith="provider_"
        ).values_list("action", "note")
    )


def stripe_tasks(callbacks):
    return [
        c.args
        for c in callbacks
        if isinstance(c, partial) and c.func == direct_stripe_deletion.delay
    ]


def provider_lines(lines):
    return [line for line in lines if line.app == provider_directions.APP]


def test_an_erasure_deletes_the_customer_at_stripe_and_records_each_direction(
    localstripe, person, admin, django_capture_on_commit_callbacks
):
    customer_id = billing_services.ensure_customer(user=person).stripe_customer_id
    assert stripe_customer(localstripe, customer_id)["email"] == EMAIL
    request = delete_request(person)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        lines = services.erase(request=request, actor=admin)

    assert stripe_tasks(callbacks) == [(request.pk, customer_id)]
    gone = stripe_customer(localstripe, customer_id)
    assert gone is None or gone.get("deleted") is True
    [row] = ledger(request, "stripe")
    assert row.purpose == Disclosure.Purpose.SERVICE
    assert row.description == (
        f"Directed to delete the customer record (erasure request {request.reference})."
    )
    assert row.categories == sorted(ThirdParty.objects.get(slug="stripe").categories)
    request.refresh_from_db()
    assert row.subject_key == request.subject_key and row.user is None
    for slug in ("aws-hosting", "amazon-ses"):
        assert ledger(request, slug).get().subject_key == request.subject_key
    events = history(request)
    assert [action for action, _ in events] == [
        "provider_directed",
        "provider_directed",
        "provider_directed",
        "provider_deleted",
    ]
    assert events[-1][1] == f"Stripe, Inc.: deleted customer record {customer_id}."
    assert sorted(line.what.split(": ")[0] for line in provider_lines(lines)) == [
        "Amazon Web Services, Inc.",
        "Amazon Web Services, Inc. (Amazon SES)",
        "Stripe, Inc.",
    ]
    # Nothing new holds the address or the name: the ledger has the keyed hash only.
    assert tables_holding(EMAIL) == {}
    assert tables_holding(NAME) == {}


def test_while_stripe_is_down_the_task_retries_then_succeeds_when_it_is_back(
    localstripe, person, admin, settings, monkeypatch, django_capture_on_commit_callbacks
):
    customer_id = billing_services.ensure_customer(user=person).stripe_customer_id
    request = delete_request(person)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.erase(request=request, actor=admin)
    [(request_pk, queued_id)] = stripe_tasks(callbacks)

    # Stripe down: nothing listens there, and stripe-python's own retries are off.
    monkeypatch.setattr(gateway, "http_client_override", None)
    monkeypatch.setattr(gateway, "MAX_NETWORK_RETRIES", 0)
    monkeypatch.setattr(gateway, "_clients", {})
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"
    with pytest.raises(Retry) as retry:
        direct_stripe_deletion.apply(args=[request_pk, queued_id])

    assert retry.value.when == 60
    assert isinstance(retry.value.exc, gateway.GatewayError)
    assert stripe_customer(localstripe, customer_id)["email"] == EMAIL
    assert not ledger(request, "stripe").exists()

    settings.STRIPE_API_BASE = localstripe.url
    result = direct_stripe_deletion.apply(args=[request_pk, queued_id], retries=1)

    assert result.get() == "deleted"
    gone = stripe_customer(localstripe, customer_id)
    assert gone is None or gone.get("deleted") is True
    assert ledger(request, "stripe").count() == 1


def test_the_task_run_twice_writes_one_ledger_row(
    localstripe, person, admin, django_capture_on_commit_callbacks
):
    customer_id = billing_services.ensure_customer(user=person).stripe_customer_id
    request = delete_request(person)
    with django_capture_on_commit_callbacks(execute=True):
        services.erase(request=request, actor=admin)

    # Delivered again (acks_late after a lost worker): Stripe has no such customer now.
    again = direct_stripe_deletion.apply(args=[request.pk, customer_id])

    assert again.get() == "already recorded"
    assert ledger(request, "stripe").count() == 1
    assert [a for a, _ in history(request)].count("provider_deleted") == 1


def test_the_dry_run_lists_each_active_provider_and_changes_nothing(stripe_settings, person):
    CustomerFactory(user=person, stripe_customer_id="cus_dana")
    ThirdParty.objects.filter(slug="amazon-ses").update(active=False)
    ThirdParty.objects.create(
        slug="acme-support",
        name="Acme Helpdesk",
        postal_address="1 Main St",
        role=ThirdParty.Role.SERVICE_PROVIDER,
        business="Support tickets",
        purpose="Answers support tickets.",
        categories=["email"],
        confidentiality_agreement=True,
    )
    ThirdParty.objects.create(
        slug="static-cdn",
        name="Static CDN",
        postal_address="2 Main St",
        role=ThirdParty.Role.SERVICE_PROVIDER,
        business="Serves our stylesheets",
        purpose="Serves static files; receives no personal information.",
        categories=[],
        confidentiality_agreement=True,
    )
    request = delete_request(person)
    before = (Disclosure.objects.count(), PrivacyRequestEvent.objects.count())

    lines = provider_lines(services.erasure_preview(request=request))

    assert (Disclosure.objects.count(), PrivacyRequestEvent.objects.count()) == before
    by_name = {line.what.split(": ")[0]: line for line in lines}
    assert sorted(by_name) == ["Acme Helpdesk", "Amazon Web Services, Inc.", "Stripe, Inc."]
    assert by_name["Stripe, Inc."].action == "deleted"
    assert "delete their customer record" in by_name["Stripe, Inc."].what
    assert by_name["Amazon Web Services, Inc."].action == "deleted"
    assert by_name["Acme Helpdesk"].action == "kept"
    assert "write to them" in by_name["Acme Helpdesk"].what


def test_without_a_stripe_customer_no_task_but_the_other_directions_are_recorded(
    db, person, admin, django_capture_on_commit_callbacks
):
    request = delete_request(person)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        lines = services.erase(request=request, actor=admin)

    assert stripe_tasks(callbacks) == []
    assert not ledger(request, "stripe").exists()
    request.refresh_from_db()
    for slug in ("aws-hosting", "amazon-ses"):
        row = ledger(request, slug).get()
        assert row.subject_key == request.subject_key
        assert row.categories == sorted(ThirdParty.objects.get(slug=slug).categories)
    notes = [note for _, note in history(request)]
    assert len(notes) == 2 and not any("Stripe" in note for note in notes)
    assert {line.action for line in provider_lines(lines)} == {"deleted"}


def test_with_payments_switched_off_staff_are_told_to_delete_it_by_hand(
    db, person, admin, django_capture_on_commit_callbacks
):
    CustomerFactory(user=person, stripe_customer_id="cus_offline")
    request = delete_request(person)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.erase(request=request, actor=admin)

    assert stripe_tasks(callbacks) == []
    assert not ledger(request, "stripe").exists()
    [(action, note)] = [e for e in history(request) if "Stripe" in e[1]]
    assert action == "provider_to_direct"
    assert "cus_offline" in note and "dashboard" in note


def test_the_deletion_waits_for_billing_to_cancel_a_running_subscription(stripe_settings, person):
    customer = CustomerFactory(user=person, stripe_customer_id="cus_running")
    SubscriptionFactory(customer=customer, status=Subscription.Status.ACTIVE)
    request = delete_request(person)

    with pytest.raises(provider_directions.WaitForCancellation):
        provider_directions.delete_at_stripe(
            request_id=request.pk, stripe_customer_id="cus_running", attempt=0
        )
    with pytest.raises(Retry):
        direct_stripe_deletion.apply(args=[request.pk, "cus_running"])
