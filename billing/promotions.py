"""Promotions: finance creates and deactivates them (at Stripe, then in our mirror), and
hosts' codes are checked here before Checkout or a plan change sends them to Stripe.

Stripe checks a code again when it is applied; checking first means a bad code gets a
clear form error on our page instead of a refusal from Stripe.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from privacy import audit

from . import gateway, gateway_promotions
from .models import Invoice, Plan, Promotion, Subscription
from .services import BillingError

PURPOSE = "Finance management of promotions"


def normalise_code(code: str) -> str:
    # Stripe matches codes without regard to case; we store and compare upper case.
    return code.strip().upper()


@dataclass(frozen=True)
class PromotionSpec:
    code: str
    duration: str
    percent_off: Decimal | None = None
    amount_off_cents: int | None = None
    duration_in_months: int | None = None
    plans: list[Plan] = field(default_factory=list)
    max_redemptions: int | None = None
    expires_at: datetime | None = None
    first_time_only: bool = False


def _describe(spec: PromotionSpec) -> str:
    off = f"{spec.percent_off}% off" if spec.percent_off is not None else "amount off"
    return f"{spec.code}: {off}, {spec.duration}"


def create(*, spec: PromotionSpec, actor: User) -> Promotion:
    """Create the coupon and the promotion code at Stripe, then mirror them.

    The coupon's id comes from the code (unique here), and both calls carry idempotency
    keys made of it: a retry after a failure half-way creates nothing twice.
    """
    code = normalise_code(spec.code)
    if Promotion.objects.filter(code=code).exists():
        raise BillingError(f"There is already a promotion with the code {code}.")
    missing = [plan.name for plan in spec.plans if not plan.stripe_product_id]
    if missing:
        raise BillingError(f"Not set up at Stripe yet: {', '.join(missing)}.")
    coupon_id = f"confer-promo-{code.lower()}"
    try:
        gateway_promotions.create_coupon(
            coupon_id=coupon_id,
            name=_describe(spec)[:40],
            percent_off=spec.percent_off,
            amount_off_cents=spec.amount_off_cents,
            currency="usd",
            duration=spec.duration,
            duration_in_months=spec.duration_in_months,
            product_ids=sorted({plan.stripe_product_id for plan in spec.plans}),
        )
        promotion_code = gateway_promotions.create_promotion_code(
            coupon_id=coupon_id,
            code=code,
            max_redemptions=spec.max_redemptions,
            expires_at=int(spec.expires_at.timestamp()) if spec.expires_at else None,
            first_time_only=spec.first_time_only,
        )
    except gateway.GatewayError as exc:
        raise BillingError(exc.message) from exc
    with transaction.atomic():
        promotion = Promotion.objects.create(
            code=code,
            percent_off=spec.percent_off,
            amount_off_cents=spec.amount_off_cents,
            duration=spec.duration,
            duration_in_months=spec.duration_in_months,
            max_redemptions=spec.max_redemptions,
            expires_at=spec.expires_at,
            first_time_only=spec.first_time_only,
            stripe_coupon_id=coupon_id,
            stripe_promotion_code_id=str(promotion_code["id"]),
        )
        promotion.plans.set(spec.plans)
        audit.record(
            actor=actor,
            action="finance.promotion_created",
            target_type="billing.promotion",
            target_id=str(promotion.pk),
            purpose=PURPOSE,
            details={"code": code},
        )
    return promotion


def deactivate(*, promotion: Promotion, actor: User) -> Promotion:
    """Deactivate the code at Stripe, then here. Discounts already applied run on."""
    if not promotion.active:
        raise BillingError(f"{promotion.code} is already deactivated.")
    try:
        gateway_promotions.deactivate_promotion_code(
            promotion_code_id=promotion.stripe_promotion_code_id
        )
    except gateway.GatewayError as exc:
        raise BillingError(exc.message) from exc
    with transaction.atomic():
        promotion.active = False
        promotion.deactivated_at = timezone.now()
        promotion.save(update_fields=["active", "deactivated_at"])
        audit.record(
            actor=actor,
            action="finance.promotion_deactivated",
            target_type="billing.promotion",
            target_id=str(promotion.pk),
            purpose=PURPOSE,
            details={"code": promotion.code},
        )
    return promotion


def sync_from_stripe(stripe_promotion_code_id: str) -> Promotion | None:
    """Re-fetch a code Stripe says changed and mirror whether it is active (None: not one
    of ours)."""
    promotion = Promotion.objects.filter(stripe_promotion_code_id=stripe_promotion_code_id).first()
    if promotion is None:
        return None
    active = bool(gateway_promotions.retrieve_promotion_code(stripe_promotion_code_id)["active"])
    # Conditional: a concurrent deactivation from the console keeps its own timestamp.
    Promotion.objects.filter(pk=promotion.pk, active=not active).update(
        active=active, deactivated_at=None if active else timezone.now()
    )
    promotion.refresh_from_db()
    return promotion


def _returning(user: User) -> bool:
    """Stripe's first-time rule: no earlier subscription and no paid invoice."""
    subscribed = (
        Subscription.objects.filter(customer__user=user)
        .exclude(status=Subscription.Status.INCOMPLETE_EXPIRED)
        .exists()
    )
    return subscribed or Invoice.objects.filter(customer__user=user, amount_paid__gt=0).exists()


def check_code(code: str, *, user: User, plan: Plan) -> Promotion:
    """The promotion a host's code names, if it can be used for `plan`; BillingError with
    the reason otherwise."""
    code = normalise_code(code)
    promotion = Promotion.objects.filter(code=code).first()
    if promotion is None:
        raise BillingError(f"There is no promotion code {code}.")
    if not promotion.active:
        raise BillingError(f"The promotion code {code} is no longer valid.")
    if promotion.expires_at is not None and promotion.expires_at <= timezone.now():
        raise BillingError(
            f"The promotion code {code} expired on {promotion.expires_at:%-d %B %Y}."
        )
    limit = promotion.max_redemptions
    if limit is not None and promotion.redemptions.count() >= limit:
        raise BillingError(f"The promotion code {code} has been used up.")
    plans = list(promotion.plans.all())
    if plans and plan not in plans:
        raise BillingError(f"The promotion code {code} does not apply to the {plan.name} plan.")
    if promotion.amount_off_cents is not None and promotion.currency != plan.currency:
        raise BillingError(f"The promotion code {code} does not apply to the {plan.name} plan.")
    if promotion.first_time_only and _returning(user):
        raise BillingError(f"The promotion code {code} is for first-time customers only.")
    return promotion
