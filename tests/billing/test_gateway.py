"""The gateway: the only door to Stripe, and what goes through it."""

from __future__ import annotations

import importlib
import re
import time
from io import StringIO
from pathlib import Path

import pytest
import requests
from django.apps import apps as django_apps
from django.core.management import CommandError, call_command
from django.urls import reverse

from billing import gateway, services
from billing.forms import issue_operation_id
from billing.models import Plan, WebhookEvent
from privacy.models import Disclosure
from privacy.pi_categories import PersonalInfoCategory

from .conftest import API_KEY, WEBHOOK_SECRET, plan

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
CARD_CATEGORIES = {PersonalInfoCategory.CREDIT_CARD, PersonalInfoCategory.DEBIT_CARD}


def test_nothing_but_the_gateway_imports_stripe():
    importer = re.compile(r"^\s*(import stripe\b|from stripe\b)", re.MULTILINE)
    skip = {".venv", "var", "node_modules", ".git", "build", "dist"}
    offenders = [
        str(path.relative_to(ROOT))
        for path in ROOT.rglob("*.py")
        if not skip.intersection(path.relative_to(ROOT).parts)
        and importer.search(path.read_text(errors="ignore"))
    ]

    assert offenders == ["billing/gateway.py"]


def test_calls_with_personal_data_are_disclosed_and_none_carries_a_card(client, user, localstripe):
    client.force_login(user)

    response = client.post(
        reverse("billing:checkout"),
        {"plan": "pro-monthly", "operation": issue_operation_id(user)},
    )

    assert response.status_code == 303
    rows = list(Disclosure.objects.filter(user=user).order_by("pk"))
    assert [(r.third_party.slug, r.purpose) for r in rows] == [
        ("stripe", "service"),
        ("stripe", "service"),
    ]
    assert rows[0].categories == ["email", "name_address"]
    assert rows[1].categories == ["product_purchased"]
    (customer_call,) = localstripe.http.posts("/v1/customers")
    (checkout_call,) = localstripe.http.posts("/v1/checkout/sessions")
    assert customer_call.params["email"] == user.email
    assert checkout_call.params["customer"] == _only_customer_id(localstripe)
    for sent in localstripe.http.sent:
        keys = " ".join(sent.params)
        values = " ".join(sent.params.values())
        assert "card" not in keys and "number" not in keys and "cvc" not in keys
        assert not re.search(r"\b\d{13,19}\b", values)
    assert not CARD_CATEGORIES.intersection(
        c for r in Disclosure.objects.all() for c in r.categories
    )


def _only_customer_id(localstripe):
    return localstripe.side.get("/v1/customers")["data"][0]["id"]


def test_every_write_carries_an_idempotency_key_from_our_operation(client, user, localstripe):
    client.force_login(user)
    operation = issue_operation_id(user)

    for _ in range(2):  # a double click
        client.post(reverse("billing:checkout"), {"plan": "pro-monthly", "operation": operation})

    writes = localstripe.http.posts()
    assert writes and all(w.headers.get("Idempotency-Key") for w in writes)
    checkout_keys = {
        w.headers["Idempotency-Key"] for w in localstripe.http.posts("/v1/checkout/sessions")
    }
    assert len(checkout_keys) == 1
    (key,) = checkout_keys
    assert key.startswith(f"checkout-{user.pk}-pro-monthly-1-")
    assert {w.headers["Idempotency-Key"] for w in localstripe.http.posts("/v1/customers")} == {
        f"customer-{user.pk}"
    }
    assert all(w.headers.get("Stripe-Version") == "2024-06-20" for w in localstripe.http.sent)


def test_stripe_errors_become_gateway_errors(localstripe):
    with pytest.raises(gateway.NotFound):
        gateway.retrieve_subscription("sub_missing")


def test_an_unreachable_stripe_is_a_clear_error(stripe_settings):
    with pytest.raises(gateway.GatewayError) as raised:
        gateway.retrieve_invoice("in_1")

    assert raised.value.message == "Stripe could not be reached. Please try again in a minute."


def test_without_a_key_the_gateway_refuses(settings):
    settings.STRIPE_SECRET_KEY = ""

    with pytest.raises(gateway.NotConfigured):
        gateway.retrieve_invoice("in_1")


def test_sync_stripe_plans_creates_then_updates(localstripe):
    Plan.objects.update(stripe_product_id="", stripe_price_id="")
    out = StringIO()

    call_command("sync_stripe_plans", stdout=out)
    call_command("sync_stripe_plans", stdout=out)  # again: nothing new at Stripe

    pro = plan("pro-monthly")
    assert pro.stripe_product_id == "confer-pro-monthly"
    assert pro.stripe_price_id == "confer-pro-monthly-1500usd-month"
    assert plan("free").stripe_price_id == ""
    stripe_plans = localstripe.side.get("/v1/plans", limit=100)["data"]
    assert sorted(p["id"] for p in stripe_plans) == sorted(
        p.stripe_price_id for p in Plan.objects.exclude(stripe_price_id="")
    )
    business = next(p for p in stripe_plans if p["id"] == plan("business-monthly").stripe_price_id)
    assert (business["amount"], business["interval"], business["metadata"]) == (
        2000,
        "month",
        {"confer_plan": "business-monthly"},
    )
    assert "3 paid plan(s) synced" in out.getvalue()


def test_a_new_price_is_a_new_stripe_plan(localstripe):
    Plan.objects.filter(slug="pro-monthly").update(amount_cents=1800)

    services.sync_plans_to_stripe()

    assert plan("pro-monthly").stripe_price_id == "confer-pro-monthly-1800usd-month"
    ids = {p["id"] for p in localstripe.side.get("/v1/plans", limit=100)["data"]}
    assert {"confer-pro-monthly-1500usd-month", "confer-pro-monthly-1800usd-month"} <= ids


def test_sync_stripe_plans_without_a_key_says_so(settings):
    settings.STRIPE_SECRET_KEY = ""

    with pytest.raises(CommandError, match="STRIPE_SECRET_KEY"):
        call_command("sync_stripe_plans")


# Transactional (the live server's thread must see the user), but not serialized_rollback:
# reloading the serialized database after an earlier transactional test's flush had
# re-created the content types (with new ids on PostgreSQL) broke on their unique key.
# The rows it needs from data migrations (Stripe in the third-party registry) are seeded.
@pytest.mark.django_db(transaction=True)
def test_localstripe_signs_and_delivers_to_our_live_endpoint(
    live_server, settings, localstripe_url
):
    """Stripe's real delivery path: localstripe signs an event and POSTs it to us."""
    for migration in (
        "privacy.migrations.0005_seed_third_parties",
        "billing.migrations.0002_seed_plans",
    ):
        importlib.import_module(migration).seed(django_apps, None)
    settings.STRIPE_SECRET_KEY = API_KEY
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_API_BASE = localstripe_url
    endpoint = live_server.url + reverse("billing:stripe_webhook")
    config = f"{localstripe_url}/_config/webhooks/confer-live"
    requests.post(
        config,
        data={"url": endpoint, "secret": WEBHOOK_SECRET, "events[]": ["customer.created"]},
        timeout=5,
    ).raise_for_status()
    try:
        from tests.factories import UserFactory

        created = gateway.create_customer(user=UserFactory(), idempotency_key="live-delivery")
        deadline = time.monotonic() + 15
        while not WebhookEvent.objects.filter(object_id=created["id"]).exists():
            assert time.monotonic() < deadline, "localstripe's webhook never arrived"
            time.sleep(0.2)
    finally:
        # localstripe cannot forget an endpoint: point it at events that never happen.
        requests.post(
            config,
            data={"url": endpoint, "secret": WEBHOOK_SECRET, "events[]": ["confer.none"]},
            timeout=5,
        )

    row = WebhookEvent.objects.get(object_id=created["id"])
    assert (row.type, row.status) == ("customer.created", "processed")
