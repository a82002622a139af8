"""Real-browser tests: Debian's Chromium driven by Playwright, against a live server.

They run in their own pytest process (see the Makefile); every wait has a timeout.
"""

import os
import shutil

import pytest
from playwright.sync_api import sync_playwright

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

# Playwright's sync API keeps an event loop on the test thread; Django's ORM refuses
# to run beside one unless told that this is deliberate.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM):
        pytest.fail(f"Chromium is missing at {CHROMIUM}: run scripts/install-chromium.sh")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser):
    contexts = []

    def make(**options):
        context = browser.new_context(**options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def asgi_server(transactional_db):
    """The whole ASGI application (HTTP and websockets) under uvicorn, on a free port.

    pytest-django's live_server speaks WSGI only, so the meeting room's websocket needs
    this. It runs in a thread with its own event loop; ``transactional_db`` commits the
    test's data, so the server's threads see it.
    """
    from types import SimpleNamespace

    from tests.threaded_server import serve_in_thread

    try:
        with serve_in_thread() as url:
            yield SimpleNamespace(url=url, port=int(url.rsplit(":", 1)[1]))
    except RuntimeError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, tmp_path_factory):
    """On SQLite, a test database in a file rather than in shared-cache memory, with
    transactions that take the write lock when they begin.

    The ASGI server's threads and the test's own queries use separate connections; an
    in-memory shared-cache database fails them at once with "database table is locked"
    when they overlap, where a file waits for the lock. And two deferred transactions
    that both read, then write (the lobby's moves do), deadlock on SQLite: one fails at
    once with "database is locked". BEGIN IMMEDIATE makes the second one wait instead.
    """
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        path = tmp_path_factory.mktemp("e2e-database") / "test.sqlite3"
        database.setdefault("TEST", {})["NAME"] = str(path)
        database.setdefault("OPTIONS", {}).update({"transaction_mode": "IMMEDIATE", "timeout": 20})
