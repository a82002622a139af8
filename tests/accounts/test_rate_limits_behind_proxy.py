"""Behind a reverse proxy, sign-in limits count each client, not the proxy.

A real hop: uvicorn serves the app in a thread, a small reverse proxy on 127.0.0.1 adds
X-Forwarded-For as nginx's ``$proxy_add_x_forwarded_for`` does, and two clients reach the
proxy from different loopback addresses (127.0.0.2, 127.0.0.3). One setting,
FORWARDED_ALLOW_IPS (``settings.TRUSTED_PROXIES``), tells uvicorn and the app which hop
is the proxy.
"""

import contextlib
import http.client
import http.server
import re
import threading
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import requests
import yaml
from requests.adapters import HTTPAdapter

from tests.factories import PASSWORD, UserFactory
from tests.threaded_server import serve_in_thread

ATTACKER = "127.0.0.2"
SOMEONE_ELSE = "127.0.0.3"
PROXY = "127.0.0.1"
LOGIN_FAILURES_PER_ADDRESS = 10  # ACCOUNT_RATE_LIMITS["login_failed"]: 10/m/ip

pytestmark = pytest.mark.timeout(120)


@contextlib.contextmanager
def reverse_proxy(upstream: str) -> Iterator[str]:
    """An HTTP/1.1 reverse proxy on loopback that appends its peer to X-Forwarded-For."""
    target = urlsplit(upstream)

    class Forward(http.server.BaseHTTPRequestHandler):
        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {
                name: value
                for name, value in self.headers.items()
                if name.lower() not in {"connection", "keep-alive", "x-forwarded-for"}
            }
            prior = self.headers.get("X-Forwarded-For")
            peer = self.client_address[0]
            headers["X-Forwarded-For"] = f"{prior}, {peer}" if prior else peer
            headers["X-Forwarded-Proto"] = "http"
            connection = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
            try:
                connection.request(self.command, self.path, body=body, headers=headers)
                response = connection.getresponse()
                payload = response.read()
                self.send_response(response.status, response.reason)
                for name, value in response.getheaders():
                    if name.lower() not in {"connection", "transfer-encoding", "content-length"}:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            finally:
                connection.close()

        do_GET = do_POST = _forward

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer((PROXY, 0), Forward)
    thread = threading.Thread(target=server.serve_forever, name="reverse-proxy", daemon=True)
    thread.start()
    try:
        yield f"http://{PROXY}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


class _FromAddress(HTTPAdapter):
    def __init__(self, source: str) -> None:
        self.source = source
        super().__init__()

    def init_poolmanager(self, *args: object, **kwargs: object) -> None:
        kwargs["source_address"] = (self.source, 0)
        super().init_poolmanager(*args, **kwargs)  # type: ignore[arg-type]


def browser_at(address: str) -> requests.Session:
    session = requests.Session()
    session.mount("http://", _FromAddress(address))
    return session


def sign_in(browser: requests.Session, base: str, email: str, password: str) -> str:
    """Returns "signed in", "refused" (allauth's limit: a form error) or "wrong password"."""
    page = browser.get(f"{base}/accounts/login/", timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert page.status_code == 200 and token, page.status_code
    response = browser.post(
        f"{base}/accounts/login/",
        data={"csrfmiddlewaretoken": token.group(1), "login": email, "password": password},
        allow_redirects=False,
        timeout=30,
    )
    if response.status_code == 302:
        return "signed in"
    if "Too many failed login attempts" in response.text:
        return "refused"
    assert response.status_code == 200, response.status_code
    return "wrong password"


@pytest.fixture
def account(transactional_db):
    return UserFactory()


def attack_then_sign_in(base: str, account) -> tuple[list[str], str, str]:
    """The attacker fails on many addresses until refused; then both try once more."""
    attacker = browser_at(ATTACKER)
    failures = [
        sign_in(attacker, base, f"guess{n}@example.com", "wrong-password")
        for n in range(LOGIN_FAILURES_PER_ADDRESS)
    ]
    attacker_again = sign_in(attacker, base, "guess-last@example.com", "wrong-password")
    someone_else = sign_in(browser_at(SOMEONE_ELSE), base, account.email, PASSWORD)
    return failures, attacker_again, someone_else


@pytest.mark.parametrize(
    "uvicorn_trusts",
    [PROXY, ""],
    ids=["uvicorn-rewrites-the-client", "the-app-reads-x-forwarded-for-alone"],
)
def test_two_clients_behind_the_proxy_are_limited_separately(settings, account, uvicorn_trusts):
    settings.TRUSTED_PROXIES = [PROXY]

    with serve_in_thread(forwarded_allow_ips=uvicorn_trusts) as app, reverse_proxy(app) as base:
        failures, attacker_again, someone_else = attack_then_sign_in(base, account)

    assert set(failures) == {"wrong password"}
    assert attacker_again == "refused"
    assert someone_else == "signed in"


def test_without_the_setting_the_proxy_is_everyone(settings, account):
    settings.TRUSTED_PROXIES = []

    with serve_in_thread(forwarded_allow_ips="") as app, reverse_proxy(app) as base:
        _, attacker_again, someone_else = attack_then_sign_in(base, account)

    # What issue 14 found: every client shares the proxy's address, and its limit.
    assert attacker_again == "refused"
    assert someone_else == "refused"


def test_the_compose_web_server_reads_the_same_setting():
    from tests.test_compose import ROOT, environment_names, uvicorn_params

    web = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["web"]

    # uvicorn reads FORWARDED_ALLOW_IPS from the environment the settings read it from.
    assert uvicorn_params(web)["proxy_headers"] is True
    assert uvicorn_params(web)["forwarded_allow_ips"] is None
    assert "FORWARDED_ALLOW_IPS" in environment_names(web)


def ask_to_join(browser: requests.Session, base: str, token: str, passcode: str) -> int:
    url = f"{base}/j/{token}/"
    page = browser.get(url, timeout=30)
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert page.status_code == 200 and csrf, page.status_code
    fields = {"display_name": "Guest", "email": "guest@example.com", "passcode": passcode}
    response = browser.post(
        url,
        data={"csrfmiddlewaretoken": csrf.group(1)} | fields,
        allow_redirects=False,
        timeout=30,
    )
    return response.status_code


def test_our_passcode_limit_behind_the_proxy_counts_each_client(settings, account):
    from tests.meetings.factories import MeetingFactory

    settings.TRUSTED_PROXIES = [PROXY]
    meeting = MeetingFactory(host=account)
    token, passcode = meeting.join_token, meeting.passcode
    wrong = ("1" if passcode[0] != "1" else "2") + passcode[1:]

    with serve_in_thread(forwarded_allow_ips=PROXY) as app, reverse_proxy(app) as base:
        attacker = browser_at(ATTACKER)
        guesses = [ask_to_join(attacker, base, token, wrong) for _ in range(5)]
        attacker_again = ask_to_join(attacker, base, token, passcode)
        someone_else = ask_to_join(browser_at(SOMEONE_ELSE), base, token, passcode)

    assert set(guesses) == {400}
    assert attacker_again == 429
    assert someone_else == 302  # on to the lobby
