"""Billing writes: a host's subscription, started on Checkout and changed through Stripe.

Each function asks Stripe through the gateway with an idempotency key made of our own
operation id, then re-syncs the mirror from Stripe's answer; webhooks later confirm
the same state (and are harmless when they do).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError, transaction

from accounts.models import User

from . import gateway, mirror, mrr
from .models import Customer, Plan, Promotion, Subscription

MAX_SEATS = 1000


class BillingError(Exception):
    """A request we refuse, with a message for the host."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _guard(error: gateway.GatewayError) -> BillingError:
    return BillingError(error.message)


# --- Customers ---------------------------------------------------------------------


def ensure_customer(*, user: User) -> Customer:
    """The account's Stripe customer, created at Stripe the first time it is needed."""
    existing = Customer.objects.filter(user=user).first()
    if existing is not None:
        return existing
    try:
        # One key per account: a second concurrent request gets the same customer back.
        data = gateway.create_customer(user=user, idempotency_key=f"customer-{user.pk}")
    except gateway.GatewayError as exc:
        raise _guard(exc) from exc
    try:
        with transaction.atomic():
            customer, _ = Customer.objects.get_or_create(
                stripe_customer_id=data["id"], defaults={"user": user}
            )
    except IntegrityError:
        customer = Customer.objects.get(user=user)
    return customer


# --- Checkout and Portal -------------------------------------------------------------


def _sellable(plan: Plan) -> None:
    if plan.is_free or not plan.interval:
        raise BillingError("The Free plan needs no payment.")
    if not plan.is_active:
        raise BillingError("That plan is no longer on sale.")
    if not plan.stripe_price_id:
        raise BillingError("That plan is not set up for payments yet. Please contact support.")


def _seats(plan: Plan, seats: int) -> int:
    if not plan.per_seat:
        return 1
    if not 1 <= seats <= MAX_SEATS:
        raise BillingError(f"Choose between 1 and {MAX_SEATS} seats.")
    return seats


def start_checkout(
    *,
    user: User,
    plan: Plan,
    seats: int,
    operation_id: str,
    success_url: str,
    cancel_url: str,
    promotion: Promotion | None = None,
) -> str:
    """Open a Stripe Checkout page for `plan` (with the promotion pre-applied, or else
    Checkout's own code field); returns its URL."""
    _sellable(plan)
    quantity = _seats(plan, seats)
    current = mirror.current_subscription(user)
    if current is not None and current.status in mirror.LIVE:
        raise BillingError("You already have a subscription: change its plan instead.")
    customer = ensure_customer(user=user)
    try:
        session = gateway.create_checkout_session(
            user=user,
            customer_id=customer.stripe_customer_id,
            plan=plan,
            quantity=quantity,
            success_url=success_url,
            cancel_url=cancel_url,
            idempotency_key=f"checkout-{user.pk}-{plan.slug}-{quantity}-{operation_id}"
            + _code_suffix(promotion),
            promotion_code_id=promotion.stripe_promotion_code_id if promotion else "",
        )
    except gateway.GatewayError as exc:
        raise _guard(exc) from exc
    return str(session["url"])


def open_portal(*, user: User, operation_id: str, return_url: str) -> str:
    """Open the Stripe Customer Portal for the account; returns its URL."""
    customer = Customer.objects.filter(user=user).first()
    if customer is None:
        raise BillingError("You have no billing account yet: subscribe to a plan first.")
    try:
        session = gateway.create_portal_session(
            customer_id=customer.stripe_customer_id,
            return_url=return_url,
            idempotency_key=f"portal-{user.pk}-{operation_id}",
        )
    except gateway.GatewayError as exc:
        raise _guard(exc) from exc
    return str(session["url"])


# --- Changing a subscription ------------------------------------------------------------


def _live_subscription(user: User) -> Subscription:
    subscription = mirror.current_subscription(user)
    if subscription is None or subscription.status not in mirror.LIVE:
        raise BillingError("You have no active subscription.")
    return subscription


@dataclass(frozen=True)
class Change:
    subscription: Subscription
    upgrade: bool


def _code_suffix(promotion: Promotion | None) -> str:
    # Another code is another request: Stripe refuses a key reused with other parameters.
    return f"-{promotion.code}" if promotion else ""


def change_plan(
    *, user: User, plan: Plan, seats: int, operation_id: str, promotion: Promotion | None = None
) -> Change:
    """Move the subscription to another paid plan or seat count, prorated by Stripe, with
    the promotion applied when there is one."""
    subscription = _live_subscription(user)
    if plan.is_free:
        raise BillingError("To move to the Free plan, cancel at the end of the period.")
    _sellable(plan)
    quantity = _seats(plan, seats)
    if plan.pk == subscription.plan_id and quantity == subscription.quantity and not promotion:
        raise BillingError("That is already your plan.")
    before = mrr.monthly_amount_cents(subscription.plan, subscription.quantity)
    stripe_id = subscription.stripe_subscription_id
    try:
        current = gateway.retrieve_subscription(stripe_id)
        gateway.change_subscription_plan(
            user=user,
            subscription_id=stripe_id,
            item_id=str(mirror.subscription_item(current)["id"]),
            price_id=plan.stripe_price_id,
            quantity=quantity,
            plan_name=plan.name,
            idempotency_key=f"change-{stripe_id}-{plan.slug}-{quantity}-{operation_id}"
            + _code_suffix(promotion),
            promotion_code_id=promotion.stripe_promotion_code_id if promotion else "",
        )
        updated = mirror.sync_subscription(stripe_id)
    except gateway.GatewayError as exc:
        raise _guard(exc) from exc
    after = mrr.monthly_amount_cents(plan, quantity)
    return Change(subscription=updated, upgrade=after > before)


def cancel_at_period_end(*, user: User, operation_id: str) -> Subscription:
    """Keep the plan until the period ends, then fall back to Free (nothing is refunded)."""
    subscription = _live_subscription(user)
    if subscription.cancel_at_period_end:
        raise BillingError("Your subscription already ends at the end of the period.")
    return _set_cancel(subscription, cancel=True, operation_id=operation_id)


def resume(*, user: User, operation_id: str) -> Subscription:
    """Undo a cancellation at period end: the subscription renews again."""
    subscription = _live_subscription(user)
    if not subscription.cancel_at_period_end:
        raise BillingError("Your subscription is not set to end.")
    return _set_cancel(subscription, cancel=False, operation_id=operation_id)


def _set_cancel(subscription: Subscription, *, cancel: bool, operation_id: str) -> Subscription:
    stripe_id = subscription.stripe_subscription_id
    action = "cancel" if cancel else "resume"
    try:
        gateway.set_cancel_at_period_end(
            subscription_id=stripe_id,
            cancel=cancel,
            idempotency_key=f"{action}-{stripe_id}-{operation_id}",
        )
        return mirror.sync_subscription(stripe_id)
    except gateway.GatewayError as exc:
        raise _guard(exc) from exc


# --- Catalogue ----------------------------------------------------------------------------


def stripe_ids_for(plan: Plan) -> tuple[str, str]:
    """Our own ids for the plan's Stripe product and price (the price id names the price,
    so a new price is a new Stripe plan and old subscriptions keep theirs)."""
    return (
        f"confer-{plan.slug}",
        f"confer-{plan.slug}-{plan.amount_cents}{plan.currency}-{plan.interval}",
    )


def sync_plans_to_stripe() -> list[Plan]:
    """Create or update a Stripe product and plan for every paid plan; store their ids."""
    synced = []
    for plan in Plan.objects.exclude(amount_cents=0).exclude(interval=""):
        product_id, price_id = stripe_ids_for(plan)
        gateway.ensure_product(product_id=product_id, name=plan.name, description=plan.description)
        gateway.ensure_plan(
            plan_id=price_id,
            product_id=product_id,
            amount_cents=plan.amount_cents,
            currency=plan.currency,
            interval=plan.interval,
            nickname=plan.name,
            slug=plan.slug,
        )
        Plan.objects.filter(pk=plan.pk).update(
            stripe_product_id=product_id, stripe_price_id=price_id
        )
        plan.stripe_product_id, plan.stripe_price_id = product_id, price_id
        synced.append(plan)
    return synced
