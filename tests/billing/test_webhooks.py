"""Webhook intake (verify, store once, enqueue) and processing (claim, re-fetch, retry)."""

from __future__ import annotations

import json
import random
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from billing import webhooks
from billing.models import Customer, Invoice, MrrChange, Subscription, WebhookEvent
from tests.factories import UserFactory

from .conftest import WEBHOOK_SECRET, plan
from .stripe_boundary import checkout_completed, make_event, post_event, signature_header

pytestmark = pytest.mark.django_db
URL = reverse("billing:stripe_webhook")


def _paid_subscription(localstripe, user, slug="pro-monthly"):
    """A customer of ours with a subscription at Stripe, and its events not delivered yet."""
    from billing import services

    customer = services.ensure_customer(user=user)
    stripe_subscription = localstripe.side.complete_checkout(
        customer.stripe_customer_id, plan(slug).stripe_price_id
    )
    return customer, stripe_subscription


def _new_events(localstripe):
    events = [e for e in localstripe.side.events() if e["id"] not in localstripe.delivered]
    localstripe.delivered.update(e["id"] for e in events)
    return events


# --- Intake --------------------------------------------------------------------------


def test_bad_signature_is_refused_and_nothing_stored(client, stripe_settings):
    payload = json.dumps(make_event("invoice.paid", {"id": "in_123", "object": "invoice"})).encode()

    response = client.post(
        URL,
        data=payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=signature_header(payload, "whsec_someone_else"),
    )

    assert response.status_code == 400
    assert response.json() == {"error": "The Stripe-Signature header does not match the body."}
    assert not WebhookEvent.objects.exists()


def test_a_tampered_body_is_refused(client, stripe_settings):
    event = make_event("invoice.paid", {"id": "in_123", "object": "invoice"})
    payload = json.dumps(event).encode()
    header = signature_header(payload, WEBHOOK_SECRET)

    response = client.post(
        URL,
        data=payload.replace(b"in_123", b"in_999"),
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=header,
    )

    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()


@pytest.mark.parametrize("header", ["", "t=abc", "v1=deadbeef"])
def test_a_missing_or_malformed_signature_is_refused(client, stripe_settings, header):
    response = client.post(
        URL, data=b"{}", content_type="application/json", HTTP_STRIPE_SIGNATURE=header
    )

    assert response.status_code == 400
    assert "error" in response.json()
    assert not WebhookEvent.objects.exists()


def test_an_old_signature_is_refused(client, stripe_settings):
    payload = json.dumps(make_event("invoice.paid", {"id": "in_1", "object": "invoice"})).encode()
    stale = int((timezone.now() - timedelta(minutes=10)).timestamp())

    response = client.post(
        URL,
        data=payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=signature_header(payload, WEBHOOK_SECRET, timestamp=stale),
    )

    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()


@pytest.mark.parametrize(
    "body",
    [b"[1, 2]", b"not json", json.dumps({"id": "evt_1", "type": "invoice.paid"}).encode()],
)
def test_a_signed_body_that_is_not_an_event_is_refused(client, stripe_settings, body):
    response = client.post(
        URL,
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=signature_header(body, WEBHOOK_SECRET),
    )

    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()


def _signed_post(client, body, *, timestamp=None):
    return client.post(
        URL,
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=signature_header(body, WEBHOOK_SECRET, timestamp=timestamp),
    )


def _created(created):
    event = make_event("invoice.paid", {"id": "in_1", "object": "invoice"})
    return json.dumps({**event, "created": created}).encode()


def _nested(depth):
    return ("[" * depth + "]" * depth).encode()


@pytest.mark.parametrize(
    "body",
    [
        _created(10**12),
        _created(-(10**15)),
        _nested(5_000),
        b'{"id": "evt_1", "data": ' + _nested(5_000) + b"}",
        b'{"id": "evt_\xff\xfe", "type": "invoice.paid"}',
        b"\xff\xfe\x00{}",
        b'{"id": "evt_1\xc3", "type": "invoice.paid", "created": 1, "data": {"object": {}}}',
    ],
    ids=[
        "created-1e12",
        "created-far-past",
        "nested-5000",
        "nested-in-event",
        "invalid-utf8-1",
        "invalid-utf8-2",
        "truncated-utf8",
    ],
)
def test_a_validly_signed_bad_body_is_a_400_with_a_json_error(client, stripe_settings, body):
    response = _signed_post(client, body)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert isinstance(response.json()["error"], str)
    assert not WebhookEvent.objects.exists()


@pytest.mark.parametrize("body", [b"\xff\xfe\xfd", b'{"id": "evt_\xc3("}'])
def test_an_unsigned_body_that_is_not_utf8_is_a_400(client, stripe_settings, body):
    response = client.post(URL, data=body, content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {"error": "The body is not UTF-8 text."}
    assert not WebhookEvent.objects.exists()


@pytest.mark.parametrize("ahead", [timedelta(days=7), timedelta(minutes=6)])
def test_a_signature_dated_in_the_future_is_refused(client, stripe_settings, ahead):
    payload = json.dumps(make_event("invoice.paid", {"id": "in_1", "object": "invoice"})).encode()
    future = int((timezone.now() + ahead).timestamp())

    response = _signed_post(client, payload, timestamp=future)

    assert response.status_code == 400
    assert response.json() == {"error": "The Stripe-Signature header is dated in the future."}
    assert not WebhookEvent.objects.exists()


def test_a_signature_a_little_ahead_is_accepted_for_clock_skew(client, stripe_settings):
    payload = json.dumps(make_event("ping", {"id": "x_1", "object": "thing"})).encode()
    ahead = int((timezone.now() + timedelta(minutes=2)).timestamp())

    response = _signed_post(client, payload, timestamp=ahead)

    assert response.status_code == 200
    assert WebhookEvent.objects.count() == 1


def test_without_a_webhook_secret_nothing_is_accepted(client, settings):
    settings.STRIPE_WEBHOOK_SECRET = ""
    payload = json.dumps(make_event("invoice.paid", {"id": "in_1"})).encode()

    response = client.post(
        URL,
        data=payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=signature_header(payload, ""),
    )

    assert response.status_code == 400
    assert response.json()["error"] == "Webhooks are not configured on this server."
    assert not WebhookEvent.objects.exists()


def test_only_post_is_allowed(client, stripe_settings):
    assert client.get(URL).status_code == 405


def test_an_event_we_do_not_act_on_is_kept_as_processed(client, stripe_settings, monkeypatch):
    enqueued = []
    monkeypatch.setattr(webhooks, "_enqueue", enqueued.append)
    event = make_event("customer.created", {"id": "cus_1", "object": "customer"})

    response = post_event(client, event, WEBHOOK_SECRET)

    assert response.status_code == 200
    row = WebhookEvent.objects.get()
    assert (row.status, row.type, row.object_id) == ("processed", "customer.created", "cus_1")
    assert enqueued == []


def test_intake_stores_then_enqueues_after_commit(client, stripe_settings, monkeypatch):
    enqueued = []
    monkeypatch.setattr(webhooks, "_enqueue", enqueued.append)
    event = make_event("customer.subscription.updated", {"id": "sub_1", "object": "subscription"})

    response = post_event(client, event, WEBHOOK_SECRET, commit=False)

    assert response.status_code == 200
    assert response.json() == {"received": event["id"], "duplicate": False}
    row = WebhookEvent.objects.get()
    assert (row.status, row.attempts, row.object_id) == ("pending", 0, "sub_1")
    assert enqueued == []  # nothing runs before the commit


# --- Exactly-once effects -------------------------------------------------------------


def test_the_same_event_five_times_has_one_effect(client, user, localstripe):
    _customer, stripe_subscription = _paid_subscription(localstripe, user)
    event = next(
        e for e in _new_events(localstripe) if e["type"] == "customer.subscription.created"
    )

    answers = [post_event(client, event, WEBHOOK_SECRET).json() for _ in range(5)]

    assert [a["duplicate"] for a in answers] == [False, True, True, True, True]
    row = WebhookEvent.objects.get(stripe_event_id=event["id"])
    assert (row.status, row.attempts) == ("processed", 1)
    assert (
        Subscription.objects.filter(stripe_subscription_id=stripe_subscription["id"]).count() == 1
    )
    assert list(MrrChange.objects.values_list("kind", "from_mrr_cents", "to_mrr_cents")) == [
        ("new", 0, 1500)
    ]
    retrieves = [
        r
        for r in localstripe.http.sent
        if r.method == "get" and r.path.startswith("/v1/subscriptions/")
    ]
    assert len(retrieves) == 2  # one to find the customer, one under its lock: once


def test_a_shuffled_sequence_gives_the_same_mirror_once(client, user, localstripe):
    customer, stripe_subscription = _paid_subscription(localstripe, user)
    events = _new_events(localstripe)
    events.append(
        checkout_completed(
            user_id=user.pk,
            customer_id=customer.stripe_customer_id,
            subscription_id=stripe_subscription["id"],
        )
    )
    # Then a cancellation, whose events may overtake the creation's.
    localstripe.side.post(
        f"/v1/subscriptions/{stripe_subscription['id']}", {"cancel_at_period_end": "true"}
    )
    updated = localstripe.side.get(f"/v1/subscriptions/{stripe_subscription['id']}")
    events.append(make_event("customer.subscription.updated", updated))
    random.Random(8).shuffle(events)

    for event in events + events[:3]:  # and a few redeliveries
        assert post_event(client, event, WEBHOOK_SECRET).status_code == 200

    subscription = Subscription.objects.get()
    assert subscription.stripe_subscription_id == stripe_subscription["id"]
    assert subscription.customer.user == user
    assert (subscription.status, subscription.cancel_at_period_end) == ("active", True)
    assert Invoice.objects.get().status == "paid"
    assert Customer.objects.count() == 1
    assert list(MrrChange.objects.values_list("kind", flat=True)) == ["new"]
    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {"processed"}
    assert WebhookEvent.objects.count() == len(events)


def test_a_subscription_event_first_links_the_customer_by_its_metadata(client, user, localstripe):
    from billing import gateway

    stripe_customer = gateway.create_customer(user=user, idempotency_key="test-customer")
    stripe_subscription = localstripe.side.complete_checkout(
        stripe_customer["id"], plan("pro-yearly").stripe_price_id
    )
    created = next(
        e for e in _new_events(localstripe) if e["type"] == "customer.subscription.created"
    )

    post_event(client, created, WEBHOOK_SECRET)

    subscription = Subscription.objects.get(stripe_subscription_id=stripe_subscription["id"])
    assert subscription.customer.user == user
    assert subscription.plan.slug == "pro-yearly"


# --- Failures, retries, the staff list ---------------------------------------------------


def _failing_handler(monkeypatch, calls):
    def fail(event):
        calls.append(event.stripe_event_id)
        raise RuntimeError("Stripe said no")

    monkeypatch.setitem(webhooks.HANDLERS, "customer.subscription.updated", fail)


def test_a_failing_handler_retries_then_is_failed(client, stripe_settings, monkeypatch):
    calls: list[str] = []
    _failing_handler(monkeypatch, calls)
    event = make_event("customer.subscription.updated", {"id": "sub_9", "object": "subscription"})

    response = post_event(client, event, WEBHOOK_SECRET)

    assert response.status_code == 200  # Stripe hears nothing of our trouble
    row = WebhookEvent.objects.get()
    assert row.status == WebhookEvent.Status.FAILED
    assert row.attempts == webhooks.MAX_ATTEMPTS
    assert len(calls) == webhooks.MAX_ATTEMPTS
    assert row.last_error == "RuntimeError: Stripe said no"


def test_failed_events_list_and_retry_for_finance(client, stripe_settings, monkeypatch):
    calls: list[str] = []
    _failing_handler(monkeypatch, calls)
    event = make_event("customer.subscription.updated", {"id": "sub_9", "object": "subscription"})
    post_event(client, event, WEBHOOK_SECRET)
    row = WebhookEvent.objects.get()
    client.force_login(UserFactory(roles=["finance"]))

    page = client.get(reverse("billing:staff_failed_events"))

    assert page.status_code == 200
    html = page.content.decode()
    assert event["id"] in html
    assert "RuntimeError: Stripe said no" in html

    # Fixed: the retry processes it.
    monkeypatch.setitem(webhooks.HANDLERS, "customer.subscription.updated", lambda e: None)
    with django_on_commit():
        response = client.post(reverse("billing:staff_retry_event", args=[row.pk]), follow=True)
    row.refresh_from_db()
    assert row.status == WebhookEvent.Status.PROCESSED
    assert row.last_error == ""
    assert "is queued for another" in response.content.decode()
    assert event["id"] not in client.get(reverse("billing:staff_failed_events")).content.decode()

    # Retrying what is not failed changes nothing.
    response = client.post(reverse("billing:staff_retry_event", args=[row.pk]), follow=True)
    assert "nothing to retry" in response.content.decode()


def django_on_commit():
    from django.test import TestCase

    return TestCase.captureOnCommitCallbacks(execute=True)


@pytest.mark.parametrize("roles", [[], ["privacy_admin"], ["support"]])
def test_failed_events_refuse_everyone_else(client, db, roles):
    event = WebhookEvent.objects.create(
        stripe_event_id="evt_x",
        type="invoice.paid",
        created=timezone.now(),
        payload={},
        status="failed",
    )
    client.force_login(UserFactory(roles=roles))

    assert client.get(reverse("billing:staff_failed_events")).status_code == 403
    assert client.post(reverse("billing:staff_retry_event", args=[event.pk])).status_code == 403
    event.refresh_from_db()
    assert event.status == "failed"


def test_failed_events_send_anonymous_visitors_to_sign_in(client, db):
    response = client.get(reverse("billing:staff_failed_events"))

    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]


def test_a_processed_event_is_not_processed_again(db):
    row = WebhookEvent.objects.create(
        stripe_event_id="evt_done",
        type="invoice.paid",
        created=timezone.now(),
        payload={},
        status="processed",
    )

    assert webhooks.process(row.pk) == webhooks.Outcome.SKIPPED
    row.refresh_from_db()
    assert row.attempts == 0


def test_a_claim_held_by_a_dead_worker_is_taken_over(db, monkeypatch):
    monkeypatch.setitem(webhooks.HANDLERS, "invoice.paid", lambda e: None)
    row = WebhookEvent.objects.create(
        stripe_event_id="evt_stuck",
        type="invoice.paid",
        created=timezone.now(),
        payload={},
        status="processing",
        attempts=1,
        claimed_at=timezone.now() - webhooks.CLAIM_LEASE - timedelta(seconds=1),
    )
    fresh = WebhookEvent.objects.create(
        stripe_event_id="evt_busy",
        type="invoice.paid",
        created=timezone.now(),
        payload={},
        status="processing",
        attempts=1,
        claimed_at=timezone.now(),
    )

    assert webhooks.process(row.pk) == webhooks.Outcome.PROCESSED
    assert webhooks.process(fresh.pk) == webhooks.Outcome.SKIPPED
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("processed", 2)


def test_only_references_are_stored_never_card_or_contact_details(client, stripe_settings):
    method = {
        "id": "pm_1",
        "object": "payment_method",
        "customer": {"id": "cus_1", "email": "host@example.com"},
        "billing_details": {"email": "host@example.com", "name": "Ada Host", "address": {}},
        "card": {"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2030},
    }

    post_event(client, make_event("payment_method.attached", method), WEBHOOK_SECRET)

    stored = json.dumps(WebhookEvent.objects.get().payload)
    assert '"customer": "cus_1"' in stored
    for secret in ("host@example.com", "Ada Host", "exp_month", "4242", "billing_details"):
        assert secret not in stored


def test_events_whose_task_was_lost_are_enqueued_again(db, monkeypatch):
    from billing import tasks

    enqueued: list[int] = []
    monkeypatch.setattr(webhooks, "_enqueue", enqueued.append)
    long_ago = timezone.now() - webhooks.STALLED_AFTER - timedelta(minutes=1)

    def event(name, received=long_ago, **fields):
        row = WebhookEvent.objects.create(
            stripe_event_id=f"evt_{name}",
            type="invoice.paid",
            created=long_ago,
            payload={},
            **fields,
        )
        WebhookEvent.objects.filter(pk=row.pk).update(received_at=received)
        return row

    lost = event("lost")
    dead_worker = event("dead", status="processing", claimed_at=long_ago)
    backing_off = event("backoff", attempts=2, claimed_at=timezone.now())
    fresh = event("fresh", received=timezone.now())
    done = event("done", status="processed")

    assert tasks.requeue_stalled_webhook_events() == 2

    assert sorted(enqueued) == sorted([lost.pk, dead_worker.pk])
    assert {backing_off.pk, fresh.pk, done.pk}.isdisjoint(enqueued)


def test_a_broker_outage_still_acknowledges_the_stored_event(client, stripe_settings, monkeypatch):
    def broker_down(event_pk):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(webhooks, "_enqueue", broker_down)
    event = make_event("invoice.paid", {"id": "in_1", "object": "invoice"})

    response = post_event(client, event, WEBHOOK_SECRET)

    assert response.status_code == 200
    assert WebhookEvent.objects.get().status == "pending"
