"""The host's plans page and its buttons: who sees what, and bad input."""

from __future__ import annotations

import pytest
from django.urls import reverse

from billing.forms import issue_operation_id
from billing.models import Customer, Plan, Subscription
from recordings.services import _upgrade_url
from tests.factories import UserFactory

from .factories import CustomerFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db
PLANS = reverse("billing:plans")


def test_the_recordings_upgrade_link_leads_here():
    assert PLANS == "/billing/plans/"
    assert _upgrade_url() == PLANS


def test_anonymous_visitors_see_the_plans_and_a_sign_in(client, stripe_settings):
    response = client.get(PLANS)

    assert response.status_code == 200
    html = response.content.decode()
    for name in ("Free", "Pro (monthly)", "Pro (yearly)", "Business (per seat, monthly)"):
        assert name in html
    assert "15.00 USD per month" in html
    assert "20.00 USD per seat per month" in html
    assert "Sign in to subscribe" in html
    assert 'action="/billing/checkout/"' not in html
    assert "Your plan" not in html  # a visitor has none


def test_without_stripe_the_page_says_so_and_offers_no_button(client, user, settings):
    settings.STRIPE_SECRET_KEY = ""
    client.force_login(user)

    html = client.get(PLANS).content.decode()

    assert "Payments are not configured on this server" in html
    assert "<button" not in html.split("<main", 1)[1].split("</main>", 1)[0].replace(
        'class="link">Sign out</button>', ""
    )


def test_without_stripe_posts_are_refused_clearly(client, user, settings):
    settings.STRIPE_SECRET_KEY = ""
    client.force_login(user)

    response = client.post(
        reverse("billing:checkout"), {"plan": "pro-monthly", "operation": issue_operation_id(user)}
    )

    assert response.status_code == 503
    assert "Payments are not configured on this server." in response.content.decode()


def test_a_free_host_sees_subscribe_buttons_and_a_seat_field(client, user, stripe_settings):
    client.force_login(user)

    html = client.get(PLANS).content.decode()

    assert "You are on the <strong>Free</strong> plan." in html
    assert "Subscribe to Pro (monthly)" in html
    assert "Subscribe to Business (per seat, monthly)" in html
    assert 'name="seats"' in html
    assert "Manage billing" not in html  # no Stripe customer yet


def test_a_paid_host_sees_plan_status_card_and_changes(client, stripe_settings):
    subscription = SubscriptionFactory(card_brand="visa", card_last4="4242")
    client.force_login(subscription.customer.user)

    html = client.get(PLANS).content.decode()

    assert "Pro (monthly)" in html
    assert "Active" in html
    assert "Renews on" in html
    assert "Visa ending in 4242" in html
    assert "Upgrade to Pro (yearly)" not in html  # 1250/month is less than 1500
    assert "Downgrade to Pro (yearly)" in html
    assert "Upgrade to Business (per seat, monthly)" in html
    assert "Downgrade to Free at the end of the period" in html
    assert "Cancel at the end of the period" in html
    assert "Subscribe to" not in html


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"plan": "gold"}, "There is no such plan on sale."),
        ({"plan": "free"}, "The Free plan needs no payment."),
        ({"plan": "business-monthly"}, "Say how many seats you need."),
        ({"plan": "business-monthly", "seats": "0"}, "greater than or equal to 1"),
        ({"plan": "business-monthly", "seats": "5000"}, "less than or equal to 1000"),
        ({"plan": "pro-monthly", "operation": "forged"}, "This page has expired"),
    ],
)
def test_bad_checkout_input_gets_a_clear_error(client, user, stripe_settings, data, message):
    Plan.objects.exclude(amount_cents=0).update(stripe_price_id="price_x")
    client.force_login(user)
    data = {"operation": issue_operation_id(user), **data}

    response = client.post(reverse("billing:checkout"), data)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Customer.objects.exists()


def test_another_accounts_operation_id_is_refused(client, user, stripe_settings):
    client.force_login(user)

    response = client.post(
        reverse("billing:checkout"),
        {"plan": "pro-monthly", "operation": issue_operation_id(UserFactory())},
    )

    assert response.status_code == 400
    assert "This page has expired" in response.content.decode()


def test_a_plan_not_synced_to_stripe_cannot_be_bought(client, user, stripe_settings):
    client.force_login(user)

    response = client.post(
        reverse("billing:checkout"), {"plan": "pro-monthly", "operation": issue_operation_id(user)}
    )

    assert response.status_code == 400
    assert "not set up for payments yet" in response.content.decode()


@pytest.mark.parametrize("name", ["checkout", "portal", "change_plan", "cancel", "resume"])
def test_anonymous_posts_go_to_sign_in(client, stripe_settings, name):
    response = client.post(reverse(f"billing:{name}"), {"plan": "pro-monthly"})

    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]


@pytest.mark.parametrize("name", ["checkout", "portal", "change_plan", "cancel", "resume"])
def test_buttons_only_answer_posts(client, user, stripe_settings, name):
    client.force_login(user)

    assert client.get(reverse(f"billing:{name}")).status_code == 405


def test_portal_needs_a_billing_account(client, user, stripe_settings):
    client.force_login(user)

    response = client.post(reverse("billing:portal"), {"operation": issue_operation_id(user)})

    assert response.status_code == 400
    assert "subscribe to a plan first" in response.content.decode()


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("change_plan", "You have no active subscription."),
        ("cancel", "You have no active subscription."),
        ("resume", "You have no active subscription."),
    ],
)
def test_changes_need_a_subscription(client, user, stripe_settings, name, message):
    CustomerFactory(user=user)
    client.force_login(user)

    response = client.post(
        reverse(f"billing:{name}"), {"plan": "pro-yearly", "operation": issue_operation_id(user)}
    )

    assert response.status_code == 400
    assert message in response.content.decode()


def test_a_host_cannot_touch_another_hosts_subscription(client, stripe_settings):
    other = SubscriptionFactory()
    me = UserFactory()
    client.force_login(me)

    response = client.post(reverse("billing:cancel"), {"operation": issue_operation_id(me)})

    assert response.status_code == 400
    other.refresh_from_db()
    assert other.cancel_at_period_end is False


def test_resume_needs_a_cancelled_subscription(client, stripe_settings):
    subscription = SubscriptionFactory()
    client.force_login(subscription.customer.user)

    response = client.post(
        reverse("billing:resume"), {"operation": issue_operation_id(subscription.customer.user)}
    )

    assert response.status_code == 400
    assert "is not set to end" in response.content.decode()


def test_changing_to_the_same_plan_is_refused(client, stripe_settings):
    Plan.objects.exclude(amount_cents=0).update(stripe_price_id="price_x")
    subscription = SubscriptionFactory()
    user = subscription.customer.user
    client.force_login(user)

    response = client.post(
        reverse("billing:change_plan"),
        {"plan": "pro-monthly", "operation": issue_operation_id(user)},
    )

    assert response.status_code == 400
    assert "That is already your plan." in response.content.decode()


def test_checkout_results_are_explained(client, user, stripe_settings):
    client.force_login(user)

    assert "Stripe has your payment" in client.get(PLANS + "?checkout=success").content.decode()
    assert "nothing was charged" in client.get(PLANS + "?checkout=cancelled").content.decode()
    assert "nothing was charged" not in client.get(PLANS + "?checkout=<b>").content.decode()


def test_a_past_due_host_is_told_to_fix_the_card(client, stripe_settings):
    subscription = SubscriptionFactory(status=Subscription.Status.PAST_DUE)
    client.force_login(subscription.customer.user)

    html = client.get(PLANS).content.decode()

    assert "Your last payment failed" in html
    assert "Manage billing" in html
