"""The websocket origin check compares scheme, host and port, and the join ticket in a
websocket URL never reaches the server's log."""

from __future__ import annotations

import logging

import pytest
from channels.testing import WebsocketCommunicator

from conferencing.asgi import application
from conferencing.log_redaction import REDACTED, RedactTickets, redact
from conferencing.websocket_origin import origin_allowed, parse_origin


def scope(host: str | None = "meet.example.com", scheme: str = "wss") -> dict:
    headers = [(b"host", host.encode())] if host is not None else []
    return {"type": "websocket", "scheme": scheme, "headers": headers}


@pytest.fixture
def site(settings):
    settings.SITE_URL = "https://meet.example.com"
    settings.ALLOWED_HOSTS = ["meet.example.com", ".tenant.example"]
    settings.CSRF_TRUSTED_ORIGINS = ["https://*.partner.example", "https://app.example:8443"]
    return settings


@pytest.mark.parametrize(
    "origin",
    [
        "https://meet.example.com",
        "https://meet.example.com:443",
        "HTTPS://MEET.EXAMPLE.COM",
        "https://app.example:8443",
        "https://room.partner.example",
    ],
)
def test_the_sites_own_origins_are_allowed(site, origin):
    assert origin_allowed(parse_origin(origin), scope(host=None))


@pytest.mark.parametrize(
    "origin",
    [
        "http://meet.example.com",  # the scheme differs
        "https://meet.example.com:8443",  # the port differs
        "https://evil.example",
        "https://meet.example.com.evil.example",
        "https://app.example",  # trusted on 8443 only
        "http://room.partner.example",
        "https://partner.example.evil",
    ],
)
def test_other_schemes_ports_and_hosts_are_refused(site, origin):
    assert not origin_allowed(parse_origin(origin), scope(host=None))


@pytest.mark.parametrize("value", ["null", "", "file://", "https://", "https://x:99999", "ws://a"])
def test_what_is_not_an_http_origin_is_none(value):
    assert parse_origin(value) is None


def test_the_connections_own_origin_is_allowed_when_its_host_is(site):
    # A page on another allowed host, served over the same connection scheme and port.
    connection = scope(host="acme.tenant.example", scheme="wss")

    assert origin_allowed(parse_origin("https://acme.tenant.example"), connection)
    assert not origin_allowed(parse_origin("http://acme.tenant.example"), connection)
    assert not origin_allowed(parse_origin("https://acme.tenant.example:444"), connection)


def test_a_host_that_is_not_allowed_gives_no_origin(site):
    connection = scope(host="evil.example", scheme="wss")

    assert not origin_allowed(parse_origin("https://evil.example"), connection)


def test_a_plain_ws_connection_matches_an_http_page_on_its_port(site):
    connection = scope(host="meet.example.com:8000", scheme="ws")

    assert origin_allowed(parse_origin("http://meet.example.com:8000"), connection)
    assert not origin_allowed(parse_origin("https://meet.example.com:8000"), connection)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "origin", [b"https://testserver", b"http://testserver:8080", b"http://evil.example", None]
)
async def test_the_application_refuses_a_handshake_from_another_origin(origin):
    headers = [(b"host", b"testserver")] + ([(b"origin", origin)] if origin else [])
    communicator = WebsocketCommunicator(application, "/ws/meetings/abc/", headers=headers)

    connected, _ = await communicator.connect()

    assert not connected
    await communicator.disconnect()


# --- Join tickets in the log ---------------------------------------------------------


def test_a_ticket_in_a_logged_path_is_redacted():
    assert redact("/ws/meetings/abc/?ticket=eyJzZWNyZXQ&x=1") == (
        f"/ws/meetings/abc/?ticket={REDACTED}&x=1"
    )
    assert redact("/ws/m/?a=1&Ticket=abc%3D") == f"/ws/m/?a=1&Ticket={REDACTED}"
    assert redact("/ws/m/?tickets=keep") == "/ws/m/?tickets=keep"


@pytest.mark.parametrize(
    ("logger_name", "message", "args"),
    [
        # What uvicorn writes for a websocket handshake and for an HTTP request.
        (
            "uvicorn.error",
            '%s - "WebSocket %s" [accepted]',
            ("1.2.3.4:5", "/ws/m/x/?ticket=SECRET"),
        ),
        (
            "uvicorn.access",
            '%s - "%s %s HTTP/%s" %d',
            ("1.2.3.4:5", "GET", "/ws/m/x/?ticket=SECRET", "1.1", 403),
        ),
    ],
)
def test_uvicorns_loggers_never_write_a_ticket(logger_name, message, args, caplog):
    logger = logging.getLogger(logger_name)
    assert any(isinstance(f, RedactTickets) for f in logger.filters)  # installed by asgi.py
    propagate, logger.propagate = logger.propagate, True
    try:
        with caplog.at_level(logging.INFO, logger=logger_name):
            logger.info(message, *args)
    finally:
        logger.propagate = propagate

    assert "SECRET" not in caplog.text
    assert f"?ticket={REDACTED}" in caplog.text
