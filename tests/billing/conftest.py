"""localstripe for the billing tests: one server per test session, emptied per test.

`python -m localstripe --from-scratch` runs on a free loopback port; the gateway is
pointed at it through the settings (STRIPE_API_BASE), with the test boundary as its
HTTP client (see stripe_boundary.py). Tests that only use the mirror need none of it.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from billing import gateway, services
from billing.models import Plan

from .stripe_boundary import RecordingHttpClient, StripeSide, post_event

API_KEY = "sk_test_confer_localstripe"
WEBHOOK_SECRET = "whsec_confer_test_secret"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def localstripe_url() -> Iterator[str]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "localstripe", "--port", str(port), "--from-scratch"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                requests.get(f"{url}/v1/plans", auth=(API_KEY, ""), timeout=1).raise_for_status()
                break
            except requests.RequestException:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("localstripe did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@dataclass
class StripeEnv:
    url: str
    side: StripeSide
    http: RecordingHttpClient
    delivered: set[str]

    def deliver_new_events(self, client: Any) -> list[str]:
        """Post every event localstripe emitted since the last call to our webhook."""
        types = []
        for event in self.side.events():
            if event["id"] in self.delivered:
                continue
            self.delivered.add(event["id"])
            response = post_event(client, event, WEBHOOK_SECRET)
            assert response.status_code == 200, response.content
            types.append(event["type"])
        return types

    def skip_events_so_far(self) -> None:
        self.delivered.update(event["id"] for event in self.side.events())


@pytest.fixture
def stripe_settings(settings: Any) -> Any:
    """Payments configured, pointing nowhere: for tests that never reach Stripe."""
    settings.STRIPE_SECRET_KEY = API_KEY
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"
    return settings


@pytest.fixture
def localstripe(
    localstripe_url: str, settings: Any, monkeypatch: pytest.MonkeyPatch, db: None
) -> StripeEnv:
    """An empty localstripe with our paid plans synced to it, and the gateway using it."""
    settings.STRIPE_SECRET_KEY = API_KEY
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_API_BASE = localstripe_url
    http = RecordingHttpClient()
    monkeypatch.setattr(gateway, "http_client_override", http)
    side = StripeSide(localstripe_url, API_KEY, lacking=http.lacking)
    side.flush()
    services.sync_plans_to_stripe()
    env = StripeEnv(url=localstripe_url, side=side, http=http, delivered=set())
    env.skip_events_so_far()
    return env


def plan(slug: str) -> Plan:
    return Plan.objects.get(slug=slug)
