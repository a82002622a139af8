"""What the test boundary answers for Stripe's promotions, which localstripe lacks.

localstripe keeps coupons (id, discount, duration) but refuses a coupon's `name` and
`applies_to`, has no promotion codes, and never puts a discount on a subscription or an
invoice. `LackingApis` fills exactly that gap: the coupon goes on to localstripe without
the two fields (they are added back to the answer), promotion codes are kept here in
Stripe's shape (stripe_fixtures/promotion_code.create.json), and a subscription or
invoice localstripe returns gets the `discount` (and, for an invoice, the discount's
amount) that Stripe would show. Everything else is localstripe's own answer.
"""

from __future__ import annotations

import copy
import json
import re
import secrets
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import requests

FIXTURE = Path(__file__).parent / "stripe_fixtures" / "promotion_code.create.json"
Answer = tuple[str, int, Mapping[str, str]]
Send = Callable[[dict[str, str]], Answer]

SUBSCRIPTION = re.compile(r"^/v1/subscriptions(?:/(sub_\w+))?$")
CODE = re.compile(r"^/v1/promotion_codes(?:/(promo_\w+))?$")
INVOICE = re.compile(r"^/v1/invoices/(in_\w+)$")
HEADERS = {"request-id": "req_lacking"}


def _add_months(moment: int, months: int) -> int:
    start = datetime.fromtimestamp(moment, tz=UTC)
    month = start.month - 1 + months
    year, month = start.year + month // 12, month % 12 + 1
    return int(start.replace(year=year, month=month, day=min(start.day, 28)).timestamp())


def _error(status: int, message: str) -> Answer:
    body = {"error": {"type": "invalid_request_error", "message": message}}
    if status == 404:
        body["error"]["code"] = "resource_missing"
    return json.dumps(body), status, HEADERS


class LackingApis:
    def __init__(self) -> None:
        self.coupon_extras: dict[str, dict[str, Any]] = {}
        self.codes: dict[str, dict[str, Any]] = {}
        self.discounts: dict[str, dict[str, Any]] = {}  # by subscription id
        self.invoice_discounts: dict[str, dict[str, Any]] = {}  # by invoice id
        self.base = ""
        self.authorization: dict[str, str] = {}

    # --- Dispatch --------------------------------------------------------------------

    def answer(
        self,
        method: str,
        path: str,
        params: dict[str, str],
        *,
        base: str,
        headers: Mapping[str, str],
        send: Send,
    ) -> Answer | None:
        self.base = base
        self.authorization = {"Authorization": headers.get("Authorization", "")}
        if path == "/v1/coupons" and method == "post":
            return self._create_coupon(params, send)
        if (match := CODE.match(path)) is not None:
            return self._promotion_code(method, match.group(1), params)
        if (match := SUBSCRIPTION.match(path)) is not None:
            return self._subscription(method, match.group(1), params, send)
        if (match := INVOICE.match(path)) is not None and method == "get":
            return self._invoice(match.group(1), send)
        return None

    # --- Coupons and promotion codes ---------------------------------------------------

    def _create_coupon(self, params: dict[str, str], send: Send) -> Answer:
        extras: dict[str, Any] = {"name": params.get("name")}
        products = [v for k, v in params.items() if k.startswith("applies_to[products]")]
        extras["applies_to"] = {"products": products} if products else None
        forwarded = {
            k: v for k, v in params.items() if k != "name" and not k.startswith("applies_to")
        }
        text, status, headers = send(forwarded)
        if status != 200:
            return text, status, headers
        coupon = json.loads(text)
        self.coupon_extras[coupon["id"]] = extras
        coupon.update(extras)
        return json.dumps(coupon), status, headers

    def coupon(self, coupon_id: str) -> dict[str, Any] | None:
        response = requests.get(
            f"{self.base}/v1/coupons/{coupon_id}", headers=self.authorization, timeout=15
        )
        if response.status_code != 200:
            return None
        return {**response.json(), **self.coupon_extras.get(coupon_id, {})}

    def _promotion_code(self, method: str, code_id: str | None, params: dict[str, str]) -> Answer:
        if code_id is None and method == "post":
            coupon = self.coupon(params.get("coupon", ""))
            if coupon is None:
                return _error(404, "No such coupon")
            code = json.loads(FIXTURE.read_text())
            code.update(
                id=f"promo_{secrets.token_hex(12)}",
                code=params["code"],
                coupon=coupon,
                created=int(time.time()),
                max_redemptions=int(params["max_redemptions"])
                if "max_redemptions" in params
                else None,
                expires_at=int(params["expires_at"]) if "expires_at" in params else None,
            )
            code["restrictions"]["first_time_transaction"] = (
                params.get("restrictions[first_time_transaction]") == "true"
            )
            self.codes[code["id"]] = code
            return json.dumps(code), 200, HEADERS
        if code_id not in self.codes:
            return _error(404, "No such promotion code")
        if method == "post" and "active" in params:
            self.codes[code_id]["active"] = params["active"] == "true"
        return json.dumps(self.codes[code_id]), 200, HEADERS

    # --- Discounts on subscriptions and invoices -------------------------------------

    def apply(self, subscription: dict[str, Any], code_id: str, *, invoice_id: str = "") -> None:
        """Put the code's discount on the subscription (and this invoice), as Stripe
        does when Checkout or an update redeems it."""
        code = self.codes[code_id]
        coupon = copy.deepcopy(code["coupon"])
        start = int(time.time())
        months = coupon.get("duration_in_months")
        self.discounts[subscription["id"]] = {
            "id": f"di_{secrets.token_hex(12)}",
            "object": "discount",
            "coupon": coupon,
            "customer": subscription["customer"],
            "promotion_code": code_id,
            "subscription": subscription["id"],
            "start": start,
            "end": _add_months(start, months) if coupon["duration"] == "repeating" else None,
            "invoice": None,
            "invoice_item": None,
            "checkout_session": None,
        }
        code["times_redeemed"] += 1
        if invoice_id:
            self.invoice_discounts[invoice_id] = self.discounts[subscription["id"]]

    def end_discount(self, subscription_id: str) -> None:
        """What Stripe does when a repeating discount has run its months."""
        del self.discounts[subscription_id]

    def _subscription(
        self, method: str, subscription_id: str | None, params: dict[str, str], send: Send
    ) -> Answer:
        forwarded = dict(params)
        code_id = forwarded.pop("discounts[0][promotion_code]", "")
        if code_id and (code_id not in self.codes or not self.codes[code_id]["active"]):
            return _error(400, "This promotion code cannot be redeemed.")
        text, status, headers = send(forwarded)
        if status != 200:
            return text, status, headers
        subscription = json.loads(text)
        if code_id:
            self.apply(subscription, code_id)
        if "id" in subscription:
            subscription["discount"] = self.discounts.get(subscription["id"])
        return json.dumps(subscription), status, headers

    def _invoice(self, invoice_id: str, send: Send) -> Answer:
        text, status, headers = send({})
        discount = self.invoice_discounts.get(invoice_id)
        if status != 200 or discount is None:
            return text, status, headers
        invoice = json.loads(text)
        subtotal = int(invoice["subtotal"])
        coupon = discount["coupon"]
        if coupon.get("percent_off") is not None:
            off = int(
                (Decimal(subtotal) * Decimal(str(coupon["percent_off"])) / 100).quantize(
                    Decimal(1), rounding=ROUND_HALF_UP
                )
            )
        else:
            off = min(int(coupon["amount_off"]), subtotal)
        invoice.update(
            discount=discount,
            total_discount_amounts=[{"amount": off, "discount": discount["id"]}],
            total=subtotal - off,
            amount_due=subtotal - off,
            amount_paid=subtotal - off if invoice.get("status") == "paid" else 0,
        )
        return json.dumps(invoice), status, headers
