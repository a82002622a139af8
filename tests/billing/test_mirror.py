"""The mirror: status moves, the grace period, and the nightly reconciliation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from billing import mirror, services, tasks
from billing.models import Customer, MrrChange, Plan, Subscription

from .conftest import plan
from .factories import SubscriptionFactory

pytestmark = pytest.mark.django_db
S = Subscription.Status


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (S.INCOMPLETE, S.ACTIVE),
        (S.ACTIVE, S.PAST_DUE),
        (S.PAST_DUE, S.ACTIVE),
        (S.ACTIVE, S.CANCELED),
    ],
)
def test_stripe_moves_the_mirror_follows(old, new):
    mirror.check_move(old, new)


@pytest.mark.parametrize(
    ("old", "new"),
    [(S.CANCELED, S.ACTIVE), (S.INCOMPLETE_EXPIRED, S.ACTIVE), (S.PAST_DUE, S.TRIALING)],
)
def test_no_way_out_of_a_final_status(old, new):
    with pytest.raises(mirror.InvalidMove):
        mirror.check_move(old, new)


def _stripe_subscription(localstripe, user, slug="pro-monthly"):
    customer = services.ensure_customer(user=user)
    return localstripe.side.complete_checkout(
        customer.stripe_customer_id, plan(slug).stripe_price_id
    )


def test_a_cancelled_subscription_at_stripe_is_not_revived_by_a_stale_mirror(user, localstripe):
    stripe_subscription = _stripe_subscription(localstripe, user)
    subscription = mirror.sync_subscription(stripe_subscription["id"])
    Subscription.objects.filter(pk=subscription.pk).update(status=S.CANCELED)

    with pytest.raises(mirror.InvalidMove):
        mirror.sync_subscription(stripe_subscription["id"])


def test_an_unknown_stripe_plan_is_an_error_not_a_guess(user, localstripe):
    stripe_subscription = _stripe_subscription(localstripe, user)
    Plan.objects.filter(slug="pro-monthly").update(stripe_price_id="confer-other", slug="pro-old")

    with pytest.raises(mirror.UnknownPlan):
        mirror.sync_subscription(stripe_subscription["id"])


def test_the_grace_period_is_counted_from_the_first_failure(localstripe, user):
    stripe_subscription = _stripe_subscription(localstripe, user)
    subscription = mirror.sync_subscription(stripe_subscription["id"])
    first_failure = timezone.now() - timedelta(days=13, hours=23)
    Subscription.objects.filter(pk=subscription.pk).update(
        status=S.PAST_DUE, past_due_since=first_failure
    )

    assert mirror.end_expired_grace_periods() == []
    assert mirror.end_expired_grace_periods(now=first_failure + timedelta(days=14)) == [
        stripe_subscription["id"]
    ]

    subscription.refresh_from_db()
    assert subscription.status == S.CANCELED
    assert (
        localstripe.side.get(f"/v1/subscriptions/{stripe_subscription['id']}")["status"]
        == "canceled"
    )


def test_the_grace_period_follows_the_setting(settings, localstripe, user):
    settings.BILLING_GRACE_DAYS = 3
    stripe_subscription = _stripe_subscription(localstripe, user)
    subscription = mirror.sync_subscription(stripe_subscription["id"])
    Subscription.objects.filter(pk=subscription.pk).update(
        status=S.PAST_DUE, past_due_since=timezone.now() - timedelta(days=3, minutes=1)
    )

    assert tasks.end_expired_grace_periods() == [stripe_subscription["id"]]


def test_billing_tasks_do_nothing_without_stripe(settings):
    settings.STRIPE_SECRET_KEY = ""
    SubscriptionFactory(status=S.PAST_DUE, past_due_since=timezone.now() - timedelta(days=90))

    assert tasks.end_expired_grace_periods() == []
    assert tasks.reconcile_with_stripe() == {"skipped": "Stripe is not configured."}


def test_reconciliation_reports_and_fixes_differences(localstripe, user):
    in_sync = _stripe_subscription(localstripe, user)
    mirror.sync_subscription(in_sync["id"])
    drifted_user, missing_user = _users(2)
    drifted = _stripe_subscription(localstripe, drifted_user, slug="pro-yearly")
    mirror.sync_subscription(drifted["id"])
    Subscription.objects.filter(stripe_subscription_id=drifted["id"]).update(quantity=7)
    missing = _stripe_subscription(localstripe, missing_user)  # its events were lost
    ghost = SubscriptionFactory(stripe_subscription_id="sub_nowhere")

    report = tasks.reconcile_with_stripe()

    kinds = {(d["kind"], d["id"]) for d in report["differences"]}
    assert ("subscription_differs", drifted["id"]) in kinds
    assert ("subscription_missing", missing["id"]) in kinds
    assert ("subscription_unknown_to_stripe", ghost.stripe_subscription_id) in kinds
    assert ("customer_unknown_to_stripe", ghost.customer.stripe_customer_id) in kinds
    assert not any(d["id"] == in_sync["id"] for d in report["differences"])
    assert report["checked_subscriptions"] == 3
    assert report["errors"] == []
    assert Subscription.objects.get(stripe_subscription_id=drifted["id"]).quantity == 1
    added = Subscription.objects.get(stripe_subscription_id=missing["id"])
    assert added.customer.user == missing_user
    assert MrrChange.objects.filter(subscription=added, kind="new").count() == 1

    again = tasks.reconcile_with_stripe()
    assert {d["kind"] for d in again["differences"]} == {
        "subscription_unknown_to_stripe",
        "customer_unknown_to_stripe",
    }


def test_reconciliation_adopts_a_customer_made_elsewhere(localstripe, user):
    from billing import gateway

    made = gateway.create_customer(user=user, idempotency_key="made-elsewhere")

    report = mirror.reconcile()

    assert report.differences == [
        {
            "kind": "customer_missing",
            "id": made["id"],
            "detail": "Not in the mirror; added and linked to its account.",
        }
    ]
    assert Customer.objects.get(stripe_customer_id=made["id"]).user == user


def _users(count):
    from tests.factories import UserFactory

    return [UserFactory() for _ in range(count)]
