"""The finance console: only the finance role opens its pages and CSVs; filters; exports."""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.roles import FINANCE, PRIVACY_ADMIN
from billing.models import Subscription
from privacy.models import AuditEntry
from tests.factories import UserFactory

from .factories import CustomerFactory, InvoiceFactory, SubscriptionFactory, mrr_change, plan

pytestmark = pytest.mark.django_db
Status = Subscription.Status


@pytest.fixture
def customer():
    return CustomerFactory(user=UserFactory(email="=HYPERLINK(1)@example.com"))


@pytest.fixture
def urls(customer):
    cid = customer.stripe_customer_id
    return [
        reverse("finance:overview"),
        reverse("finance:metrics_csv"),
        reverse("finance:subscriptions"),
        reverse("finance:subscriptions_csv"),
        reverse("finance:failed_payments"),
        reverse("finance:failed_payments_csv"),
        reverse("finance:customer", args=[cid]),
        reverse("finance:customer_invoices_csv", args=[cid]),
    ]


@pytest.fixture
def finance(client):
    client.force_login(UserFactory(roles=[FINANCE]))
    return client


def rows_of(response):
    assert response["Content-Type"].startswith("text/csv")
    assert response["Cache-Control"] == "private, no-store"
    return list(csv.reader(io.StringIO(response.content.decode())))


# --- Who may open it ----------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_sign_in(client, urls):
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.url.startswith(reverse("account_login")), url


@pytest.mark.parametrize("roles", [[], [PRIVACY_ADMIN]], ids=["host", "privacy admin"])
def test_accounts_without_the_finance_role_get_403(client, urls, roles):
    client.force_login(UserFactory(roles=roles))

    for url in urls:
        assert client.get(url).status_code == 403, url
    assert not AuditEntry.objects.filter(action__startswith="finance.").exists()


def test_finance_opens_every_page_and_csv(finance, urls):
    for url in urls:
        assert finance.get(url).status_code == 200, url


def test_the_overview_prints_each_metric_with_its_definition(finance):
    SubscriptionFactory(plan=plan("pro-monthly"))

    html = finance.get(reverse("finance:overview")).content.decode()

    for text in (
        "USD 15.00",  # MRR
        "USD 180.00",  # ARR
        "Trials, free plans and ended subscriptions count nothing",
        "12 x MRR",
        "MRR ÷ the number of accounts paying now",
        "Shown on its own, not inside new MRR",
        "÷ customers paying at the start of the month",
        "(churned + contraction MRR of the month) ÷ MRR at the start",
        "<svg",
        "<polyline",
    ):
        assert text in html, text
    assert "<script" not in html.split("<main", 1)[-1].split("</main>")[0]


def test_the_metrics_csv_has_twelve_months(finance):
    sub = SubscriptionFactory(plan=plan("pro-monthly"))
    mrr_change(sub, at=timezone.now(), kind="new", before=0, after=1500)

    header, *rows = rows_of(finance.get(reverse("finance:metrics_csv")))

    assert header[:3] == ["Month", "MRR at start (USD)", "New (USD)"]
    assert len(rows) == 12
    this_month = dict(zip(header, rows[-1], strict=True))
    assert this_month["Month"] == timezone.now().astimezone(UTC).strftime("%Y-%m")
    assert (this_month["New (USD)"], this_month["MRR at end (USD)"]) == ("15.00", "15.00")
    assert this_month["Logo churn"] == ""  # nobody paid at the start: undefined, not 0


# --- Subscriptions and filters -------------------------------------------------------------


@pytest.fixture
def subscriptions(customer):
    soon = timezone.now() + timedelta(days=3)
    later = timezone.now() + timedelta(days=40)
    return {
        "pro": SubscriptionFactory(
            customer=customer, plan=plan("pro-monthly"), current_period_end=soon
        ),
        "business": SubscriptionFactory(
            plan=plan("business-monthly"), quantity=3, current_period_end=later
        ),
        "late": SubscriptionFactory(
            plan=plan("pro-yearly"), status=Status.PAST_DUE, current_period_end=later
        ),
        "gone": SubscriptionFactory(plan=plan("pro-monthly"), status=Status.CANCELED),
    }


def listed(client, **query):
    response = client.get(reverse("finance:subscriptions"), query)
    assert response.status_code == 200
    return response


def ids_in(response):
    return {sub.stripe_subscription_id for sub, _ in response.context["rows"]}


def test_subscriptions_unfiltered_and_by_plan_status_and_period(finance, subscriptions):
    s = {key: sub.stripe_subscription_id for key, sub in subscriptions.items()}
    in_ten_days = (timezone.localdate() + timedelta(days=10)).isoformat()
    in_a_year = (timezone.localdate() + timedelta(days=365)).isoformat()

    assert ids_in(listed(finance)) == set(s.values())
    assert ids_in(listed(finance, plan="pro-monthly")) == {s["pro"], s["gone"]}
    assert ids_in(listed(finance, status="past_due")) == {s["late"]}
    assert ids_in(listed(finance, period_end_to=in_ten_days)) == {s["pro"]}
    between = listed(finance, period_end_from=in_ten_days, period_end_to=in_a_year)
    assert ids_in(between) == {s["business"], s["late"], s["gone"]}
    assert ids_in(listed(finance, plan="pro-monthly", status="active")) == {s["pro"]}


def test_the_table_shows_each_subscriptions_mrr(finance, subscriptions):
    rows = dict((sub.stripe_subscription_id, mrr) for sub, mrr in listed(finance).context["rows"])

    assert rows[subscriptions["business"].stripe_subscription_id] == 6000
    assert rows[subscriptions["late"].stripe_subscription_id] == 1250
    assert rows[subscriptions["gone"].stripe_subscription_id] == 0


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"period_end_from": "2025-05-01", "period_end_to": "2025-04-01"}, "must not be after"),
        ({"period_end_from": "yesterday"}, "Enter a valid date"),
        ({"plan": "platinum"}, "Select a valid choice"),
        ({"status": "zombie"}, "Select a valid choice"),
    ],
)
def test_bad_filters_are_explained_not_crashed(finance, query, message):
    page = finance.get(reverse("finance:subscriptions"), query)
    export = finance.get(reverse("finance:subscriptions_csv"), query)

    assert page.status_code == 400
    assert message in page.content.decode()
    assert export.status_code == 400
    assert message in export.content.decode()


def test_the_subscriptions_csv_follows_the_filters_and_defuses_formulas(finance, subscriptions):
    response = finance.get(reverse("finance:subscriptions_csv"), {"plan": "pro-monthly"})

    header, *rows = rows_of(response)
    assert header[:3] == ["Customer email", "Stripe customer", "Stripe subscription"]
    by_id = {row[2]: row for row in rows}
    assert set(by_id) == {
        subscriptions["pro"].stripe_subscription_id,
        subscriptions["gone"].stripe_subscription_id,
    }
    pro = by_id[subscriptions["pro"].stripe_subscription_id]
    assert pro[0] == "'=HYPERLINK(1)@example.com"
    assert (pro[3], pro[4], pro[5], pro[6]) == ("Pro (monthly)", "active", "1", "15.00")
    assert 'filename="subscriptions-' in response["Content-Disposition"]


def test_listing_subscriptions_is_audited(finance, subscriptions):
    finance.get(reverse("finance:subscriptions"))
    finance.get(reverse("finance:subscriptions_csv"))

    assert list(
        AuditEntry.objects.filter(action__startswith="finance.").values_list("action", flat=True)
    ) == ["finance.list_subscriptions", "finance.export_subscriptions"]


# --- Customers and failed payments --------------------------------------------------------


@pytest.fixture
def dunning(customer):
    since = datetime(2025, 5, 2, 9, 0, tzinfo=UTC)
    sub = SubscriptionFactory(
        customer=customer, plan=plan("pro-monthly"), status=Status.PAST_DUE, past_due_since=since
    )
    failed = InvoiceFactory(
        customer=customer,
        subscription=sub,
        number="CONF-0042",
        status="open",
        amount_due=1500,
        amount_paid=0,
        attempt_count=2,
        next_payment_attempt=datetime(2025, 5, 9, 9, 0, tzinfo=UTC),
    )
    paid = InvoiceFactory(customer=customer, subscription=sub, number="CONF-0041")
    mrr_change(sub, at=since - timedelta(days=30), kind="new", before=0, after=1500)
    return sub, failed, paid


def test_the_customer_page_shows_history_invoices_and_dunning(finance, customer, dunning):
    sub, failed, paid = dunning

    response = finance.get(reverse("finance:customer", args=[customer.stripe_customer_id]))

    html = response.content.decode()
    assert "=HYPERLINK(1)@example.com" in html
    assert sub.stripe_subscription_id in html
    assert "past due since 2 May 2025" in html
    assert "CONF-0042" in html and "CONF-0041" in html
    assert "9 May 2025" in html  # the next payment attempt
    assert response.context["file"].failed == [failed]
    assert paid in response.context["file"].invoices
    entry = AuditEntry.objects.get(action="finance.view_customer")
    assert (entry.target_id, entry.details["user_id"]) == (
        customer.stripe_customer_id,
        customer.user_id,
    )


def test_an_unknown_customer_is_404(finance):
    assert finance.get(reverse("finance:customer", args=["cus_nobody"])).status_code == 404
    assert (
        finance.get(reverse("finance:customer_invoices_csv", args=["cus_nobody"])).status_code
        == 404
    )


def test_the_customer_invoices_csv(finance, customer, dunning):
    response = finance.get(
        reverse("finance:customer_invoices_csv", args=[customer.stripe_customer_id])
    )

    header, *rows = rows_of(response)
    assert header[3:9] == ["Number", "Status", "Currency", "Amount due", "Amount paid", "Attempts"]
    assert sorted(row[3] for row in rows) == ["CONF-0041", "CONF-0042"]


def test_failed_payments_list_only_unpaid_attempted_invoices(finance, customer, dunning):
    _, failed, _ = dunning
    InvoiceFactory(status="open", attempt_count=0, amount_paid=0)  # not tried yet
    InvoiceFactory(status="void", attempt_count=3, amount_paid=0)  # written off

    page = finance.get(reverse("finance:failed_payments"))
    export = finance.get(reverse("finance:failed_payments_csv"))

    assert list(page.context["page"]) == [failed]
    header, *rows = rows_of(export)
    assert len(rows) == 1
    row = dict(zip(header, rows[0], strict=True))
    assert row["Number"] == "CONF-0042"
    assert row["Attempts"] == "2"
    assert row["Subscription status"] == "past_due"
    assert row["Past due since (UTC)"] == "2025-05-02T09:00:00+00:00"
    assert row["Next payment attempt (UTC)"] == "2025-05-09T09:00:00+00:00"
    assert row["Customer email"] == "'=HYPERLINK(1)@example.com"
