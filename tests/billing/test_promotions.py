"""Promotion codes, end to end: finance creates them at Stripe (localstripe's coupons, the
boundary's promotion codes), hosts redeem them on our plans page, on Checkout and in the
plan change form, and the discount comes back through the webhook mirror into MRR.

MRR figures are computed by hand from the seeded prices: Pro monthly 15.00, Pro yearly
150.00 (12.50 a month), Business monthly 20.00 per seat.
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.roles import FINANCE
from billing import privacy_data
from billing.finance.selectors import metrics
from billing.forms import issue_operation_id
from billing.models import (
    Customer,
    Invoice,
    MrrChange,
    Promotion,
    Redemption,
    Subscription,
    WebhookEvent,
)
from privacy.models import AuditEntry
from privacy.subjects import Subject
from tests.factories import UserFactory

from .conftest import WEBHOOK_SECRET, plan
from .factories import CustomerFactory, SubscriptionFactory
from .stripe_boundary import checkout_completed, make_event, post_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def finance():
    member = UserFactory(roles=[FINANCE])
    client = Client()
    client.force_login(member)
    client.member = member
    return client


@pytest.fixture
def host(user):
    client = Client()
    client.force_login(user)
    client.user = user
    return client


def create(finance, **fields):
    data = {"duration": "forever", **fields}
    return finance.post(reverse("finance:promotions"), {k: v for k, v in data.items() if v})


def promotion(finance, **fields) -> Promotion:
    response = create(finance, **fields)
    assert response.status_code == 302, response.content.decode()
    return Promotion.objects.get(code=fields["code"].upper())


def checkout(host, slug, *, seats=1, code=""):
    return host.post(
        reverse("billing:checkout"),
        {
            "plan": slug,
            "seats": seats,
            "promotion_code": code,
            "operation": issue_operation_id(host.user),
        },
    )


def subscribe(host, localstripe, slug, *, seats=1, code="", redeemed: Promotion | None = None):
    """Checkout (replayed), Stripe's side of it with the code redeemed, then the events."""
    response = checkout(host, slug, seats=seats, code=code)
    assert response.status_code == 303, response.content.decode()
    customer = Customer.objects.get(user=host.user)
    data = localstripe.side.complete_checkout(
        customer.stripe_customer_id,
        plan(slug).stripe_price_id,
        quantity=seats,
        promotion_code=redeemed.stripe_promotion_code_id if redeemed else "",
    )
    localstripe.deliver_new_events(host)
    event = checkout_completed(
        user_id=host.user.pk, customer_id=customer.stripe_customer_id, subscription_id=data["id"]
    )
    assert post_event(host, event, WEBHOOK_SECRET).status_code == 200
    return Subscription.objects.get(stripe_subscription_id=data["id"])


def changes(subscription):
    return [
        (c.kind, c.from_mrr_cents, c.to_mrr_cents)
        for c in MrrChange.objects.filter(subscription=subscription)
    ]


def sent_params(localstripe, path):
    return [r.params for r in localstripe.http.posts(path)]


# --- Finance creates and deactivates at Stripe -----------------------------------------------


def test_finance_creates_a_promotion_at_stripe_and_deactivates_it_there(finance, localstripe):
    expires = timezone.now() + timedelta(days=30)
    promo = promotion(
        finance,
        code="spring25",
        percent_off="25",
        duration="repeating",
        duration_in_months="3",
        plans=["pro-monthly"],
        max_redemptions="2",
        expires_at=expires.strftime("%Y-%m-%dT%H:%M"),
        first_time_only="on",
    )

    assert (promo.code, promo.percent_off, promo.duration_in_months) == (
        "SPRING25",
        Decimal("25.00"),
        3,
    )
    assert [p.slug for p in promo.plans.all()] == ["pro-monthly"]
    coupon = localstripe.side.get(f"/v1/coupons/{promo.stripe_coupon_id}")
    assert (coupon["percent_off"], coupon["duration"], coupon["duration_in_months"]) == (
        25.0,
        "repeating",
        3,
    )
    [coupon_sent] = sent_params(localstripe, "/v1/coupons")
    assert coupon_sent["applies_to[products][0]"] == plan("pro-monthly").stripe_product_id
    code = localstripe.http.lacking.codes[promo.stripe_promotion_code_id]
    assert code["code"] == "SPRING25" and code["active"] is True
    assert code["max_redemptions"] == 2
    assert code["expires_at"] == int(expires.replace(second=0, microsecond=0).timestamp())
    assert code["restrictions"]["first_time_transaction"] is True
    created = AuditEntry.objects.get(action="finance.promotion_created")
    assert created.actor_id == finance.member.pk

    response = finance.post(reverse("finance:promotion_deactivate"), {"promotion": promo.pk})

    assert response.status_code == 302
    assert code["active"] is False
    assert sent_params(localstripe, f"/v1/promotion_codes/{promo.stripe_promotion_code_id}") == [
        {"active": "false"}
    ]
    promo.refresh_from_db()
    assert not promo.active and promo.deactivated_at is not None
    assert AuditEntry.objects.filter(action="finance.promotion_deactivated").count() == 1


def test_a_code_switched_off_in_stripes_dashboard_is_mirrored(finance, host, localstripe):
    promo = promotion(finance, code="DASH", percent_off="10")
    code = localstripe.http.lacking.codes[promo.stripe_promotion_code_id]
    code["active"] = False

    event = make_event("promotion_code.updated", code)
    assert post_event(host, event, WEBHOOK_SECRET).status_code == 200
    # Another account's code, unknown here, is no failure.
    other = make_event("promotion_code.updated", {**code, "id": "promo_not_ours"})
    assert post_event(host, other, WEBHOOK_SECRET).status_code == 200

    promo.refresh_from_db()
    assert not promo.active and promo.deactivated_at is not None
    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {"processed"}
    assert checkout(host, "pro-monthly", code="dash").status_code == 400


# --- Each kind of discount, through the mirror into MRR ------------------------------------


def test_percent_repeating_code_on_our_page_lowers_mrr_until_stripe_ends_it(
    finance, host, localstripe
):
    promo = promotion(
        finance, code="SPRING25", percent_off="25", duration="repeating", duration_in_months="3"
    )

    subscription = subscribe(host, localstripe, "pro-monthly", code="spring25", redeemed=promo)

    [session] = sent_params(localstripe, "/v1/checkout/sessions")
    assert session["discounts[0][promotion_code]"] == promo.stripe_promotion_code_id
    assert "allow_promotion_codes" not in session
    assert subscription.promotion == promo
    assert (subscription.discount_percent_off, subscription.discount_duration) == (
        Decimal("25.00"),
        "repeating",
    )
    assert subscription.discount_end > timezone.now() + timedelta(days=85)
    # 15.00 less 25 % = 11.25 while the discount runs.
    assert changes(subscription) == [("new", 0, 1125)]
    invoice = Invoice.objects.get(subscription=subscription)
    assert (invoice.discount_cents, invoice.amount_paid, invoice.promotion) == (375, 1125, promo)
    assert metrics.mrr_now_cents() == (1500, 1125)
    assert Redemption.objects.filter(promotion=promo).count() == 1

    # Three months on, Stripe removes the discount and says the subscription changed.
    localstripe.http.lacking.end_discount(subscription.stripe_subscription_id)
    event = make_event(
        "customer.subscription.updated",
        {
            "id": subscription.stripe_subscription_id,
            "object": "subscription",
            "customer": subscription.customer.stripe_customer_id,
        },
    )
    assert post_event(host, event, WEBHOOK_SECRET).status_code == 200

    subscription.refresh_from_db()
    assert subscription.promotion is None and subscription.discount_duration == ""
    assert changes(subscription) == [("new", 0, 1125), ("expansion", 1125, 1500)]
    assert metrics.mrr_now_cents() == (1500, 1500)
    assert Redemption.objects.filter(promotion=promo).count() == 1


def test_amount_off_forever_entered_on_checkout_lowers_mrr_for_good(finance, host, localstripe):
    promo = promotion(finance, code="TEAM10OFF", amount_off="10", duration="forever")

    # No code on our page: Checkout shows its own field, where the host types it.
    subscription = subscribe(host, localstripe, "business-monthly", seats=3, redeemed=promo)

    [session] = sent_params(localstripe, "/v1/checkout/sessions")
    assert session["allow_promotion_codes"] == "true"
    assert "discounts[0][promotion_code]" not in session
    # 3 seats x 20.00 = 60.00, less 10.00 off each month = 50.00.
    assert subscription.discount_amount_off_cents == 1000
    assert changes(subscription) == [("new", 0, 5000)]
    invoice = Invoice.objects.get(subscription=subscription)
    assert (invoice.discount_cents, invoice.amount_paid) == (1000, 5000)
    assert metrics.summary().mrr == 5000
    assert metrics.summary().mrr_before_discounts == 6000


def test_once_off_discount_lowers_the_invoice_but_not_mrr(finance, host, localstripe):
    promo = promotion(finance, code="HALFYEAR", percent_off="50", duration="once")

    subscription = subscribe(host, localstripe, "pro-yearly", code="halfyear", redeemed=promo)

    # 150.00 a year is 12.50 a month, discount or not; the first invoice is half.
    assert subscription.discount_duration == "once"
    assert changes(subscription) == [("new", 0, 1250)]
    invoice = Invoice.objects.get(subscription=subscription)
    assert (invoice.discount_cents, invoice.amount_paid) == (7500, 7500)
    assert metrics.mrr_now_cents() == (1250, 1250)
    # The host's export says which code they redeemed and what it took off.
    export = privacy_data.export_for(Subject.for_user(host.user))
    assert export["subscriptions"][0]["promotion_code"] == "HALFYEAR"
    assert (export["invoices"][0]["promotion_code"], export["invoices"][0]["discount_cents"]) == (
        "HALFYEAR",
        7500,
    )

    page = finance.get(reverse("finance:promotions"))
    assert page.status_code == 200
    [row] = page.context["rows"]
    assert (row.redemptions, row.discount_given, row.mrr_before, row.mrr_after) == (
        1,
        7500,
        1250,
        1250,
    )
    rows = list(csv.reader(io.StringIO(finance.get(reverse("finance:promotions_csv")).text)))
    assert rows[1][:3] == ["HALFYEAR", "50% off", "once"]
    assert rows[1][8:] == ["1", "75.00", "1", "12.50", "12.50"]


def test_code_in_the_plan_change_form_applies_to_the_new_plan(finance, host, localstripe):
    subscription = subscribe(host, localstripe, "pro-monthly")
    promo = promotion(finance, code="GROW10", percent_off="10", plans=["business-monthly"])

    response = host.post(
        reverse("billing:change_plan"),
        {
            "plan": "business-monthly",
            "seats": 2,
            "promotion_code": "grow10",
            "operation": issue_operation_id(host.user),
        },
    )

    assert response.status_code == 302, response.content.decode()
    [change] = sent_params(localstripe, f"/v1/subscriptions/{subscription.stripe_subscription_id}")
    assert change["discounts[0][promotion_code]"] == promo.stripe_promotion_code_id
    subscription.refresh_from_db()
    assert subscription.promotion == promo
    # 2 seats x 20.00 = 40.00, less 10 % forever = 36.00.
    assert changes(subscription) == [("new", 0, 1500), ("expansion", 1500, 3600)]
    assert Redemption.objects.get(promotion=promo).subscription == subscription


# --- Codes that cannot be used ---------------------------------------------------------------


def made(code, **fields) -> Promotion:
    """A promotion as the mirror holds it after finance created it."""
    defaults = {
        "percent_off": Decimal(20),
        "duration": "forever",
        "stripe_coupon_id": f"confer-promo-{code.lower()}",
        "stripe_promotion_code_id": f"promo_{code.lower()}",
    }
    return Promotion.objects.create(code=code, **{**defaults, **fields})


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("NOSUCH", "There is no promotion code NOSUCH."),
        ("EXPIRED", "The promotion code EXPIRED expired on"),
        ("USEDUP", "The promotion code USEDUP has been used up."),
        ("YEARLYONLY", "The promotion code YEARLYONLY does not apply to the Pro (monthly) plan."),
        ("WELCOME", "The promotion code WELCOME is for first-time customers only."),
        ("RETIRED", "The promotion code RETIRED is no longer valid."),
    ],
)
def test_a_code_that_cannot_be_used_is_a_form_error_and_nothing_reaches_stripe(
    host, stripe_settings, code, message
):
    made("EXPIRED", expires_at=timezone.now() - timedelta(minutes=1))
    used_up = made("USEDUP", max_redemptions=1)
    earlier = SubscriptionFactory(
        customer=CustomerFactory(user=host.user), status=Subscription.Status.CANCELED
    )
    Redemption.objects.create(
        promotion=used_up, subscription=earlier, customer=earlier.customer, at=timezone.now()
    )
    made("YEARLYONLY").plans.set([plan("pro-yearly")])
    made("WELCOME", first_time_only=True)
    made("RETIRED", active=False)

    response = checkout(host, "pro-monthly", code=code.lower())

    assert response.status_code == 400
    assert f"Promotion code: {message}" in response.content.decode()
    assert not Customer.objects.exclude(pk=earlier.customer.pk).exists()


def test_a_wrong_plan_code_in_the_plan_change_form_is_a_form_error(host, stripe_settings):
    SubscriptionFactory(customer=CustomerFactory(user=host.user))
    made("YEARLYONLY").plans.set([plan("pro-yearly")])

    response = host.post(
        reverse("billing:change_plan"),
        {
            "plan": "business-monthly",
            "seats": 2,
            "promotion_code": "YEARLYONLY",
            "operation": issue_operation_id(host.user),
        },
    )

    assert response.status_code == 400
    assert "does not apply to the Business (per seat, monthly) plan" in response.content.decode()


# --- Who may manage promotions ---------------------------------------------------------------


def test_only_finance_manages_promotions(client, host, finance, settings):
    settings.STRIPE_SECRET_KEY = ""
    promo = made("KEEP")
    urls = [reverse("finance:promotions"), reverse("finance:promotions_csv")]
    fields = {"code": "HOSTMADE", "percent_off": "90", "duration": "forever"}

    for url in urls:
        assert client.get(url).status_code == 302
        assert host.get(url).status_code == 403
        assert finance.get(url).status_code == 200
    assert client.post(urls[0], fields).status_code == 302
    assert host.post(urls[0], fields).status_code == 403
    deactivate = reverse("finance:promotion_deactivate")
    assert client.post(deactivate, {"promotion": promo.pk}).status_code == 302
    assert host.post(deactivate, {"promotion": promo.pk}).status_code == 403
    assert list(Promotion.objects.values_list("code", "active")) == [("KEEP", True)]
    # The page shows codes and totals, nobody: no audit entry for looking.
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"code": "BOTH", "percent_off": "10", "amount_off": "5"}, "either a percentage"),
        ({"code": "NEITHER"}, "either a percentage"),
        ({"code": "REP", "percent_off": "10", "duration": "repeating"}, "how many months"),
        ({"code": "a b", "percent_off": "10"}, "Use 3 to 40 letters"),
        ({"code": "TOOMUCH", "percent_off": "101"}, "less than or equal to 100"),
        ({"code": "KEEP", "percent_off": "10"}, "already a promotion with the code KEEP"),
        ({"code": "OFFLINE", "percent_off": "10"}, "Payments are not configured"),
    ],
)
def test_a_bad_promotion_is_a_form_error(finance, settings, fields, error):
    settings.STRIPE_SECRET_KEY = ""
    made("KEEP")

    response = create(finance, **fields)

    assert response.status_code == 400
    assert error in response.content.decode()
    assert list(Promotion.objects.values_list("code", flat=True)) == ["KEEP"]
