"""The gateway's promotions: Stripe coupons and promotion codes (see gateway.py).

A promotion is a coupon (the discount, and which products it applies to) plus a
promotion code (what customers type, its redemption limit, expiry and first-time rule).
No personal data goes with these calls, so nothing is disclosed.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .gateway import StripeDict, _call, _client, _options


def create_coupon(
    *,
    coupon_id: str,
    name: str,
    percent_off: Decimal | None,
    amount_off_cents: int | None,
    currency: str,
    duration: str,
    duration_in_months: int | None,
    product_ids: list[str],
) -> StripeDict:
    """A coupon with our id: the discount, and the products it applies to (none: all)."""
    params: dict[str, Any] = {"id": coupon_id, "name": name, "duration": duration}
    if percent_off is not None:
        params["percent_off"] = str(percent_off)
    else:
        params.update(amount_off=amount_off_cents, currency=currency)
    if duration_in_months:
        params["duration_in_months"] = duration_in_months
    if product_ids:
        params["applies_to"] = {"products": product_ids}
    return _call(
        _client().v1.coupons.create, params=params, options=_options(f"coupon-{coupon_id}")
    )


def create_promotion_code(
    *,
    coupon_id: str,
    code: str,
    max_redemptions: int | None,
    expires_at: int | None,
    first_time_only: bool,
) -> StripeDict:
    """The code customers type, for the coupon, with its limits."""
    params: dict[str, Any] = {"coupon": coupon_id, "code": code}
    if max_redemptions:
        params["max_redemptions"] = max_redemptions
    if expires_at:
        params["expires_at"] = expires_at
    if first_time_only:
        params["restrictions"] = {"first_time_transaction": True}
    return _call(
        _client().v1.promotion_codes.create,
        params=params,
        options=_options(f"promotion-code-{coupon_id}"),
    )


def deactivate_promotion_code(*, promotion_code_id: str) -> StripeDict:
    """Customers can no longer redeem it; discounts already applied stay (Stripe's rule)."""
    return _call(
        _client().v1.promotion_codes.update,
        promotion_code_id,
        params={"active": False},
        options=_options(f"promotion-code-off-{promotion_code_id}"),
    )


def retrieve_promotion_code(promotion_code_id: str) -> StripeDict:
    return _call(_client().v1.promotion_codes.retrieve, promotion_code_id)
