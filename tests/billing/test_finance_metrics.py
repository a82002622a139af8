"""Finance metrics on a constructed history, against values worked out by hand.

The history (amounts in cents of MRR), with the clock at 15 June 2025, 12:00 UTC:

    2024-03-10  A new           0 -> 1500   (before the 12-month window)
    2025-01-05  B new           0 -> 6000   (Business, 3 seats)
    2025-02-10  A expansion  1500 -> 4000   (to Business, 2 seats)
    2025-02-20  C new           0 -> 1250   (Pro yearly: 15000 / 12)
    2025-03-03  B contraction 6000 -> 4000  (down to 2 seats)
    2025-03-15  C churn      1250 -> 0
    2025-04-01  D new           0 -> 1500
    2025-04-20  D churn      1500 -> 0      (joined and left within April)
    2025-05-10  C reactivation  0 -> 1250
    2025-06-02  B expansion  4000 -> 8000   (up to 4 seats)
"""

from datetime import UTC, datetime

import pytest
import time_machine

from billing.finance.selectors import metrics
from billing.models import MrrChange, Subscription
from tests.factories import UserFactory

from .factories import CustomerFactory, SubscriptionFactory, mrr_change, plan

pytestmark = pytest.mark.django_db
Kind = MrrChange.Kind
Status = Subscription.Status
NOW = datetime(2025, 6, 15, 12, 0, tzinfo=UTC)


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


@pytest.fixture
def history():
    a = SubscriptionFactory(plan=plan("business-monthly"), quantity=2, status=Status.ACTIVE)
    b = SubscriptionFactory(plan=plan("business-monthly"), quantity=4, status=Status.ACTIVE)
    c = SubscriptionFactory(plan=plan("pro-yearly"), status=Status.PAST_DUE)
    d = SubscriptionFactory(plan=plan("pro-monthly"), status=Status.CANCELED)
    # Counted nowhere: a trial, and a free "subscription".
    SubscriptionFactory(plan=plan("pro-monthly"), status=Status.TRIALING)
    SubscriptionFactory(plan=plan("free"), status=Status.ACTIVE)
    for sub, day, kind, before, after in [
        (a, "2024-03-10", Kind.NEW, 0, 1500),
        (b, "2025-01-05", Kind.NEW, 0, 6000),
        (a, "2025-02-10", Kind.EXPANSION, 1500, 4000),
        (c, "2025-02-20", Kind.NEW, 0, 1250),
        (b, "2025-03-03", Kind.CONTRACTION, 6000, 4000),
        (c, "2025-03-15", Kind.CHURN, 1250, 0),
        (d, "2025-04-01T00:00:00", Kind.NEW, 0, 1500),
        (d, "2025-04-20", Kind.CHURN, 1500, 0),
        (c, "2025-05-10", Kind.REACTIVATION, 0, 1250),
        (b, "2025-06-02", Kind.EXPANSION, 4000, 8000),
    ]:
        mrr_change(sub, at=at(day), kind=kind, before=before, after=after)


@pytest.fixture
def months(history):
    with time_machine.travel(NOW, tick=False):
        return {m.start.strftime("%Y-%m"): m for m in metrics.monthly()}


def test_mrr_now_counts_active_and_past_due_paid_subscriptions_only(history):
    summary = metrics.summary()

    # A 2 x 2000 + B 4 x 2000 + C 15000 / 12; the trial, the free plan and D count nothing.
    assert summary.mrr == 4000 + 8000 + 1250 == 13250
    assert summary.arr == 12 * 13250 == 159000
    assert summary.paying_accounts == 3
    assert summary.arpa == round(13250 / 3) == 4417
    assert (summary.trialing, summary.past_due, summary.active_subscriptions) == (1, 1, 3)


def test_twelve_months_ending_with_the_current_one(months):
    assert list(months) == [
        "2024-07", "2024-08", "2024-09", "2024-10", "2024-11", "2024-12",
        "2025-01", "2025-02", "2025-03", "2025-04", "2025-05", "2025-06",
    ]  # fmt: skip


def test_new_expansion_contraction_churn_and_reactivation_by_month(months):
    flows = {
        key: (m.new, m.reactivation, m.expansion, m.contraction, m.churn)
        for key, m in months.items()
        if key >= "2025-01"
    }

    assert flows == {
        "2025-01": (6000, 0, 0, 0, 0),
        "2025-02": (1250, 0, 2500, 0, 0),
        "2025-03": (0, 0, 0, 2000, 1250),
        "2025-04": (1500, 0, 0, 0, 1500),
        "2025-05": (0, 1250, 0, 0, 0),
        "2025-06": (0, 0, 4000, 0, 0),
    }
    assert months["2024-12"].net_new == 0
    assert months["2025-03"].net_new == -3250


def test_mrr_at_each_month_start_and_end(months):
    ends = [m.mrr_end for m in months.values()]

    assert months["2024-07"].mrr_start == 1500  # A, from before the window
    assert ends == [1500] * 6 + [7500, 11250, 8000, 8000, 9250, 13250]
    assert [m.mrr_start for m in months.values()][1:] == ends[:-1]


def test_logo_churn(months):
    march, april = months["2025-03"], months["2025-04"]

    # March: A, B and C paid at its start; C stopped.
    assert (march.customers_lost, march.paying_start) == (1, 3)
    assert march.logo_churn == pytest.approx(1 / 3)
    # April: D joined and left within the month: not among those paying at its start.
    assert (april.customers_lost, april.paying_start, april.logo_churn) == (0, 2, 0)
    assert months["2024-07"].logo_churn == 0


def test_revenue_churn(months):
    assert months["2025-03"].revenue_churn == pytest.approx((1250 + 2000) / 11250)
    assert months["2025-04"].revenue_churn == pytest.approx(1500 / 8000)
    assert months["2025-06"].revenue_churn == 0


def test_arpa_at_each_month_end(months):
    assert months["2024-12"].arpa == 1500
    assert months["2025-01"].arpa == 7500 / 2
    assert months["2025-03"].arpa == 4000
    assert months["2025-05"].arpa == round(9250 / 3)


def test_the_chart_plots_end_of_month_mrr_left_to_right(months):
    chart = metrics.chart(list(months.values()))

    assert [p.mrr for p in chart.points] == [1500] * 6 + [7500, 11250, 8000, 8000, 9250, 13250]
    assert chart.top == 20000  # $200: the round number above $132.50
    xs = [p.x for p in chart.points]
    assert xs == sorted(xs) and xs[0] == metrics.CHART_PAD
    assert xs[-1] == metrics.CHART_WIDTH - metrics.CHART_PAD
    # Higher MRR is drawn higher (smaller y); the top of the scale at the top padding.
    highest = chart.points[-1]
    assert highest.y == pytest.approx(
        metrics.CHART_PAD + (metrics.CHART_HEIGHT - 2 * metrics.CHART_PAD) * (1 - 13250 / 20000),
        abs=0.1,
    )
    assert chart.points[0].y > highest.y


def test_without_any_history_every_rate_is_undefined_not_zero():
    with time_machine.travel(NOW, tick=False):
        months = metrics.monthly()

    assert all(m.mrr_end == 0 for m in months)
    assert all(m.logo_churn is None and m.revenue_churn is None for m in months)
    assert metrics.summary().arpa is None
    assert metrics.chart(months).top == 1000


def test_a_customer_with_two_subscriptions_is_one_account():
    customer = CustomerFactory(user=UserFactory())
    SubscriptionFactory(customer=customer, plan=plan("pro-monthly"))
    SubscriptionFactory(customer=customer, plan=plan("pro-yearly"))

    summary = metrics.summary()

    assert (summary.mrr, summary.paying_accounts, summary.arpa) == (1500 + 1250, 1, 2750)


def test_the_monthly_figures_take_a_fixed_number_of_queries(history, django_assert_max_num_queries):
    with time_machine.travel(NOW, tick=False), django_assert_max_num_queries(2 + 12):
        metrics.monthly()
