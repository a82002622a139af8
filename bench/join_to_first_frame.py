"""Join to first remote frame: Chromium opens the room page and shows someone already there.

Setup: the whole ASGI application (HTTP, websockets, the in-process media server) under
uvicorn on a loopback port, over a throwaway database. One participant is already in the
room: a Chromium page with the fake camera and microphone, publishing. Then, REPEATS
times (after WARMUP runs that are not counted), a newly admitted guest opens the room page
in a fresh browser context with ``?join=now`` (the pre-join screen skipped, as a click on
"Join now" would do) and we time, from the navigation's start (``performance.timeOrigin``)
until the page's peer connection reports the first decoded video frame (``getStats()``
inbound-rtp ``framesDecoded > 0``, polled every POLL_MS). The guest then leaves the room.

Table rows (the bench runner's columns): ``count`` = joins measured, p50/p99 ms of the
join-to-first-frame time; ``per second`` is meaningless here (joins are sequential). The
median and p90, and the median of each step (page loaded, websocket open, first offer
sent, first remote frame), are printed and stored in var/bench/join_to_first_frame.json.
The goal from issue 4: a median of at most 750 ms (a bare aiortc echo page: about 500 ms).
"""

from __future__ import annotations

import os
import statistics
from datetime import time as clock_time
from datetime import timedelta
from importlib import import_module
from typing import Any

from tests.threaded_server import serve_in_thread

from . import Report, Result, django_test_database, percentile

# What the page notes on its way, in milliseconds from the navigation's start.
STEPS = (
    "responseEnd",
    "loaded",
    "websocketOpen",
    "snapshot",
    "offerSent",
    "answer",
    "serverOffer",
    "connected",
    "firstPacket",
    "firstFrame",
)
REPEATS = 7
WARMUP = 1
POLL_MS = 10
FIRST_FRAME_TIMEOUT_S = 20.0
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
]

# Runs in the page before its own scripts: notes when the client opens its websocket and
# sends its first offer, and polls each peer connection for its first decoded frame.
PROBE = """
(() => {
  const marks = (window.__joinMarks = {});
  const NativeSocket = window.WebSocket;
  window.WebSocket = class extends NativeSocket {
    constructor(...args) {
      super(...args);
      this.addEventListener("open", () => { marks.websocketOpen ??= performance.now(); });
      this.addEventListener("message", (event) => {
        const data = String(event.data);
        if (data.includes('"snapshot"')) marks.snapshot ??= performance.now();
        if (data.includes('"answer"')) marks.answer ??= performance.now();
        if (data.includes('"offer"')) marks.serverOffer ??= performance.now();
      });
    }
    send(data) {
      if (typeof data === "string" && data.includes('"offer"')) {
        marks.offerSent ??= performance.now();
      }
      return super.send(data);
    }
  };
  const NativePC = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends NativePC {
    constructor(...args) {
      super(...args);
      const pc = this;
      pc.addEventListener("connectionstatechange", () => {
        if (pc.connectionState === "connected") marks.connected ??= performance.now();
      });
      const poll = async () => {
        if (marks.firstFrame || pc.connectionState === "closed") return;
        const stats = await pc.getStats();
        stats.forEach((report) => {
          if (report.type === "inbound-rtp" && report.kind === "video") {
            if (report.packetsReceived > 0) marks.firstPacket ??= performance.now();
            if (report.framesDecoded > 0) marks.firstFrame ??= performance.now();
          }
        });
        if (!marks.firstFrame) setTimeout(poll, POLL_MS);
      };
      poll();
    }
  };
})();
""".replace("POLL_MS", str(POLL_MS))


def run() -> Report:
    # Playwright's sync API keeps an event loop on this thread; the ORM calls made here
    # (creating guests between joins) are deliberate and never run inside it.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with django_test_database("join_to_first_frame") as vendor:
        from django.conf import settings

        from meetings.room.media_gateway import reset_gateway

        # The media server inside this process, whatever the environment says.
        settings.MEDIA_GATEWAY = "meetings.room.media_gateway.LocalMediaGateway"
        reset_gateway()
        meeting = _meeting()
        with serve_in_thread() as base_url:
            samples = _measure(base_url, meeting)
        totals = [s["firstFrame"] for s in samples]
        ordered_ns = sorted(int(ms * 1e6) for ms in totals)
        median_ms = statistics.median(totals)
        p90_ms = percentile(ordered_ns, 90) / 1e6
        steps = {
            step: round(statistics.median(s[step] for s in samples), 1)
            for step in STEPS
            if all(step in s for s in samples)
        }
        print(
            f"join to first remote frame over {len(totals)} joins: median {median_ms:.0f} ms, "
            f"p90 {p90_ms:.0f} ms (goal: median <= 750 ms); median steps (ms from navigation "
            f"start): {steps}",
            flush=True,
        )
        return Report(
            results=[
                Result.from_timings("join to first remote frame", ordered_ns, sum(totals) / 1000)
            ],
            context={
                "database": vendor,
                "chromium": CHROMIUM,
                "repeats": REPEATS,
                "warmup": WARMUP,
                "median_ms": round(median_ms, 1),
                "p90_ms": round(p90_ms, 1),
                "goal_median_ms": 750,
                "median_steps_ms": steps,
                "samples_ms": [{k: round(v, 1) for k, v in sample.items()} for sample in samples],
            },
        )


def _meeting() -> Any:
    from django.utils import timezone

    from accounts.models import User
    from meetings import services
    from meetings.schedule import Schedule

    host = User.objects.create_user(email="host@bench.example", password=None)
    return services.schedule_meeting(
        host=host,
        title="Join benchmark",
        schedule=Schedule(
            time_zone="UTC",
            starts_on=(timezone.now() + timedelta(days=1)).date(),
            start_time=clock_time(9, 0),
            duration_minutes=30,
        ),
    )


def _admitted_guest_cookie(meeting: Any, name: str) -> dict[str, str]:
    """A guest who passed the join form and was let in: their session cookie."""
    from django.conf import settings

    from meetings import lobby, selectors

    occurrence = selectors.joinable_occurrence(token=meeting.join_token)
    participant = lobby.request_entry(
        occurrence=occurrence, display_name=name, email=f"{name.lower()}@bench.example"
    )
    lobby.admit(session=participant)
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[f"meetings.participant.{meeting.join_token}"] = str(participant.public_id)
    store.save()
    return {"name": settings.SESSION_COOKIE_NAME, "value": store.session_key or ""}


def _measure(base_url: str, meeting: Any) -> list[dict[str, float]]:
    from playwright.sync_api import sync_playwright

    room = f"{base_url}/j/{meeting.join_token}/room/?join=now"
    samples: list[dict[str, float]] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            # Someone already in the room, publishing the fake camera.
            present = browser.new_context()
            present.add_cookies([{**_admitted_guest_cookie(meeting, "Present"), "url": base_url}])
            present_page = present.new_page()
            present_page.goto(room)
            present_page.wait_for_function(
                "() => document.querySelector('[data-room]').dataset.media === 'connected'",
                timeout=20_000,
            )
            for attempt in range(WARMUP + REPEATS):
                sample = _join_once(browser, base_url, room, meeting, f"Joiner{attempt}")
                if attempt >= WARMUP:
                    samples.append(sample)
            present.close()
        finally:
            browser.close()
    return samples


def _join_once(browser: Any, base_url: str, room: str, meeting: Any, name: str) -> dict[str, float]:
    context = browser.new_context()
    try:
        context.add_cookies([{**_admitted_guest_cookie(meeting, name), "url": base_url}])
        context.add_init_script(PROBE)
        page = context.new_page()
        page.goto(room)
        page.wait_for_function(
            "() => window.__joinMarks && window.__joinMarks.firstFrame",
            timeout=FIRST_FRAME_TIMEOUT_S * 1000,
            polling=50,
        )
        marks = page.evaluate(
            """() => ({
              ...window.__joinMarks,
              responseEnd: performance.getEntriesByType("navigation")[0].responseEnd,
              loaded: performance.getEntriesByType("navigation")[0].domContentLoadedEventEnd,
            })"""
        )
        page.get_by_role("button", name="Leave the meeting").click(timeout=5_000)
        page.get_by_role("heading", name="You left the meeting").wait_for(timeout=5_000)
        return {key: float(marks[key]) for key in STEPS if key in marks}
    finally:
        context.close()
