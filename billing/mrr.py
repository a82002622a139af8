"""Monthly recurring revenue, by Stripe's definition, and the log of its changes.

A subscription counts when it is active or past_due, on a paid plan and not in a
trial; its MRR is the plan's price times its seats, normalised to a month (a yearly
price divided by 12). The mirror calls `track` after every change of a subscription,
and the finance metrics are SQL aggregates over the `MrrChange` rows it writes.
"""

from __future__ import annotations

from datetime import datetime

from .models import MrrChange, Plan, Subscription

COUNTED_STATUSES = frozenset({Subscription.Status.ACTIVE, Subscription.Status.PAST_DUE})


def monthly_amount_cents(plan: Plan, quantity: int) -> int:
    amount = plan.amount_cents * (quantity if plan.per_seat else 1)
    if plan.interval == Plan.Interval.YEAR:
        return round(amount / 12)
    if plan.interval == Plan.Interval.MONTH:
        return amount
    return 0


def mrr_cents(*, plan: Plan, quantity: int, status: str) -> int:
    if status not in COUNTED_STATUSES:
        return 0
    return monthly_amount_cents(plan, quantity)


def subscription_mrr_cents(subscription: Subscription) -> int:
    return mrr_cents(
        plan=subscription.plan, quantity=subscription.quantity, status=subscription.status
    )


def _kind(before: int, after: int, *, had_revenue_before: bool) -> str:
    if before == 0:
        return MrrChange.Kind.REACTIVATION if had_revenue_before else MrrChange.Kind.NEW
    if after == 0:
        return MrrChange.Kind.CHURN
    return MrrChange.Kind.EXPANSION if after > before else MrrChange.Kind.CONTRACTION


def track(*, subscription: Subscription, before_cents: int, at: datetime) -> MrrChange | None:
    """Log the change from `before_cents` to the subscription's MRR now, if there is one."""
    after = subscription_mrr_cents(subscription)
    if after == before_cents:
        return None
    had_revenue = MrrChange.objects.filter(customer_id=subscription.customer_id).exists()
    return MrrChange.objects.create(
        subscription=subscription,
        customer_id=subscription.customer_id,
        at=at,
        kind=_kind(before_cents, after, had_revenue_before=had_revenue),
        from_mrr_cents=before_cents,
        to_mrr_cents=after,
    )
