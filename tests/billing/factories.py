"""Billing rows made directly, as the mirror would hold them after Stripe's events."""

from datetime import datetime, timedelta
from typing import Any

import factory
from django.utils import timezone

from billing.models import Customer, Invoice, MrrChange, Plan, Subscription
from tests.factories import UserFactory


def plan(slug: str) -> Plan:
    """A seeded plan: free, pro-monthly, pro-yearly or business-monthly."""
    return Plan.objects.get(slug=slug)


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    user = factory.SubFactory(UserFactory)
    stripe_customer_id = factory.Sequence(lambda n: f"cus_test{n:06d}")


class SubscriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Subscription

    customer = factory.SubFactory(CustomerFactory)
    stripe_subscription_id = factory.Sequence(lambda n: f"sub_test{n:06d}")
    plan = factory.LazyFunction(lambda: plan("pro-monthly"))
    status = Subscription.Status.ACTIVE
    quantity = 1
    started_at = factory.LazyFunction(timezone.now)
    current_period_start = factory.LazyFunction(timezone.now)
    current_period_end = factory.LazyAttribute(
        lambda s: s.current_period_start + timedelta(days=30)
    )


class InvoiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Invoice

    customer = factory.SubFactory(CustomerFactory)
    subscription = None
    stripe_invoice_id = factory.Sequence(lambda n: f"in_test{n:06d}")
    number = factory.Sequence(lambda n: f"CONF-{n:04d}")
    status = "paid"
    amount_due = 1500
    amount_paid = 1500
    created = factory.LazyFunction(timezone.now)


def mrr_change(
    subscription: Subscription, *, at: datetime, kind: str, before: int, after: int, **extra: Any
) -> MrrChange:
    return MrrChange.objects.create(
        subscription=subscription,
        customer=subscription.customer,
        at=at,
        kind=kind,
        from_mrr_cents=before,
        to_mrr_cents=after,
        **extra,
    )
