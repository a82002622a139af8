"""The cookie banner in Chromium: nothing beyond strictly necessary before consent, a
third-party script only once its category is allowed, and withdrawal that deletes."""

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from privacy import cookies
from privacy.cookies import CONSENT_COOKIE

ANALYTICS_COOKIE = "_e2e_analytics"
# The stand-in analytics script does what such scripts do: it sets its own cookie.
SCRIPT_BODY = f'document.cookie = "{ANALYTICS_COOKIE}=visitor-1; path=/; max-age=3600";'


class _ScriptHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = SCRIPT_BODY.encode()
        self.send_response(200 if self.path == "/analytics.js" else 404)
        self.send_header("Content-Type", "text/javascript")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def script_origin() -> Iterator[str]:
    """Another loopback port plays the third party's server."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ScriptHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def site(settings, script_origin, asgi_server):
    src = f"{script_origin}/analytics.js"
    settings.THIRD_PARTY_SCRIPTS = [
        {
            "provider": "E2E Analytics",
            "category": "analytics",
            "src": src,
            "cookies": [
                {"name": ANALYTICS_COOKIE, "purpose": "Counts visits.", "lifetime": "1 hour"}
            ],
        }
    ]
    # CSP's script-src is computed when settings load: allow the script's origin here too.
    policy = {**settings.CONTENT_SECURITY_POLICY}
    directives = {**policy["DIRECTIVES"]}
    directives["script-src"] = [*directives["script-src"], script_origin]
    policy["DIRECTIVES"] = directives
    settings.CONTENT_SECURITY_POLICY = policy
    asgi_server.script_src = src
    return asgi_server


def cookie_names(page) -> set[str]:
    raw = page.evaluate("document.cookie")
    return {part.split("=", 1)[0].strip() for part in raw.split(";") if part.strip()}


def wait_for_cookie(page, name: str) -> None:
    # Polled from here: wait_for_function would evaluate a string, which CSP forbids.
    for _ in range(100):
        if name in cookie_names(page):
            return
        page.wait_for_timeout(100)
    pytest.fail(f"{name} was never set")


def watch(page, site) -> dict[str, list[str]]:
    seen: dict[str, list[str]] = {"script": [], "csp": []}
    page.on("request", lambda r: r.url == site.script_src and seen["script"].append(r.url))
    page.on(
        "console",
        lambda msg: "Content Security Policy" in msg.text and seen["csp"].append(msg.text),
    )
    return seen


def test_reject_then_accept_from_settings_then_withdraw(site, new_page):
    page = new_page()
    seen = watch(page, site)

    page.goto(f"{site.url}/")
    banner = page.get_by_role("region", name="Cookies on")
    assert banner.is_visible()
    assert cookie_names(page) <= cookies.necessary_names()
    assert seen["script"] == []

    banner.get_by_role("button", name="Reject all").click()
    banner.wait_for(state="hidden")
    consent = [c for c in page.context.cookies() if c["name"] == CONSENT_COOKIE]
    assert consent and consent[0]["httpOnly"] and consent[0]["sameSite"] == "Lax"
    assert ANALYTICS_COOKIE not in cookie_names(page)

    page.reload()
    assert page.get_by_role("region", name="Cookies on").count() == 0
    assert seen["script"] == []

    page.get_by_role("link", name="Cookie settings").click()
    page.wait_for_url("**/privacy/cookies/settings/**")
    page.get_by_role("button", name="Accept all").click()
    page.wait_for_url("**/privacy/cookies/settings/**")
    wait_for_cookie(page, ANALYTICS_COOKIE)
    assert seen["script"] == [site.script_src]
    assert page.get_by_text("Allowed").count() == 3

    page.get_by_role("button", name="Reject all").click()
    page.wait_for_url("**/privacy/cookies/settings/**")
    page.get_by_text("withdrew consent").wait_for()
    assert ANALYTICS_COOKIE not in cookie_names(page)
    assert ANALYTICS_COOKIE not in {c["name"] for c in page.context.cookies()}
    page.goto(f"{site.url}/accounts/login/")
    assert seen["script"] == [site.script_src]  # not loaded again after withdrawal
    assert seen["csp"] == []


def test_accept_all_in_the_banner_loads_the_script_without_a_page_load(site, new_page):
    page = new_page()
    seen = watch(page, site)
    page.goto(f"{site.url}/accounts/login/")
    assert seen["script"] == []
    page.evaluate("window.stillTheSamePage = true")

    page.get_by_role("region", name="Cookies on").get_by_role("button", name="Accept all").click()

    wait_for_cookie(page, ANALYTICS_COOKIE)
    assert seen["script"] == [site.script_src]
    assert page.evaluate("window.stillTheSamePage === true")
    assert page.get_by_role("region", name="Cookies on").is_hidden()
    assert page.get_by_role("status").filter(has_text="Your cookie choice is saved").count() == 1
    assert seen["csp"] == []


def test_the_banner_is_reachable_and_usable_by_keyboard(site, new_page):
    page = new_page()
    page.goto(f"{site.url}/")
    reject = page.get_by_role("region", name="Cookies on").get_by_role("button", name="Reject all")

    for _ in range(60):
        page.keyboard.press("Tab")
        if reject.evaluate("node => node === document.activeElement"):
            break
    else:
        pytest.fail("Reject all was not reachable with Tab")
    page.keyboard.press("Enter")

    page.get_by_role("region", name="Cookies on").wait_for(state="hidden")
    assert CONSENT_COOKIE in {c["name"] for c in page.context.cookies()}
