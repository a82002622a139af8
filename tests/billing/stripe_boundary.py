"""The test suite's two sides of Stripe.

`RecordingHttpClient` is the gateway's HTTP client in tests (the one seam,
`billing.gateway.http_client_override`): it records every request the gateway sends,
replays recorded responses for Checkout and the Customer Portal (which localstripe
lacks, see stripe_fixtures/), answers for the promotion APIs localstripe lacks
(`LackingApis`, stripe_promotions.py), and sends everything else to localstripe.

`StripeSide` does, against localstripe, what Stripe does on its own pages: a completed
Checkout (card attached, subscription created), a card swapped in the Portal. And the
event helpers deliver Stripe's events to our webhook, signed as Stripe signs them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import requests
from django.test import TestCase
from django.urls import reverse

from .stripe_promotions import LackingApis

FIXTURES = Path(__file__).parent / "stripe_fixtures"
RECORDED = {
    ("post", "/v1/checkout/sessions"): "checkout.Session.create.json",
    ("post", "/v1/billing_portal/sessions"): "billing_portal.Session.create.json",
}
# Fields of a recorded response that Stripe fills from the request.
ECHOED = ("customer", "client_reference_id", "success_url", "cancel_url", "return_url", "mode")


@dataclass(frozen=True)
class SentRequest:
    method: str
    path: str
    headers: dict[str, str]
    params: dict[str, str]  # form-encoded body (or query), flattened: "items[0][plan]"


class RecordingHttpClient:
    """Duck-types stripe-python's HTTPClient (`name`, `request_with_retries`)."""

    name = "confer-test-boundary"

    def __init__(self) -> None:
        self.sent: list[SentRequest] = []
        self.lacking = LackingApis()

    def request_with_retries(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        post_data: Any = None,
        max_network_retries: int | None = None,
        *,
        _usage: list[str] | None = None,
    ) -> tuple[str, int, Mapping[str, str]]:
        parts = urlsplit(url)
        body = post_data.decode() if isinstance(post_data, bytes) else (post_data or "")
        params = dict(parse_qsl(body or parts.query, keep_blank_values=True))
        self.sent.append(SentRequest(method.lower(), parts.path, dict(headers), params))
        fixture = RECORDED.get((method.lower(), parts.path))
        if fixture is not None:
            return self._replay(fixture, params), 200, {"request-id": "req_recorded"}
        base = f"{parts.scheme}://{parts.netloc}"

        def send(forwarded: dict[str, str]) -> tuple[str, int, Mapping[str, str]]:
            data = urlencode(forwarded) if method.lower() == "post" else post_data
            response = requests.request(method, url, headers=dict(headers), data=data, timeout=15)
            return response.text, response.status_code, response.headers

        answered = self.lacking.answer(
            method.lower(), parts.path, params, base=base, headers=headers, send=send
        )
        if answered is not None:
            return answered
        response = requests.request(method, url, headers=dict(headers), data=post_data, timeout=15)
        return response.text, response.status_code, response.headers

    def _replay(self, fixture: str, params: dict[str, str]) -> str:
        recorded = json.loads((FIXTURES / fixture).read_text())
        for key in ECHOED:
            if key in params:
                recorded[key] = params[key]
        metadata = {k[9:-1]: v for k, v in params.items() if k.startswith("metadata[")}
        if metadata:
            recorded["metadata"] = metadata
        return json.dumps(recorded)

    def posts(self, path_prefix: str = "/v1/") -> list[SentRequest]:
        return [r for r in self.sent if r.method == "post" and r.path.startswith(path_prefix)]


class StripeSide:
    """Stripe's own doings, performed on localstripe with plain HTTP."""

    def __init__(self, base: str, api_key: str, lacking: LackingApis | None = None) -> None:
        self.base = base
        self.auth = (api_key, "")
        self.lacking = lacking or LackingApis()

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        response = requests.get(self.base + path, params=params, auth=self.auth, timeout=15)
        response.raise_for_status()
        return response.json()  # type: ignore[no-any-return]

    def post(self, path: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
        response = requests.post(self.base + path, data=data or {}, auth=self.auth, timeout=15)
        response.raise_for_status()
        return response.json()  # type: ignore[no-any-return]

    def use_card(self, customer_id: str, payment_method: str) -> dict[str, Any]:
        """What entering a card on Checkout or in the Portal does."""
        method = self.post(
            f"/v1/payment_methods/{payment_method}/attach", {"customer": customer_id}
        )
        self.post(
            f"/v1/customers/{customer_id}",
            {"invoice_settings[default_payment_method]": method["id"]},
        )
        return method

    def complete_checkout(
        self,
        customer_id: str,
        price_id: str,
        *,
        quantity: int = 1,
        payment_method: str = "pm_card_visa",
        metadata: Mapping[str, str] | None = None,
        promotion_code: str = "",
    ) -> dict[str, Any]:
        """A Checkout in subscription mode, paid: card saved, subscription created, and
        the promotion code (pre-applied or typed on Checkout) on it and its first invoice."""
        self.use_card(customer_id, payment_method)
        data = {"customer": customer_id, "items[0][plan]": price_id, "items[0][quantity]": quantity}
        for key, value in (metadata or {}).items():
            data[f"metadata[{key}]"] = value
        subscription = self.post("/v1/subscriptions", data)
        if promotion_code:
            self.lacking.apply(
                subscription, promotion_code, invoice_id=str(subscription["latest_invoice"])
            )
        return subscription

    def events(self) -> list[dict[str, Any]]:
        """Every event localstripe holds, oldest first."""
        found: list[dict[str, Any]] = []
        params: dict[str, Any] = {"limit": 100}
        while True:
            page = self.get("/v1/events", **params)
            found.extend(page["data"])
            if not page.get("has_more") or not page["data"]:
                return found
            params["starting_after"] = page["data"][-1]["id"]

    def flush(self) -> None:
        requests.delete(self.base + "/_config/data", timeout=15).raise_for_status()


# --- Events ------------------------------------------------------------------------


def signature_header(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """Stripe's scheme: HMAC-SHA256 of "<timestamp>.<body>" with the endpoint's secret."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def post_event(client: Any, event: Mapping[str, Any], secret: str, *, commit: bool = True) -> Any:
    """Deliver one event to our webhook as Stripe does (a fresh signature per delivery).

    The test's transaction never commits, so `commit` runs the on-commit callbacks (the
    enqueued processing, eager here) when the request is done, as a commit would.
    """
    payload = json.dumps(event).encode()
    with TestCase.captureOnCommitCallbacks(execute=commit):
        return client.post(
            reverse("billing:stripe_webhook"),
            data=payload,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=signature_header(payload, secret),
        )


def make_event(event_type: str, obj: Mapping[str, Any]) -> dict[str, Any]:
    """An event envelope around a real object, for events localstripe does not emit."""
    return {
        "id": f"evt_{secrets.token_hex(12)}",
        "object": "event",
        "api_version": "2024-06-20",
        "created": int(time.time()),
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
        "data": {"object": dict(obj)},
    }


def checkout_completed(*, user_id: int, customer_id: str, subscription_id: str) -> dict[str, Any]:
    """checkout.session.completed for a paid subscription Checkout (recorded shape)."""
    session = json.loads((FIXTURES / "checkout.Session.create.json").read_text())
    session.update(
        status="complete",
        payment_status="paid",
        customer=customer_id,
        subscription=subscription_id,
        client_reference_id=str(user_id),
        url=None,
    )
    return make_event("checkout.session.completed", session)
