"""janus_health() and manage.py janus_status against a real Janus, up and down."""

import socket
import time

import pytest
from django.core.management import CommandError, call_command

from meetings.janus.admin import JanusAdmin
from meetings.janus.health import janus_health

from .conftest import free_port


async def test_health_up_names_the_version(janus_admin):
    health = await janus_health(janus_admin)
    assert health.up, health.reason
    assert health.version.startswith("1.1.")
    assert "VideoRoom" in health.reason


async def test_health_down_when_the_port_is_closed_says_so_quickly():
    started = time.monotonic()
    async with JanusAdmin(f"http://127.0.0.1:{free_port()}/admin", "secret") as admin:
        health = await janus_health(admin)
    assert time.monotonic() - started < 1.0
    assert not health.up
    assert "unreachable" in health.reason


async def test_health_down_when_the_admin_secret_is_wrong(janus_server):
    async with JanusAdmin(janus_server.admin_url, "not-the-secret") as admin:
        health = await janus_health(admin)
    assert not health.up
    assert health.reason == "Janus refused the admin secret (JANUS_ADMIN_SECRET)"


async def test_health_without_an_admin_secret_is_not_configured(settings):
    settings.JANUS_ADMIN_SECRET = ""
    health = await janus_health()
    assert not health.up
    assert "not configured" in health.reason


def test_janus_status_reports_up_from_settings(janus_server, settings, capsys):
    settings.JANUS_ADMIN_URL = janus_server.admin_url
    settings.JANUS_ADMIN_SECRET = janus_server.admin_secret
    call_command("janus_status")
    assert "Janus 1.1." in capsys.readouterr().out


def test_janus_status_fails_with_the_reason_when_down(settings):
    settings.JANUS_ADMIN_URL = f"http://127.0.0.1:{free_port()}/admin"
    settings.JANUS_ADMIN_SECRET = "secret"
    with pytest.raises(CommandError, match="unreachable"):
        call_command("janus_status")


async def test_health_down_when_janus_hangs_names_the_timeout():
    # Accepts connections (the kernel's backlog) and never answers.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/admin"
        async with JanusAdmin(url, "secret", timeout=0.3) as admin:
            health = await janus_health(admin)
    assert not health.up
    assert health.reason == f"Janus at {url} did not answer within 0.3 s"
