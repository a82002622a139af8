"""The one module that talks to Stripe (with its promotions half, gateway_promotions.py,
which uses this module's client and errors).

Everything else in the project calls these functions and gets plain dicts back (Stripe's
JSON, as the pinned API version shapes it) or a `GatewayError`; nothing else imports
`stripe`. Every write carries an idempotency key the caller derives from its own
operation id, so a retried request never charges or creates twice. Every call that
sends personal data records a disclosure in the privacy ledger before it leaves.

Card data never passes here: cards are entered on Stripe-hosted Checkout and the
Customer Portal, and all we read back is a payment method's brand and last four digits.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import stripe
from django.conf import settings

from privacy.disclosures import Purpose, record_disclosure
from privacy.pi_categories import PersonalInfoCategory

if TYPE_CHECKING:
    from accounts.models import User

    from .models import Plan

StripeDict = dict[str, Any]

# Stripe's own advice: retry network failures, safe with idempotency keys.
MAX_NETWORK_RETRIES = 2
# Webhook signatures older than this are refused (Stripe's default tolerance).
WEBHOOK_TOLERANCE_SECONDS = 300

# The seam for what cannot run here: tests put a recording/replaying HTTP client in it
# (tests/billing/stripe_boundary.py) for Checkout and the Portal, which localstripe lacks.
http_client_override: Any = None

_clients: dict[tuple[object, ...], stripe.StripeClient] = {}


class GatewayError(Exception):
    """Stripe refused or could not be reached; `message` is safe to show to the user."""

    def __init__(self, message: str, *, code: str = "", http_status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.http_status = http_status


class NotFound(GatewayError):
    """Stripe has no such object (deleted, or never existed in this account)."""


class NotConfigured(GatewayError):
    """No Stripe key in the settings: payments are switched off."""


class InvalidWebhook(Exception):
    """A webhook whose signature, timestamp or body does not check out."""


def is_configured() -> bool:
    return bool(settings.STRIPE_SECRET_KEY)


def webhooks_configured() -> bool:
    return bool(settings.STRIPE_WEBHOOK_SECRET)


def _client() -> stripe.StripeClient:
    if not is_configured():
        raise NotConfigured("Payments are not configured on this server.")
    key = (
        settings.STRIPE_SECRET_KEY,
        settings.STRIPE_API_BASE,
        settings.STRIPE_API_VERSION,
        id(http_client_override),
    )
    client = _clients.get(key)
    if client is None:
        base = {"api": settings.STRIPE_API_BASE} if settings.STRIPE_API_BASE else None
        client = stripe.StripeClient(
            settings.STRIPE_SECRET_KEY,
            stripe_version=settings.STRIPE_API_VERSION,
            base_addresses=base,  # type: ignore[arg-type]
            max_network_retries=MAX_NETWORK_RETRIES,
            http_client=http_client_override,
        )
        _clients[key] = client
    return client


def _call(fn: Any, *args: Any, **kwargs: Any) -> StripeDict:
    """Run one Stripe call; Stripe's errors become ours, its objects plain dicts."""
    try:
        result = fn(*args, **kwargs)
    except stripe.InvalidRequestError as exc:
        if exc.http_status == 404 or exc.code == "resource_missing":
            raise NotFound(
                exc.user_message or "Not found at Stripe.", code=exc.code or "", http_status=404
            ) from exc
        raise _error(exc) from exc
    except stripe.StripeError as exc:
        raise _error(exc) from exc
    return result.to_dict()  # type: ignore[no-any-return]


def _error(exc: stripe.StripeError) -> GatewayError:
    if isinstance(exc, stripe.APIConnectionError):
        message = "Stripe could not be reached. Please try again in a minute."
    elif isinstance(exc, stripe.CardError):
        message = exc.user_message or "The card was declined."
    else:
        message = "Stripe refused the request. Please try again, or contact support."
    return GatewayError(message, code=exc.code or "", http_status=exc.http_status)


def _options(idempotency_key: str) -> dict[str, str]:
    return {"idempotency_key": idempotency_key[:255]}


def _iterate(fn: Any, params: dict[str, Any]) -> Iterator[StripeDict]:
    try:
        page = fn(params=params)
        for item in page.auto_paging_iter():
            yield item.to_dict()
    except stripe.StripeError as exc:
        raise _error(exc) from exc


# --- Webhooks -----------------------------------------------------------------


def verify_webhook(*, payload: bytes, signature: str) -> StripeDict:
    """Check Stripe's signature on the raw body, then parse it; InvalidWebhook otherwise.

    The signature's timestamp must be within the tolerance on both sides of now: Stripe
    only checks the past, and a signature dated ahead would stay replayable until then.
    """
    if not webhooks_configured():
        raise InvalidWebhook("Webhooks are not configured on this server.")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidWebhook("The body is not UTF-8 text.") from exc
    try:
        stripe.WebhookSignature.verify_header(
            text, signature, settings.STRIPE_WEBHOOK_SECRET, WEBHOOK_TOLERANCE_SECONDS
        )
    except stripe.SignatureVerificationError as exc:
        raise InvalidWebhook("The Stripe-Signature header does not match the body.") from exc
    if _signed_at(signature) > time.time() + WEBHOOK_TOLERANCE_SECONDS:
        raise InvalidWebhook("The Stripe-Signature header is dated in the future.")
    try:
        event = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise InvalidWebhook("The body is not JSON.") from exc
    if not isinstance(event, dict):
        raise InvalidWebhook("The body is not a Stripe event.")
    return event


def _signed_at(signature: str) -> int:
    # The first "t=" item, as Stripe's check reads it.
    for item in signature.split(","):
        key, _, value = item.partition("=")
        if key == "t" and value.isdigit():
            return int(value)
    raise InvalidWebhook("The Stripe-Signature header has no timestamp.")


# --- Catalogue ----------------------------------------------------------------


def ensure_product(*, product_id: str, name: str, description: str) -> StripeDict:
    """Create the product with our id, or bring its name and description up to date."""
    params: dict[str, Any] = {"name": name}
    if description:
        params["description"] = description
    client = _client()
    try:
        _call(client.v1.products.retrieve, product_id)
    except NotFound:
        return _call(
            client.v1.products.create,
            params={"id": product_id, **params},
            options=_options(f"product-{product_id}"),
        )
    return _call(client.v1.products.update, product_id, params=params)


def ensure_plan(
    *,
    plan_id: str,
    product_id: str,
    amount_cents: int,
    currency: str,
    interval: str,
    nickname: str,
    slug: str,
) -> StripeDict:
    """A Stripe Plan with our id. Plans are immutable in price, so the id names the price."""
    client = _client()
    try:
        return _call(client.v1.plans.retrieve, plan_id)
    except NotFound:
        return _call(
            client.v1.plans.create,
            params={
                "id": plan_id,
                "product": product_id,
                "amount": amount_cents,
                "currency": currency,
                "interval": interval,
                "nickname": nickname,
                "metadata": {"confer_plan": slug},
            },
            options=_options(f"plan-{plan_id}"),
        )


def retrieve_plan(plan_id: str) -> StripeDict:
    return _call(_client().v1.plans.retrieve, plan_id)


# --- Customers ----------------------------------------------------------------


def create_customer(*, user: User, idempotency_key: str) -> StripeDict:
    """A Stripe customer for an account: its email and name (disclosed, and recorded)."""
    record_disclosure(
        third_party="stripe",
        purpose=Purpose.SERVICE,
        description="Billing customer created at the payment processor (email and name).",
        categories=[PersonalInfoCategory.EMAIL, PersonalInfoCategory.NAME_AND_ADDRESS],
        user=user,
    )
    return _call(
        _client().v1.customers.create,
        params={
            "email": user.email,
            "name": user.full_name or user.email,
            "metadata": {"confer_user_id": str(user.pk)},
        },
        options=_options(idempotency_key),
    )


def retrieve_customer(customer_id: str) -> StripeDict:
    return _call(_client().v1.customers.retrieve, customer_id)


def delete_customer(*, customer_id: str, idempotency_key: str) -> StripeDict:
    """Delete the customer at Stripe (an erasure's direction to its service provider).

    Stripe never refuses this for an existing customer, so there is no anonymising
    fallback: it removes the customer's email, name, address and saved cards, and cancels
    any subscription still running. What it keeps are the invoices and payments it already
    processed, with the name and email printed on them: Stripe's own financial records,
    which no call of ours can change. A customer Stripe no longer has (deleted by an
    earlier attempt, or never there) is already what we ask for: success, not an error.
    Only the id is sent, so no disclosure is recorded here; the caller records the
    direction itself.
    """
    try:
        return _call(_client().v1.customers.delete, customer_id, options=_options(idempotency_key))
    except NotFound:
        return {"id": customer_id, "object": "customer", "deleted": True}


def list_customers() -> Iterator[StripeDict]:
    return _iterate(_client().v1.customers.list, {"limit": 100})


def retrieve_payment_method(payment_method_id: str) -> StripeDict:
    return _call(_client().v1.payment_methods.retrieve, payment_method_id)


# --- Checkout and the Customer Portal (Stripe-hosted pages) --------------------


def create_checkout_session(
    *,
    user: User,
    customer_id: str,
    plan: Plan,
    quantity: int,
    success_url: str,
    cancel_url: str,
    idempotency_key: str,
    promotion_code_id: str = "",
) -> StripeDict:
    """A hosted Checkout page in subscription mode for `plan`; its `url` is where to go.

    With a promotion code the host entered on our page, it is pre-applied; without one,
    Checkout offers its own code field (Stripe refuses both at once).
    """
    record_disclosure(
        third_party="stripe",
        purpose=Purpose.SERVICE,
        description=f"Checkout started for the {plan.name} plan.",
        categories=[PersonalInfoCategory.PRODUCT_PURCHASED],
        user=user,
    )
    metadata = {"confer_user_id": str(user.pk), "confer_plan": plan.slug}
    return _call(
        _client().v1.checkout.sessions.create,
        params={
            "mode": "subscription",
            "customer": customer_id,
            "client_reference_id": str(user.pk),
            # A legacy Plan id is accepted wherever a Price id is.
            "line_items": [{"price": plan.stripe_price_id, "quantity": quantity}],
            "success_url": success_url,
            "cancel_url": cancel_url,
            "metadata": metadata,
            "subscription_data": {"metadata": metadata},
            **(
                {"discounts": [{"promotion_code": promotion_code_id}]}
                if promotion_code_id
                else {"allow_promotion_codes": True}
            ),
        },
        options=_options(idempotency_key),
    )


def create_portal_session(*, customer_id: str, return_url: str, idempotency_key: str) -> StripeDict:
    """A Customer Portal page (cards, invoices, cancellation); its `url` is where to go."""
    return _call(
        _client().v1.billing_portal.sessions.create,
        params={"customer": customer_id, "return_url": return_url},
        options=_options(idempotency_key),
    )


# --- Subscriptions and invoices -------------------------------------------------


def retrieve_subscription(subscription_id: str) -> StripeDict:
    """The subscription, with its customer and the customer's default payment method."""
    return _call(
        _client().v1.subscriptions.retrieve,
        subscription_id,
        params={"expand": ["customer.invoice_settings.default_payment_method"]},
    )


def list_subscriptions() -> Iterator[StripeDict]:
    return _iterate(_client().v1.subscriptions.list, {"status": "all", "limit": 100})


def change_subscription_plan(
    *,
    user: User,
    subscription_id: str,
    item_id: str,
    price_id: str,
    quantity: int,
    plan_name: str,
    idempotency_key: str,
    promotion_code_id: str = "",
) -> StripeDict:
    """Move the subscription's item to another plan or seat count, with the promotion
    code the host entered, if any (it replaces the subscription's discount).

    Stripe prorates by default (`create_prorations`): the unused time of the old plan
    is credited and the new one charged on the next invoice.
    """
    record_disclosure(
        third_party="stripe",
        purpose=Purpose.SERVICE,
        description=f"Subscription changed to the {plan_name} plan ({quantity} seat(s)).",
        categories=[PersonalInfoCategory.PRODUCT_PURCHASED],
        user=user,
    )
    return _call(
        _client().v1.subscriptions.update,
        subscription_id,
        params={
            "items": [{"id": item_id, "plan": price_id, "quantity": quantity}],
            **({"discounts": [{"promotion_code": promotion_code_id}]} if promotion_code_id else {}),
        },
        options=_options(idempotency_key),
    )


def set_cancel_at_period_end(
    *, subscription_id: str, cancel: bool, idempotency_key: str
) -> StripeDict:
    return _call(
        _client().v1.subscriptions.update,
        subscription_id,
        params={"cancel_at_period_end": cancel},
        options=_options(idempotency_key),
    )


def cancel_subscription_now(*, subscription_id: str, idempotency_key: str) -> StripeDict:
    return _call(
        _client().v1.subscriptions.cancel, subscription_id, options=_options(idempotency_key)
    )


def retrieve_invoice(invoice_id: str) -> StripeDict:
    return _call(_client().v1.invoices.retrieve, invoice_id)
