"""A host's subscription from Checkout to the Free plan, for real against localstripe.

Checkout itself is replayed at the gateway boundary (localstripe has none); what Stripe
does on its pages is done on localstripe (StripeSide), and from the webhook on
everything runs for real: signed events, re-fetches, the mirror, the MRR log.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.template import Context, Template
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from billing import mrr, tasks
from billing.entitlements import entitlements_for
from billing.forms import issue_operation_id
from billing.models import Customer, Invoice, MrrChange, Subscription

from .conftest import WEBHOOK_SECRET, plan
from .stripe_boundary import checkout_completed, make_event, post_event

pytestmark = pytest.mark.django_db


def _subscribe(client, user, localstripe, slug="pro-monthly", seats=1, card="pm_card_visa"):
    """Checkout (replayed), Stripe's side of it (localstripe), then every event."""
    response = client.post(
        reverse("billing:checkout"),
        {"plan": slug, "seats": seats, "operation": issue_operation_id(user)},
    )
    assert response.status_code == 303
    assert response["Location"].startswith("https://checkout.stripe.com/")
    customer = Customer.objects.get(user=user)
    stripe_subscription = localstripe.side.complete_checkout(
        customer.stripe_customer_id, plan(slug).stripe_price_id, quantity=seats, payment_method=card
    )
    localstripe.deliver_new_events(client)
    event = checkout_completed(
        user_id=user.pk,
        customer_id=customer.stripe_customer_id,
        subscription_id=stripe_subscription["id"],
    )
    assert post_event(client, event, WEBHOOK_SECRET).status_code == 200
    return Subscription.objects.get(stripe_subscription_id=stripe_subscription["id"])


def _kinds(subscription):
    return [
        (c.kind, c.from_mrr_cents, c.to_mrr_cents)
        for c in MrrChange.objects.filter(subscription=subscription)
    ]


def test_subscribe_upgrade_fail_and_fall_back_to_free(client, user, localstripe):
    client.force_login(user)

    # Subscribe to Pro monthly through Checkout; the invoice is paid.
    subscription = _subscribe(client, user, localstripe)

    assert subscription.status == Subscription.Status.ACTIVE
    assert subscription.plan.slug == "pro-monthly"
    assert (subscription.card_brand, subscription.card_last4) == ("visa", "4242")
    assert subscription.current_period_end > timezone.now() + timedelta(days=27)
    invoice = Invoice.objects.get(subscription=subscription)
    assert (invoice.status, invoice.amount_paid) == ("paid", 1500)
    assert _kinds(subscription) == [("new", 0, 1500)]
    assert entitlements_for(user).plan_name == "Pro (monthly)"
    page = client.get(reverse("billing:plans")).content.decode()
    assert "Visa ending in 4242" in page
    assert "Manage billing" in page

    # Upgrade to Business with 3 seats: prorated at Stripe, expansion in the MRR log.
    response = client.post(
        reverse("billing:change_plan"),
        {"plan": "business-monthly", "seats": 3, "operation": issue_operation_id(user)},
    )
    assert response.status_code == 302
    subscription.refresh_from_db()
    assert (subscription.plan.slug, subscription.quantity) == ("business-monthly", 3)
    assert _kinds(subscription)[-1] == ("expansion", 1500, 6000)
    unused = localstripe.side.get(
        "/v1/invoiceitems", customer=subscription.customer.stripe_customer_id
    )
    assert [item["description"] for item in unused["data"]] == ["Unused time"]
    assert [item["amount"] for item in unused["data"]] == [-1500]
    assert entitlements_for(user).max_participants == 500

    # The card is swapped for one whose charges fail; moving to yearly bills at once.
    localstripe.side.use_card(
        subscription.customer.stripe_customer_id, "pm_card_chargeCustomerFail"
    )
    response = client.post(
        reverse("billing:change_plan"),
        {"plan": "pro-yearly", "operation": issue_operation_id(user)},
    )
    assert response.status_code == 302
    stripe_side = localstripe.side.get(f"/v1/subscriptions/{subscription.stripe_subscription_id}")
    assert stripe_side["status"] == "past_due"
    # localstripe does not emit invoice.payment_failed here; Stripe would. Its invoice is real.
    failed = localstripe.side.get(f"/v1/invoices/{stripe_side['latest_invoice']}")
    assert (
        post_event(client, make_event("invoice.payment_failed", failed), WEBHOOK_SECRET).status_code
        == 200
    )
    localstripe.deliver_new_events(client)

    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.PAST_DUE
    assert subscription.past_due_since is not None
    assert subscription.card_last4 == "0341"
    assert Invoice.objects.get(stripe_invoice_id=failed["id"]).status == "open"
    assert _kinds(subscription)[-1] == (
        "contraction",
        6000,
        mrr.monthly_amount_cents(plan("pro-yearly"), 1),
    )
    assert entitlements_for(user).plan_name == "Pro (yearly)"  # kept through the grace period
    page = client.get(reverse("billing:plans")).content.decode()
    assert "Your last payment failed" in page
    request = RequestFactory().get("/")
    request.user = user
    banner = Template('{% include "billing/past_due_banner.html" %}').render(
        Context({"request": request})
    )
    assert "Your last payment for Pro (yearly) failed" in banner

    # Before the grace period is over nothing happens; after it, the account is Free.
    assert tasks.end_expired_grace_periods() == []
    later = timezone.now() + timedelta(days=15)
    with time_machine.travel(later):
        assert tasks.end_expired_grace_periods() == [subscription.stripe_subscription_id]
        localstripe.deliver_new_events(client)
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.CANCELED
    assert subscription.ended_at is not None
    assert _kinds(subscription)[-1][0] == "churn"
    assert entitlements_for(user).plan_name == "Free"
    assert [k for k, _, _ in _kinds(subscription)] == ["new", "expansion", "contraction", "churn"]
    banner = Template('{% include "billing/past_due_banner.html" %}').render(
        Context({"request": request})
    )
    assert banner.strip() == ""


def test_cancel_at_period_end_then_resume(client, user, localstripe):
    client.force_login(user)
    subscription = _subscribe(client, user, localstripe, slug="pro-yearly")
    changes = MrrChange.objects.count()

    response = client.post(reverse("billing:cancel"), {"operation": issue_operation_id(user)})

    assert response.status_code == 302
    subscription.refresh_from_db()
    assert subscription.cancel_at_period_end is True
    assert subscription.status == Subscription.Status.ACTIVE
    assert MrrChange.objects.count() == changes  # still paid until the period ends
    page = client.get(reverse("billing:plans")).content.decode()
    assert "Resume subscription" in page
    assert "will not renew" in page

    response = client.post(reverse("billing:resume"), {"operation": issue_operation_id(user)})

    assert response.status_code == 302
    subscription.refresh_from_db()
    assert subscription.cancel_at_period_end is False
    stripe_side = localstripe.side.get(f"/v1/subscriptions/{subscription.stripe_subscription_id}")
    assert stripe_side["cancel_at_period_end"] is False


def test_downgrade_to_free_is_cancel_at_period_end(client, user, localstripe):
    client.force_login(user)
    subscription = _subscribe(client, user, localstripe)
    page = client.get(reverse("billing:plans")).content.decode()
    assert "Downgrade to Free at the end of the period" in page

    response = client.post(
        reverse("billing:change_plan"), {"plan": "free", "operation": issue_operation_id(user)}
    )
    assert response.status_code == 400
    assert "cancel at the end of the period" in response.content.decode()

    client.post(reverse("billing:cancel"), {"operation": issue_operation_id(user)})
    subscription.refresh_from_db()
    assert subscription.cancel_at_period_end is True


def test_business_checkout_sends_the_seat_count(client, user, localstripe):
    client.force_login(user)

    subscription = _subscribe(client, user, localstripe, slug="business-monthly", seats=4)

    checkout = localstripe.http.posts("/v1/checkout/sessions")[-1]
    assert checkout.params["line_items[0][quantity]"] == "4"
    assert checkout.params["line_items[0][price]"] == plan("business-monthly").stripe_price_id
    assert checkout.params["mode"] == "subscription"
    assert subscription.quantity == 4
    assert _kinds(subscription) == [("new", 0, 8000)]


def test_a_second_checkout_is_refused_while_subscribed(client, user, localstripe):
    client.force_login(user)
    _subscribe(client, user, localstripe)

    response = client.post(
        reverse("billing:checkout"), {"plan": "pro-yearly", "operation": issue_operation_id(user)}
    )

    assert response.status_code == 400
    assert "change its plan instead" in response.content.decode()


def test_portal_redirects_to_stripe(client, user, localstripe):
    client.force_login(user)
    _subscribe(client, user, localstripe)

    response = client.post(reverse("billing:portal"), {"operation": issue_operation_id(user)})

    assert response.status_code == 303
    assert response["Location"].startswith("https://billing.stripe.com/p/session/")
    sent = localstripe.http.posts("/v1/billing_portal/sessions")[-1]
    assert sent.params["customer"] == Customer.objects.get(user=user).stripe_customer_id
    assert sent.params["return_url"] == "http://testserver/billing/plans/"
    assert sent.headers["Idempotency-Key"].startswith(f"portal-{user.pk}-")
