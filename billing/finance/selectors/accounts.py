"""The finance console's tables: subscriptions, one customer's history, failed payments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import QuerySet
from django.utils import timezone

from billing.models import Customer, Invoice, MrrChange, Plan, Subscription

# Stripe's invoice statuses that still await money.
UNPAID_INVOICE_STATUSES = ("open", "uncollectible")


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())


def subscriptions(
    *,
    plan: Plan | None = None,
    status: str = "",
    period_end_from: date | None = None,
    period_end_to: date | None = None,
) -> QuerySet[Subscription]:
    """Subscriptions, soonest period end first; the period bounds are whole days, inclusive."""
    rows = Subscription.objects.select_related("plan", "customer__user")
    if plan is not None:
        rows = rows.filter(plan=plan)
    if status:
        rows = rows.filter(status=status)
    if period_end_from is not None:
        rows = rows.filter(current_period_end__gte=_day_start(period_end_from))
    if period_end_to is not None:
        next_day = _day_start(period_end_to) + timedelta(days=1)
        rows = rows.filter(current_period_end__lt=next_day)
    return rows.order_by("current_period_end", "pk")


def failed_payments() -> QuerySet[Invoice]:
    """Invoices Stripe tried and failed to collect, and has not written off as paid."""
    return (
        Invoice.objects.filter(status__in=UNPAID_INVOICE_STATUSES, attempt_count__gt=0)
        .select_related("customer__user", "subscription__plan")
        .order_by("next_payment_attempt", "-created")
    )


@dataclass(frozen=True)
class CustomerFile:
    customer: Customer
    subscriptions: list[Subscription]
    invoices: list[Invoice]
    failed: list[Invoice]
    changes: list[MrrChange]

    @property
    def in_dunning(self) -> list[Subscription]:
        return [s for s in self.subscriptions if s.status == Subscription.Status.PAST_DUE]


def customer_file(*, stripe_customer_id: str) -> CustomerFile | None:
    customer = (
        Customer.objects.select_related("user")
        .filter(stripe_customer_id=stripe_customer_id)
        .first()
    )
    if customer is None:
        return None
    subs = list(
        customer.subscriptions.select_related("plan").order_by("-started_at", "-pk")  # type: ignore[misc]
    )
    invoices = list(customer.invoices.select_related("subscription").order_by("-created"))
    failed = [i for i in invoices if i.status in UNPAID_INVOICE_STATUSES and i.attempt_count > 0]
    changes = list(
        MrrChange.objects.filter(customer=customer).select_related("subscription").order_by("at")
    )
    return CustomerFile(customer, subs, invoices, failed, changes)
