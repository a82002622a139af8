"""Revenue metrics over the mirror, each with the definition the console prints beside it.

MRR follows ``billing.mrr`` (Stripe's definition). "Now" is read from the subscriptions
themselves; history is the running sum of the ``MrrChange`` log, month by month in UTC.
Everything is a SQL aggregate (sums and counts grouped by month, plan or customer); Python
only walks the twelve months and the handful of plans.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from django.db.models import Count, F, IntegerField, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone

from billing.models import MrrChange, Plan, Subscription
from billing.mrr import COUNTED_STATUSES, monthly_amount_cents, monthly_discount_cents

MONTHS = 12

DEFINITIONS: dict[str, str] = {
    "mrr": (
        "Monthly recurring revenue: every active or past-due subscription on a paid plan, "
        "at its plan's price times its seats for per-seat plans, a yearly price divided by "
        "12. Trials, free plans and ended subscriptions count nothing (Stripe's definition)."
    ),
    "discounts": (
        "MRR counts after discounts: a repeating or forever discount lowers a subscription's "
        "MRR while Stripe reports it on the subscription; a once-only discount lowers one "
        "invoice and no MRR. Before discounts: every subscription at its plan's price."
    ),
    "arr": "Annual run rate: 12 x MRR.",
    "arpa": "Average revenue per account: MRR ÷ the number of accounts paying now.",
    "paying": (
        "Paying accounts: customers with at least one active or past-due subscription on a "
        "paid plan."
    ),
    "new": "New MRR: first-time paying customers' MRR, added in the month.",
    "reactivation": (
        "Reactivation MRR: MRR from customers who had paid before, stopped, and came back. "
        "Shown on its own, not inside new MRR."
    ),
    "expansion": "Expansion MRR: increases of existing subscriptions (upgrades, more seats).",
    "contraction": "Contraction MRR: decreases of subscriptions that keep paying (downgrades).",
    "churn": "Churned MRR: MRR of subscriptions that stopped paying (canceled or lapsed).",
    "net": "Net new MRR: new + reactivation + expansion - contraction - churned.",
    "logo_churn": (
        "Logo churn: customers paying at the start of the month who pay nothing at its end, "
        "÷ customers paying at the start of the month."
    ),
    "revenue_churn": (
        "Revenue churn: (churned + contraction MRR of the month) ÷ MRR at the start of the month."
    ),
    "chart": "MRR at the end of each month (the running sum of every MRR change), in UTC.",
}

_DELTA = F("to_mrr_cents") - F("from_mrr_cents")


@dataclass(frozen=True)
class Month:
    start: datetime
    mrr_start: int
    mrr_end: int
    new: int
    reactivation: int
    expansion: int
    contraction: int  # positive: MRR lost
    churn: int  # positive: MRR lost
    paying_start: int
    paying_end: int
    customers_lost: int

    @property
    def net_new(self) -> int:
        return self.new + self.reactivation + self.expansion - self.contraction - self.churn

    @property
    def logo_churn(self) -> float | None:
        return self.customers_lost / self.paying_start if self.paying_start else None

    @property
    def revenue_churn(self) -> float | None:
        return (self.churn + self.contraction) / self.mrr_start if self.mrr_start else None

    @property
    def arpa(self) -> int | None:
        """ARPA at the end of the month, in cents."""
        return round(self.mrr_end / self.paying_end) if self.paying_end else None


@dataclass(frozen=True)
class Summary:
    mrr: int
    mrr_before_discounts: int
    paying_accounts: int
    active_subscriptions: int
    trialing: int
    past_due: int

    @property
    def arr(self) -> int:
        return 12 * self.mrr

    @property
    def arpa(self) -> int | None:
        return round(self.mrr / self.paying_accounts) if self.paying_accounts else None


def counted_subscriptions() -> QuerySet[Subscription]:
    """Subscriptions that carry MRR now: active or past due, on a paid recurring plan."""
    return Subscription.objects.filter(
        status__in=COUNTED_STATUSES, plan__amount_cents__gt=0
    ).exclude(plan__interval=Plan.Interval.NONE)


DISCOUNT_FIELDS = ("discount_duration", "discount_percent_off", "discount_amount_off_cents")


def mrr_now_cents(subscriptions: QuerySet[Subscription] | None = None) -> tuple[int, int]:
    """MRR now before and after discounts, by ``billing.mrr``: grouped by plan, seats and
    discount, so no row is read alone."""
    rows = counted_subscriptions() if subscriptions is None else subscriptions
    groups = rows.values("plan_id", "quantity", *DISCOUNT_FIELDS).annotate(n=Count("id"))
    plans = Plan.objects.in_bulk({group["plan_id"] for group in groups})
    before = after = 0
    for group in groups:
        plan = plans[group["plan_id"]]
        listed = monthly_amount_cents(plan, group["quantity"])
        off = monthly_discount_cents(
            plan,
            listed,
            duration=group["discount_duration"],
            percent_off=group["discount_percent_off"],
            amount_off_cents=group["discount_amount_off_cents"],
        )
        before += group["n"] * listed
        after += group["n"] * (listed - off)
    return before, after


def current_mrr_cents() -> int:
    """MRR now, after discounts (Stripe's definition)."""
    return mrr_now_cents()[1]


def summary() -> Summary:
    counts = Subscription.objects.aggregate(
        trialing=Count("id", filter=Q(status=Subscription.Status.TRIALING)),
        past_due=Count("id", filter=Q(status=Subscription.Status.PAST_DUE)),
    )
    counted = counted_subscriptions().aggregate(
        subscriptions=Count("id"), accounts=Count("customer_id", distinct=True)
    )
    before, after = mrr_now_cents()
    return Summary(
        mrr=after,
        mrr_before_discounts=before,
        paying_accounts=counted["accounts"],
        active_subscriptions=counted["subscriptions"],
        trialing=counts["trialing"],
        past_due=counts["past_due"],
    )


def month_starts(*, now: datetime | None = None, months: int = MONTHS) -> list[datetime]:
    """The first instants (UTC) of the last ``months`` months, the current one last."""
    now = (now or timezone.now()).astimezone(UTC)
    year, month = now.year, now.month
    starts = []
    for _ in range(months):
        starts.append(datetime(year, month, 1, tzinfo=UTC))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return starts[::-1]


def _next_month(start: datetime) -> datetime:
    return (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )


def _mrr_before(moment: datetime) -> int:
    total = MrrChange.objects.filter(at__lt=moment).aggregate(
        total=Coalesce(Sum(_DELTA), 0, output_field=IntegerField())
    )["total"]
    return int(total)


def _customer_counts(start: datetime, end: datetime) -> dict[str, int]:
    """Customers paying at ``start``, paying at ``end``, and paying at start but not at end:
    each customer's MRR is the running sum of their changes."""
    per_customer = MrrChange.objects.values("customer_id").annotate(
        before=Coalesce(Sum(_DELTA, filter=Q(at__lt=start)), 0, output_field=IntegerField()),
        after=Coalesce(Sum(_DELTA, filter=Q(at__lt=end)), 0, output_field=IntegerField()),
    )
    return per_customer.aggregate(
        paying_start=Count("customer_id", filter=Q(before__gt=0)),
        paying_end=Count("customer_id", filter=Q(after__gt=0)),
        lost=Count("customer_id", filter=Q(before__gt=0, after__lte=0)),
    )


def monthly(*, now: datetime | None = None, months: int = MONTHS) -> list[Month]:
    """New, reactivation, expansion, contraction and churned MRR, the MRR at each end,
    logo and revenue churn, for each of the last ``months`` months (the current one so far)."""
    starts = month_starts(now=now, months=months)
    first = starts[0]
    by_month_kind = (
        MrrChange.objects.filter(at__gte=first)
        .annotate(month=TruncMonth("at", tzinfo=UTC))
        .values("month", "kind")
        .annotate(delta=Sum(_DELTA))
        .order_by()
    )
    deltas: dict[tuple[datetime, str], int] = {
        (row["month"].astimezone(UTC), row["kind"]): int(row["delta"] or 0) for row in by_month_kind
    }
    running = _mrr_before(first)
    result = []
    Kind = MrrChange.Kind
    for start in starts:
        moved = {kind: deltas.get((start, kind), 0) for kind in Kind.values}
        mrr_end = running + sum(moved.values())
        counts = _customer_counts(start, _next_month(start))
        result.append(
            Month(
                start=start,
                mrr_start=running,
                mrr_end=mrr_end,
                new=moved[Kind.NEW],
                reactivation=moved[Kind.REACTIVATION],
                expansion=moved[Kind.EXPANSION],
                contraction=-moved[Kind.CONTRACTION],
                churn=-moved[Kind.CHURN],
                paying_start=counts["paying_start"],
                paying_end=counts["paying_end"],
                customers_lost=counts["lost"],
            )
        )
        running = mrr_end
    return result


@dataclass(frozen=True)
class ChartPoint:
    month: datetime
    mrr: int
    x: float
    y: float


@dataclass(frozen=True)
class Chart:
    points: list[ChartPoint]
    width: int
    height: int
    top: int  # cents at the top of the scale
    path: str
    ticks: list[tuple[float, int]]  # (y, cents) for the horizontal grid lines


CHART_WIDTH, CHART_HEIGHT, CHART_PAD = 720, 240, 40


def _nice_top(value: int) -> int:
    """A round number of dollars, in cents, at or above ``value`` (at least $10)."""
    value = max(value, 1000)
    magnitude = Decimal(10) ** (len(str(value)) - 1)
    for step in (1, 2, 2.5, 5, 10):
        top = int(magnitude * Decimal(str(step)))
        if top >= value:
            return top
    return int(magnitude * 10)


def chart(months: list[Month]) -> Chart:
    """End-of-month MRR as an SVG polyline's coordinates (drawn server-side: no script)."""
    top = _nice_top(max((m.mrr_end for m in months), default=0))
    inner_w = CHART_WIDTH - 2 * CHART_PAD
    inner_h = CHART_HEIGHT - 2 * CHART_PAD
    step = inner_w / max(len(months) - 1, 1)
    points = [
        ChartPoint(
            month=m.start,
            mrr=m.mrr_end,
            x=round(CHART_PAD + i * step, 1),
            y=round(CHART_PAD + inner_h * (1 - max(m.mrr_end, 0) / top), 1),
        )
        for i, m in enumerate(months)
    ]
    path = " ".join(f"{p.x},{p.y}" for p in points)
    ticks = [(round(CHART_PAD + inner_h * (1 - f / 4), 1), top * f // 4) for f in range(5)]
    return Chart(points, CHART_WIDTH, CHART_HEIGHT, top, path, ticks)
