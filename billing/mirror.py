"""Our copy of what Stripe holds: refreshed from a re-fetched Stripe object, never from
an event's payload (events arrive late, twice, or out of order; the object is current).

Also here: the subscription's allowed status moves, the end of the grace period after
failed payments, and the nightly reconciliation with Stripe.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User

from . import discounts, gateway, mrr
from .models import Customer, Invoice, Plan, Subscription

logger = logging.getLogger(__name__)

Status = Subscription.Status

# Stripe moves a subscription; the mirror follows, but never out of a final status.
MOVES: dict[str, frozenset[str]] = {
    Status.INCOMPLETE: frozenset(
        {
            Status.ACTIVE,
            Status.TRIALING,
            Status.PAST_DUE,
            Status.UNPAID,
            Status.INCOMPLETE_EXPIRED,
            Status.CANCELED,
        }
    ),
    Status.TRIALING: frozenset(
        {Status.ACTIVE, Status.PAST_DUE, Status.UNPAID, Status.PAUSED, Status.CANCELED}
    ),
    Status.ACTIVE: frozenset(
        {Status.TRIALING, Status.PAST_DUE, Status.UNPAID, Status.PAUSED, Status.CANCELED}
    ),
    Status.PAST_DUE: frozenset({Status.ACTIVE, Status.UNPAID, Status.CANCELED}),
    Status.UNPAID: frozenset({Status.ACTIVE, Status.PAST_DUE, Status.CANCELED}),
    Status.PAUSED: frozenset({Status.ACTIVE, Status.CANCELED}),
    Status.CANCELED: frozenset(),
    Status.INCOMPLETE_EXPIRED: frozenset(),
}
FINAL = frozenset({Status.CANCELED, Status.INCOMPLETE_EXPIRED})
# Subscriptions that still give (or are about to give) their plan.
LIVE = frozenset({Status.ACTIVE, Status.PAST_DUE, Status.TRIALING})


class MirrorError(Exception):
    """Stripe's object cannot be mirrored as it is (the event fails and is retried)."""


class InvalidMove(MirrorError):
    pass


class UnknownPlan(MirrorError):
    pass


def check_move(old: str, new: str) -> None:
    if old != new and new not in MOVES.get(old, frozenset()):
        raise InvalidMove(f"A subscription does not move from {old} to {new}.")


def _dt(value: Any) -> datetime | None:
    return datetime.fromtimestamp(int(value), tz=UTC) if value else None


def related_id(value: Any) -> str:
    """Stripe gives a related object as its id, or expanded as a dict."""
    if isinstance(value, dict):
        return str(value.get("id") or "")
    return str(value or "")


# --- Reads ----------------------------------------------------------------------


def current_subscription(user: User) -> Subscription | None:
    """The account's subscription that is not over, newest first (None: the Free plan)."""
    if not user.is_authenticated:
        return None
    return (
        Subscription.objects.filter(customer__user=user)
        .exclude(status__in=FINAL)
        .select_related("plan", "customer")
        .order_by("-started_at", "-pk")
        .first()
    )


# --- Customers ------------------------------------------------------------------


def customer_for(stripe_customer: Any, *, user: User | None = None) -> Customer:
    """The mirror row of a Stripe customer, created and linked to its account if new.

    The account comes from the caller (Checkout's client_reference_id) or from the
    `confer_user_id` we put in the customer's metadata when we created it.
    """
    customer_id = related_id(stripe_customer)
    if not customer_id:
        raise MirrorError("The Stripe object names no customer.")
    row = Customer.objects.filter(stripe_customer_id=customer_id).first()
    if row is not None:
        if user is not None and row.user_id is None and not _has_customer(user):
            Customer.objects.filter(pk=row.pk, user__isnull=True).update(user=user)
            row.refresh_from_db()
        return row
    if user is None:
        metadata = (
            stripe_customer.get("metadata")
            if isinstance(stripe_customer, dict)
            else gateway.retrieve_customer(customer_id).get("metadata")
        ) or {}
        user = _user_from_metadata(metadata)
    if user is not None and _has_customer(user):
        user = None  # the account has its own customer already; reconciliation reports it
    try:
        with transaction.atomic():
            row, _ = Customer.objects.get_or_create(
                stripe_customer_id=customer_id, defaults={"user": user}
            )
    except IntegrityError:  # another process linked this account meanwhile
        row, _ = Customer.objects.get_or_create(stripe_customer_id=customer_id)
    return row


def _has_customer(user: User) -> bool:
    return Customer.objects.filter(user=user).exists()


def _user_from_metadata(metadata: dict[str, Any]) -> User | None:
    raw = str(metadata.get("confer_user_id") or "")
    return User.objects.filter(pk=int(raw)).first() if raw.isdigit() else None


# --- Subscriptions ----------------------------------------------------------------


def plan_for(stripe_plan: dict[str, Any]) -> Plan:
    """Our plan for a Stripe plan/price: by its id, else by the slug in its metadata."""
    plan = Plan.objects.filter(stripe_price_id=stripe_plan.get("id", "")).first()
    if plan is None:
        slug = (stripe_plan.get("metadata") or {}).get("confer_plan", "")
        plan = Plan.objects.filter(slug=slug).first() if slug else None
    if plan is None:
        raise UnknownPlan(f"No plan here matches Stripe's {stripe_plan.get('id')!r}.")
    return plan


def sync_subscription(stripe_subscription_id: str, *, user: User | None = None) -> Subscription:
    """Re-fetch one subscription from Stripe and bring the mirror (and MRR log) up to date.

    The customer's row is locked while Stripe is asked, so two syncs of the same
    customer run one after the other and the later one writes the later state.
    """
    customer_pk = (
        Subscription.objects.filter(stripe_subscription_id=stripe_subscription_id)
        .values_list("customer_id", flat=True)
        .first()
    )
    if customer_pk is None or user is not None:
        first = gateway.retrieve_subscription(stripe_subscription_id)
        customer_pk = customer_for(first["customer"], user=user).pk
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer_pk)
        data = gateway.retrieve_subscription(stripe_subscription_id)
        if related_id(data.get("customer")) != customer.stripe_customer_id:
            raise MirrorError("The subscription changed customer at Stripe.")
        brand, last4 = _card(data)
        return _apply_subscription(data, customer=customer, card=(brand, last4))


def subscription_item(data: dict[str, Any]) -> dict[str, Any]:
    items = (data.get("items") or {}).get("data") or []
    if not items:
        raise MirrorError(f"Subscription {data.get('id')} has no items.")
    return items[0]  # type: ignore[no-any-return]


def _card(data: dict[str, Any]) -> tuple[str, str]:
    """Brand and last four digits of the card that pays: nothing else about it is kept."""
    method_id = related_id(data.get("default_payment_method"))
    if not method_id:
        customer = data.get("customer")
        if not isinstance(customer, dict):
            customer = gateway.retrieve_customer(related_id(customer))
        default = (customer.get("invoice_settings") or {}).get("default_payment_method")
        if isinstance(default, dict):
            return _brand_last4(default)
        method_id = related_id(default)
    if not method_id:
        return "", ""
    return _brand_last4(gateway.retrieve_payment_method(method_id))


def _brand_last4(method: dict[str, Any]) -> tuple[str, str]:
    card = method.get("card") or {}
    return str(card.get("brand") or "")[:24], str(card.get("last4") or "")[:4]


def _apply_subscription(
    data: dict[str, Any], *, customer: Customer, card: tuple[str, str]
) -> Subscription:
    item = subscription_item(data)
    plan = plan_for(item.get("price") or item.get("plan") or data.get("plan") or {})
    status = str(data["status"])
    if status not in MOVES:
        raise MirrorError(f"Unknown subscription status {status!r}.")
    now = timezone.now()
    fields = {
        "plan": plan,
        "status": status,
        "quantity": int(item.get("quantity") or data.get("quantity") or 1),
        "current_period_start": _dt(
            data.get("current_period_start") or item.get("current_period_start")
        ),
        "current_period_end": _dt(data.get("current_period_end") or item.get("current_period_end")),
        "cancel_at_period_end": bool(data.get("cancel_at_period_end")),
        "canceled_at": _dt(data.get("canceled_at")),
        "ended_at": _dt(data.get("ended_at")),
        "trial_end": _dt(data.get("trial_end")),
        "card_brand": card[0],
        "card_last4": card[1],
        "started_at": _dt(data.get("start_date") or data.get("created")),
        "synced_at": now,
        **discounts.subscription_fields(data),
    }
    subscription, created = Subscription.objects.select_for_update().get_or_create(
        stripe_subscription_id=data["id"],
        defaults={
            "customer": customer,
            "past_due_since": now if status == Status.PAST_DUE else None,
            **fields,
        },
    )
    discounts.record_redemption(subscription, at=now)
    if created:
        mrr.track(subscription=subscription, before_cents=0, at=now)
        return subscription
    check_move(subscription.status, status)
    before = mrr.subscription_mrr_cents(subscription)
    past_due = status == Status.PAST_DUE
    fields["past_due_since"] = (subscription.past_due_since or now) if past_due else None
    for name, value in fields.items():
        setattr(subscription, name, value)
    subscription.save()
    discounts.record_redemption(subscription, at=now)
    mrr.track(subscription=subscription, before_cents=before, at=now)
    return subscription


# --- Invoices ---------------------------------------------------------------------


def _invoice_subscription_id(data: dict[str, Any]) -> str:
    direct = related_id(data.get("subscription"))
    if direct:
        return direct
    parent = data.get("parent") or {}
    return related_id((parent.get("subscription_details") or {}).get("subscription"))


def sync_invoice(stripe_invoice_id: str) -> Invoice:
    """Re-fetch an invoice, refresh its subscription first (a failed payment makes it
    past_due), then mirror the invoice."""
    data = gateway.retrieve_invoice(stripe_invoice_id)
    customer = customer_for(data["customer"])
    subscription_id = _invoice_subscription_id(data)
    subscription = sync_subscription(subscription_id) if subscription_id else None
    transitions = data.get("status_transitions") or {}
    invoice, _ = Invoice.objects.update_or_create(
        stripe_invoice_id=data["id"],
        defaults={
            "customer": customer,
            "subscription": subscription,
            "number": str(data.get("number") or "")[:64],
            "status": str(data.get("status") or ""),
            "currency": str(data.get("currency") or "usd")[:3],
            "amount_due": int(data.get("amount_due") or 0),
            "amount_paid": int(data.get("amount_paid") or 0),
            "attempt_count": int(data.get("attempt_count") or 0),
            "period_start": _dt(data.get("period_start")),
            "period_end": _dt(data.get("period_end")),
            "created": _dt(data.get("created") or data.get("date")) or timezone.now(),
            "paid_at": _dt(transitions.get("paid_at")),
            "next_payment_attempt": _dt(data.get("next_payment_attempt")),
            "hosted_invoice_url": str(data.get("hosted_invoice_url") or "")[:500],
            **discounts.invoice_fields(data, subscription),
        },
    )
    return invoice


# --- Grace period -------------------------------------------------------------------


def end_expired_grace_periods(*, now: datetime | None = None) -> list[str]:
    """Cancel, at Stripe, subscriptions past due for longer than the grace period, and
    mirror them: their accounts are on the Free plan from then on."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.BILLING_GRACE_DAYS)
    ended = []
    expired = Subscription.objects.filter(
        status=Status.PAST_DUE, past_due_since__lte=cutoff
    ).values_list("stripe_subscription_id", flat=True)
    for subscription_id in list(expired):
        try:
            gateway.cancel_subscription_now(
                subscription_id=subscription_id, idempotency_key=f"grace-end-{subscription_id}"
            )
            sync_subscription(subscription_id)
        except (gateway.GatewayError, MirrorError):
            logger.exception("Could not end the grace period of %s", subscription_id)
            continue
        logger.info("Grace period over: %s cancelled", subscription_id)
        ended.append(subscription_id)
    return ended


def cancel_now(*, stripe_subscription_id: str, idempotency_key: str) -> str:
    """Cancel a subscription at Stripe at once and mirror it; its status afterwards."""
    if not gateway.is_configured():
        # Without Stripe nothing can charge the card; the mirror row says what it said.
        return "not-configured"
    gateway.cancel_subscription_now(
        subscription_id=stripe_subscription_id, idempotency_key=idempotency_key
    )
    return sync_subscription(stripe_subscription_id).status


# --- Reconciliation -------------------------------------------------------------------


@dataclass
class ReconcileReport:
    checked_subscriptions: int = 0
    checked_customers: int = 0
    differences: list[dict[str, str]] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)

    def note(self, kind: str, stripe_id: str, detail: str) -> None:
        self.differences.append({"kind": kind, "id": stripe_id, "detail": detail})

    def as_dict(self) -> dict[str, object]:
        return {
            "checked_subscriptions": self.checked_subscriptions,
            "checked_customers": self.checked_customers,
            "differences": self.differences,
            "errors": self.errors,
        }


COMPARED = ("status", "plan_id", "quantity", "cancel_at_period_end", "current_period_end")


def _snapshot(subscription: Subscription | None) -> dict[str, object] | None:
    if subscription is None:
        return None
    return {name: getattr(subscription, name) for name in COMPARED}


def reconcile() -> ReconcileReport:
    """Compare the mirror with everything Stripe lists, fix the mirror, report what
    differed. Differences mean a webhook was lost or failed: worth a look."""
    report = ReconcileReport()
    seen: set[str] = set()
    for data in gateway.list_subscriptions():
        report.checked_subscriptions += 1
        subscription_id = str(data["id"])
        seen.add(subscription_id)
        before = _snapshot(
            Subscription.objects.filter(stripe_subscription_id=subscription_id).first()
        )
        try:
            after = _snapshot(sync_subscription(subscription_id))
        except (gateway.GatewayError, MirrorError) as exc:
            report.errors.append({"id": subscription_id, "error": str(exc)})
            continue
        if before is None:
            report.note("subscription_missing", subscription_id, "Not in the mirror; added.")
        elif before != after:
            changed = ", ".join(
                f"{k}: {before[k]} → {after[k]}"  # type: ignore[index]
                for k in COMPARED
                if before[k] != after[k]  # type: ignore[index]
            )
            report.note("subscription_differs", subscription_id, changed)
    for subscription in Subscription.objects.exclude(status__in=FINAL).exclude(
        stripe_subscription_id__in=seen
    ):
        try:
            sync_subscription(subscription.stripe_subscription_id)
            report.note(
                "subscription_unlisted",
                subscription.stripe_subscription_id,
                "Not in Stripe's list; refreshed from Stripe.",
            )
        except gateway.NotFound:
            report.note(
                "subscription_unknown_to_stripe",
                subscription.stripe_subscription_id,
                "Stripe has no such subscription; the mirror row is kept for review.",
            )
        except (gateway.GatewayError, MirrorError) as exc:
            report.errors.append({"id": subscription.stripe_subscription_id, "error": str(exc)})
    _reconcile_customers(report)
    for difference in report.differences:
        logger.warning("Stripe reconciliation: %s %s: %s", *difference.values())
    logger.info(
        "Stripe reconciliation: %s subscriptions, %s customers, %s differences, %s errors",
        report.checked_subscriptions,
        report.checked_customers,
        len(report.differences),
        len(report.errors),
    )
    return report


def _reconcile_customers(report: ReconcileReport) -> None:
    seen: set[str] = set()
    for data in gateway.list_customers():
        report.checked_customers += 1
        customer_id = str(data["id"])
        seen.add(customer_id)
        if Customer.objects.filter(stripe_customer_id=customer_id).exists():
            continue
        linked = customer_for(data)
        report.note(
            "customer_missing",
            customer_id,
            "Not in the mirror; added"
            + (" and linked to its account." if linked.user_id else " (no account matches)."),
        )
    for customer_id in Customer.objects.exclude(stripe_customer_id__in=seen).values_list(
        "stripe_customer_id", flat=True
    ):
        report.note("customer_unknown_to_stripe", customer_id, "Stripe does not list it.")
