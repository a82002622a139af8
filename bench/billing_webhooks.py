"""Stripe webhook intake on one process: verify the signature, store the event once,
enqueue its processing after the commit.

- intake: EVENTS distinct signed `invoice.paid` events (a full invoice object each,
  about 3 KB) POSTed through Django's whole stack (middleware, URL routing, the view),
  each verified, stored and its processing task published to Celery's in-memory broker
  on commit. Nothing consumes the queue: processing (which calls Stripe) is not timed.
- duplicate deliveries: the same events again; each is verified, found, acknowledged.
- verify only: the signature check and JSON parse alone, for scale.
"""

import json
import time

from . import Report, Result, django_test_database

EVENTS = 3_000
SECRET = "whsec_bench_secret"


def run() -> Report:
    with django_test_database("billing_webhooks") as vendor:
        from django.conf import settings

        from conferencing.celery import app as celery_app

        settings.STRIPE_WEBHOOK_SECRET = SECRET
        previous = (celery_app.conf.task_always_eager, celery_app.conf.broker_url)
        # Publish for real, to a broker only this process sees: no worker picks them up.
        celery_app.conf.task_always_eager = False
        celery_app.conf.broker_url = "memory://"
        try:
            deliveries = [_signed(_event(i)) for i in range(EVENTS)]
            results = [
                _bench_intake("intake (verify, store, enqueue)", deliveries, expect_new=True),
                _bench_intake("duplicate deliveries", deliveries, expect_new=False),
                _bench_verify(deliveries),
            ]
        finally:
            celery_app.conf.task_always_eager, celery_app.conf.broker_url = previous
        return Report(
            results=results,
            context={
                "database": vendor,
                "broker": "memory:// (publish only)",
                "events": EVENTS,
                "payload_bytes": len(deliveries[0][0]),
            },
        )


def _event(i: int) -> dict[str, object]:
    now = int(time.time())
    invoice = {
        "id": f"in_bench{i:08d}",
        "object": "invoice",
        "account_country": "US",
        "account_name": "Confer Inc.",
        "amount_due": 1500,
        "amount_paid": 1500,
        "amount_remaining": 0,
        "attempt_count": 1,
        "attempted": True,
        "billing_reason": "subscription_cycle",
        "collection_method": "charge_automatically",
        "created": now,
        "currency": "usd",
        "customer": f"cus_bench{i % 500:06d}",
        "customer_email": f"host{i % 500}@bench.example",
        "customer_name": f"Host {i % 500}",
        "hosted_invoice_url": f"https://invoice.stripe.com/i/acct_bench/test_{i:08d}",
        "invoice_pdf": f"https://pay.stripe.com/invoice/acct_bench/test_{i:08d}/pdf",
        "lines": {
            "object": "list",
            "data": [
                {
                    "id": f"il_bench{i:08d}",
                    "object": "line_item",
                    "amount": 1500,
                    "currency": "usd",
                    "description": "1 x Pro (monthly) (at $15.00 / month)",
                    "period": {"start": now, "end": now + 30 * 86400},
                    "plan": {
                        "id": "confer-pro-monthly-1500usd-month",
                        "object": "plan",
                        "amount": 1500,
                        "currency": "usd",
                        "interval": "month",
                        "interval_count": 1,
                        "metadata": {"confer_plan": "pro-monthly"},
                        "nickname": "Pro (monthly)",
                        "product": "confer-pro-monthly",
                    },
                    "proration": False,
                    "quantity": 1,
                    "subscription": f"sub_bench{i % 500:06d}",
                    "type": "subscription",
                }
            ],
            "has_more": False,
            "total_count": 1,
            "url": f"/v1/invoices/in_bench{i:08d}/lines",
        },
        "livemode": False,
        "metadata": {},
        "number": f"CONF-{i:06d}",
        "paid": True,
        "period_end": now,
        "period_start": now - 30 * 86400,
        "status": "paid",
        "status_transitions": {"finalized_at": now, "paid_at": now, "voided_at": None},
        "subscription": f"sub_bench{i % 500:06d}",
        "subtotal": 1500,
        "tax": None,
        "total": 1500,
    }
    return {
        "id": f"evt_bench{i:010d}",
        "object": "event",
        "api_version": "2024-06-20",
        "created": now,
        "data": {"object": invoice},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": "invoice.paid",
    }


def _signed(event: dict[str, object]) -> tuple[bytes, str]:
    import hashlib
    import hmac

    payload = json.dumps(event).encode()
    timestamp = int(time.time())
    digest = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256)
    return payload, f"t={timestamp},v1={digest.hexdigest()}"


def _bench_intake(name: str, deliveries: list[tuple[bytes, str]], *, expect_new: bool) -> Result:
    from django.test import Client
    from django.urls import reverse

    from billing.models import WebhookEvent

    client = Client()
    url = reverse("billing:stripe_webhook")
    # One delivery first, untimed, so that URL loading and first queries are not counted.
    warm_up = _signed({**_event(-1), "id": f"evt_warm_{expect_new}"})
    client.post(
        url, data=warm_up[0], content_type="application/json", HTTP_STRIPE_SIGNATURE=warm_up[1]
    )
    timings: list[int] = []
    duplicates = 0
    started = time.perf_counter()
    for payload, signature in deliveries:
        t0 = time.perf_counter_ns()
        response = client.post(
            url, data=payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature
        )
        timings.append(time.perf_counter_ns() - t0)
        if response.status_code != 200:
            raise RuntimeError(f"intake answered {response.status_code}: {response.content!r}")
        duplicates += response.json()["duplicate"]
    total = time.perf_counter() - started
    if duplicates != (0 if expect_new else len(deliveries)):
        raise RuntimeError(f"{duplicates} duplicates where none (or all) were expected")
    if WebhookEvent.objects.filter(stripe_event_id__startswith="evt_bench").count() != len(
        deliveries
    ):
        raise RuntimeError("not every event was stored exactly once")
    return Result.from_timings(name, timings, total)


def _bench_verify(deliveries: list[tuple[bytes, str]]) -> Result:
    from billing import gateway

    timings: list[int] = []
    started = time.perf_counter()
    for payload, signature in deliveries:
        t0 = time.perf_counter_ns()
        gateway.verify_webhook(payload=payload, signature=signature)
        timings.append(time.perf_counter_ns() - t0)
    total = time.perf_counter() - started
    return Result.from_timings("verify only", timings, total)
