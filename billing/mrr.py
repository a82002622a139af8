"""Monthly recurring revenue, by Stripe's definition, and the log of its changes.

A subscription counts when it is active or past_due, on a paid plan and not in a
trial; its MRR is the plan's price times its seats, normalised to a month (a yearly
price divided by 12). The mirror calls `track` after every change of a subscription,
and the finance metrics are SQL aggregates over the `MrrChange` rows it writes.

Discounts (Stripe's definition, MRR after discounts): a repeating or forever discount
the subscription carries lowers its MRR while Stripe reports it on the subscription (a
percentage of the monthly amount, or the amount off normalised to a month like the
price, never below zero). A once-only discount changes no MRR: it lowers one invoice,
not the recurring revenue. When a repeating discount runs out, Stripe removes it from
the subscription, the re-sync sees it gone and the rise is logged as expansion.
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from .models import MrrChange, Plan, Promotion, Subscription

COUNTED_STATUSES = frozenset({Subscription.Status.ACTIVE, Subscription.Status.PAST_DUE})
RECURRING_DISCOUNTS = frozenset({Promotion.Duration.REPEATING, Promotion.Duration.FOREVER})


def monthly_amount_cents(plan: Plan, quantity: int) -> int:
    amount = plan.amount_cents * (quantity if plan.per_seat else 1)
    if plan.interval == Plan.Interval.YEAR:
        return round(amount / 12)
    if plan.interval == Plan.Interval.MONTH:
        return amount
    return 0


def monthly_discount_cents(
    plan: Plan,
    monthly: int,
    *,
    duration: str,
    percent_off: Decimal | None,
    amount_off_cents: int | None,
) -> int:
    """What a discount takes off a monthly amount, by the rule above."""
    if duration not in RECURRING_DISCOUNTS or monthly <= 0:
        return 0
    if percent_off is not None:
        off = (Decimal(monthly) * Decimal(percent_off) / 100).quantize(
            Decimal(1), rounding=ROUND_HALF_UP
        )
        return min(int(off), monthly)
    if amount_off_cents:
        per_month = (
            amount_off_cents / 12 if plan.interval == Plan.Interval.YEAR else amount_off_cents
        )
        return min(round(per_month), monthly)
    return 0


def mrr_cents(*, plan: Plan, quantity: int, status: str) -> int:
    """MRR before discounts."""
    if status not in COUNTED_STATUSES:
        return 0
    return monthly_amount_cents(plan, quantity)


def list_mrr_cents(subscription: Subscription) -> int:
    return mrr_cents(
        plan=subscription.plan, quantity=subscription.quantity, status=subscription.status
    )


def subscription_mrr_cents(subscription: Subscription) -> int:
    """MRR after the subscription's discount (what the log and the metrics count)."""
    listed = list_mrr_cents(subscription)
    return listed - monthly_discount_cents(
        subscription.plan,
        listed,
        duration=subscription.discount_duration,
        percent_off=subscription.discount_percent_off,
        amount_off_cents=subscription.discount_amount_off_cents,
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
