"""The console's tables as CSV, through the shared formula-safe writer, so a spreadsheet
never runs a customer-supplied value as a formula."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal

from django.http import HttpResponse

from billing.models import Customer, Invoice, Subscription
from billing.mrr import subscription_mrr_cents
from common.safe_csv import Cell, csv_text

from .selectors.metrics import Month


def _cell(value: Cell | datetime) -> Cell:
    return value.isoformat() if isinstance(value, datetime) else value


def money(cents: int | None) -> Decimal | None:
    return None if cents is None else (Decimal(cents) / 100).quantize(Decimal("0.01"))


def _ratio(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(str(round(value, 4)))


def response(
    filename: str, header: Sequence[str], rows: Iterable[Sequence[Cell | datetime]]
) -> HttpResponse:
    text = csv_text(header, ([_cell(cell) for cell in row] for row in rows))
    result = HttpResponse(text, content_type="text/csv; charset=utf-8")
    result["Content-Disposition"] = f'attachment; filename="{filename}"'
    result["Cache-Control"] = "private, no-store"
    return result


def _email(customer: Customer) -> str:
    return customer.user.email if customer.user is not None else ""


SUBSCRIPTION_HEADER = (
    "Customer email",
    "Stripe customer",
    "Stripe subscription",
    "Plan",
    "Status",
    "Seats",
    "MRR (USD)",
    "Current period end (UTC)",
    "Cancels at period end",
    "Past due since (UTC)",
    "Started (UTC)",
)


def subscription_rows(rows: Iterable[Subscription]) -> Iterable[list[Cell | datetime]]:
    for sub in rows:
        yield [
            _email(sub.customer),
            sub.customer.stripe_customer_id,
            sub.stripe_subscription_id,
            sub.plan.name,
            sub.status,
            sub.quantity,
            money(subscription_mrr_cents(sub)),
            sub.current_period_end,
            "yes" if sub.cancel_at_period_end else "no",
            sub.past_due_since,
            sub.started_at,
        ]


INVOICE_HEADER = (
    "Customer email",
    "Stripe customer",
    "Stripe invoice",
    "Number",
    "Status",
    "Currency",
    "Amount due",
    "Amount paid",
    "Attempts",
    "Next payment attempt (UTC)",
    "Subscription status",
    "Past due since (UTC)",
    "Created (UTC)",
)


def invoice_rows(rows: Iterable[Invoice]) -> Iterable[list[Cell | datetime]]:
    for invoice in rows:
        sub = invoice.subscription
        yield [
            _email(invoice.customer),
            invoice.customer.stripe_customer_id,
            invoice.stripe_invoice_id,
            invoice.number,
            invoice.status,
            invoice.currency.upper(),
            money(invoice.amount_due),
            money(invoice.amount_paid),
            invoice.attempt_count,
            invoice.next_payment_attempt,
            sub.status if sub else "",
            sub.past_due_since if sub else None,
            invoice.created,
        ]


MONTH_HEADER = (
    "Month",
    "MRR at start (USD)",
    "New (USD)",
    "Reactivation (USD)",
    "Expansion (USD)",
    "Contraction (USD)",
    "Churned (USD)",
    "Net new (USD)",
    "MRR at end (USD)",
    "Paying customers at start",
    "Customers lost",
    "Logo churn",
    "Revenue churn",
    "ARPA at end (USD)",
)


def month_rows(months: Iterable[Month]) -> Iterable[list[Cell | datetime]]:
    for m in months:
        yield [
            m.start.strftime("%Y-%m"),
            money(m.mrr_start),
            money(m.new),
            money(m.reactivation),
            money(m.expansion),
            money(m.contraction),
            money(m.churn),
            money(m.net_new),
            money(m.mrr_end),
            m.paying_start,
            m.customers_lost,
            _ratio(m.logo_churn),
            _ratio(m.revenue_churn),
            money(m.arpa),
        ]
