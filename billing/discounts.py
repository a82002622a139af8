"""Stripe's discounts, as the mirror keeps them: on a subscription (what it carries now),
on an invoice (what it took off), and the redemption of our promotion they came from.

Read from the re-fetched Stripe objects, like the rest of the mirror. A discount names
its promotion code (entered on Checkout, pre-applied from our plans page or the plan
change form) and its coupon; either finds our promotion.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction

from .models import Promotion, Redemption, Subscription


def _id(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("id") or "")
    return str(value or "")


def promotion_for(discount: dict[str, Any]) -> Promotion | None:
    code_id = _id(discount.get("promotion_code"))
    if code_id:
        found = Promotion.objects.filter(stripe_promotion_code_id=code_id).first()
        if found is not None:
            return found
    coupon_id = _id(discount.get("coupon"))
    return Promotion.objects.filter(stripe_coupon_id=coupon_id).first() if coupon_id else None


def _percent(value: Any) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except InvalidOperation:
        return None


def subscription_fields(data: dict[str, Any]) -> dict[str, Any]:
    """The mirror's discount columns for a Stripe subscription (all blank without one)."""
    discount = data.get("discount")
    coupon = discount.get("coupon") if isinstance(discount, dict) else None
    if not isinstance(discount, dict) or not isinstance(coupon, dict):
        return {
            "promotion": None,
            "discount_percent_off": None,
            "discount_amount_off_cents": None,
            "discount_duration": "",
            "discount_end": None,
        }
    amount_off = coupon.get("amount_off")
    end = discount.get("end")
    return {
        "promotion": promotion_for(discount),
        "discount_percent_off": _percent(coupon.get("percent_off")),
        "discount_amount_off_cents": int(amount_off) if amount_off is not None else None,
        "discount_duration": str(coupon.get("duration") or "")[:12],
        "discount_end": datetime.fromtimestamp(int(end), tz=UTC) if end else None,
    }


def invoice_fields(data: dict[str, Any], subscription: Subscription | None) -> dict[str, Any]:
    """What Stripe took off the invoice, and the promotion it came from."""
    total = sum(int(row.get("amount") or 0) for row in data.get("total_discount_amounts") or [])
    discount = data.get("discount")
    promotion = promotion_for(discount) if isinstance(discount, dict) else None
    if promotion is None and total and subscription is not None:
        promotion = subscription.promotion
    return {"discount_cents": total, "promotion": promotion}


def record_redemption(subscription: Subscription, *, at: datetime) -> None:
    """Count the promotion once per subscription it was applied to, when first seen."""
    if subscription.promotion_id is None:
        return
    try:
        with transaction.atomic():
            Redemption.objects.get_or_create(
                promotion_id=subscription.promotion_id,
                subscription=subscription,
                defaults={"customer_id": subscription.customer_id, "at": at},
            )
    except IntegrityError:  # a concurrent sync recorded it first
        pass
