"""A person's billing for a privacy request: their references in the export, and erasure
that keeps what tax law asks for.

Billing holds no email, name or address: Stripe does (it is our payment processor). What
we hold are Stripe's ids, the subscription mirror (plan, status, periods, seats, a card's
brand and last four digits) and invoices. Erasure cuts the link between the account and
its Stripe customer, so the billing rows name no one; invoices, the customer row they
point at and the subscriptions stay as accounting records.
"""

from __future__ import annotations

from functools import partial

from django.db import transaction
from django.db.models import Q, QuerySet

from privacy.subjects import AppData, ErasureLine, Subject, columns_of, lines_with_rows, row

from . import tasks
from .mirror import LIVE
from .models import Customer, Invoice, MrrChange, Redemption, Subscription, WebhookEvent

APP = "billing"

# Worded to what the cited rules say, without claiming more: the IRS keeps an assessment
# open for 3 years (6 or more in some cases, 26 U.S.C. 6501) and California for 4 (Cal.
# Rev. & Tax. Code 19057); 7 years covers both with the usual margin.
TAX_RECORDS_REASON = (
    "Tax and accounting records: they must be kept while the tax returns they support can "
    "still be examined (26 CFR 1.6001-1(e); Cal. Rev. & Tax. Code 19530), which we take "
    "as 7 years from each invoice's date; a daily task deletes them after that. They name "
    "no one once the link to the account is cut."
)
STRIPE_COPY = (
    "Stripe, our payment processor, holds its own customer record (email, name, card): it is "
    "deleted at Stripe once this erasure has committed (see the service providers below). "
    "The invoices and payments Stripe processed stay there, with the name and email printed "
    "on them, as the financial records Stripe itself must keep."
)


def _customers(subject: Subject) -> QuerySet[Customer]:
    # Billing knows an account, never an address: a person without one has no billing rows.
    if subject.user is None:
        return Customer.objects.none()
    return Customer.objects.filter(user=subject.user)


def stripe_customer_ids(subject: Subject) -> list[str]:
    """The person's customers at Stripe: what an erasure asks Stripe to delete.

    Read before the erasure, which cuts the link this reads through.
    """
    return list(_customers(subject).order_by("pk").values_list("stripe_customer_id", flat=True))


def running_subscriptions(stripe_customer_id: str) -> int:
    """How many of the customer's subscriptions the mirror still shows as running."""
    return Subscription.objects.filter(
        customer__stripe_customer_id=stripe_customer_id, status__in=LIVE
    ).count()


def _webhook_events(customers: QuerySet[Customer]) -> QuerySet[WebhookEvent]:
    """Stored Stripe events about the customer, its subscriptions or its invoices."""
    customer_ids = list(customers.values_list("stripe_customer_id", flat=True))
    if not customer_ids:
        return WebhookEvent.objects.none()
    object_ids = [
        *customer_ids,
        *Subscription.objects.filter(customer__in=customers).values_list(
            "stripe_subscription_id", flat=True
        ),
        *Invoice.objects.filter(customer__in=customers).values_list("stripe_invoice_id", flat=True),
    ]
    return WebhookEvent.objects.filter(
        Q(object_id__in=object_ids) | Q(payload__data__object__customer__in=customer_ids)
    )


def export_for(subject: Subject) -> AppData:
    customers = _customers(subject)
    customer_rows = [
        row(stripe_customer_id=c.stripe_customer_id, created_at=c.created_at)
        for c in customers.order_by("created_at", "pk")
    ]
    subscriptions = [
        row(
            stripe_customer_id=s.customer.stripe_customer_id,
            stripe_subscription_id=s.stripe_subscription_id,
            plan=s.plan.name,
            status=s.get_status_display(),
            seats=s.quantity,
            started_at=s.started_at,
            current_period_start=s.current_period_start,
            current_period_end=s.current_period_end,
            cancel_at_period_end=s.cancel_at_period_end,
            canceled_at=s.canceled_at,
            ended_at=s.ended_at,
            trial_end=s.trial_end,
            card_brand=s.card_brand,
            card_last4=s.card_last4,
            promotion_code=s.promotion.code if s.promotion else "",
            discount_duration=s.discount_duration,
            discount_end=s.discount_end,
        )
        for s in Subscription.objects.filter(customer__in=customers)
        .select_related("customer", "plan", "promotion")
        .order_by("started_at", "pk")
    ]
    invoices = [
        row(
            stripe_invoice_id=i.stripe_invoice_id,
            number=i.number,
            status=i.status,
            currency=i.currency,
            amount_due_cents=i.amount_due,
            amount_paid_cents=i.amount_paid,
            period_start=i.period_start,
            period_end=i.period_end,
            created=i.created,
            paid_at=i.paid_at,
            hosted_invoice_url=i.hosted_invoice_url,
            discount_cents=i.discount_cents,
            promotion_code=i.promotion.code if i.promotion else "",
        )
        for i in Invoice.objects.filter(customer__in=customers)
        .select_related("promotion")
        .order_by("created", "pk")
    ]
    # Redemptions say nothing the subscriptions' and invoices' promotion codes do not.
    return {"customer": customer_rows, "subscriptions": subscriptions, "invoices": invoices}


def erase_for(subject: Subject, *, dry_run: bool) -> list[ErasureLine]:
    customers = _customers(subject)
    subscriptions = Subscription.objects.filter(customer__in=customers)
    live = subscriptions.filter(status__in=LIVE)
    lines = [
        ErasureLine(
            APP,
            "Link between their account and their billing customer: cut, so the billing "
            "rows below name no one",
            customers.count(),
            "anonymised",
        ),
        ErasureLine(
            APP,
            "Invoices (number, status, amounts, periods, payment date, Stripe's link)",
            Invoice.objects.filter(customer__in=customers).count(),
            "kept",
            reason=TAX_RECORDS_REASON,
            columns=columns_of(Invoice),
        ),
        ErasureLine(
            APP,
            "Billing customer record (Stripe's customer id only)",
            customers.count(),
            "kept",
            reason="The kept invoices point at it. " + STRIPE_COPY,
            columns=columns_of(Customer, leaving_out=("user",)),
        ),
        # Cancelled at Stripe once the erasure commits, by a task that retries: a rollback
        # could not take back a cancellation made inside the transaction.
        ErasureLine(
            APP,
            "Subscriptions still running (active, trialing or past due): cancelled at Stripe "
            "right after the erasure, so the card on file is not charged again",
            live.count(),
            "cancelled",
        ),
        ErasureLine(
            APP,
            "Ended subscriptions (plan, status, periods, seats, card brand and last four digits)",
            subscriptions.exclude(status__in=LIVE).count(),
            "kept",
            reason=(
                "The kept invoices refer to them. They mirror what Stripe reports, hold no "
                "card number, and name no one once the link to the account is cut."
            ),
            columns=columns_of(Subscription),
        ),
        ErasureLine(
            APP,
            "Revenue history entries of their subscriptions",
            MrrChange.objects.filter(customer__in=customers).count(),
            "kept",
            reason="Amounts and dates only, no personal information; revenue metrics use them.",
            columns=columns_of(MrrChange),
        ),
        ErasureLine(
            APP,
            "Promotion codes redeemed on their subscriptions",
            Redemption.objects.filter(customer__in=customers).count(),
            "kept",
            reason=(
                "The promotion, the subscription and the date only, no personal information; "
                "redemption limits and the promotions' figures count them."
            ),
            columns=columns_of(Redemption),
        ),
        ErasureLine(
            APP,
            "Stripe events received about their billing",
            _webhook_events(customers).count(),
            "kept",
            reason=(
                "Only Stripe's ids are stored from each event, never an email, name or card "
                "detail; they are the record of what Stripe told us."
            ),
            columns=columns_of(WebhookEvent),
        ),
    ]
    if dry_run:
        return lines_with_rows(lines)
    running = list(live.values_list("stripe_subscription_id", flat=True))
    with transaction.atomic():
        # A webhook syncing this customer right now holds its row; wait for it.
        list(customers.select_for_update())
        customers.update(user=None)
    for stripe_subscription_id in running:
        transaction.on_commit(
            partial(tasks.cancel_subscription_for_erasure.delay, stripe_subscription_id)
        )
    return lines_with_rows(lines)
