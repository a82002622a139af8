"""A real Janus for the session: Debian's /usr/bin/janus with deploy/janus/'s config.

The committed files are copied into a temporary folder with the admin secret filled in
(as deploy/janus/entrypoint.sh does), both HTTP servers on free loopback ports and a
short session timeout, so that the keepalive test is quick.
"""

import json
import os
import secrets
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from meetings.janus.admin import JanusAdmin
from meetings.janus.client import JanusClient

JANUS = "/usr/bin/janus"
DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "janus"
SESSION_TIMEOUT = 3
START_TIMEOUT = 15.0


@dataclass(frozen=True)
class JanusServer:
    url: str
    admin_url: str
    admin_secret: str
    session_timeout: int
    log: Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def write_config(folder: Path, secret: str, port: int, admin_port: int) -> None:
    for source in DEPLOY.glob("*.jcfg"):
        text = source.read_text().replace("@JANUS_ADMIN_SECRET@", secret)
        if source.name == "janus.transport.http.jcfg":
            text = (
                text.replace("port = 8088", f"port = {port}")
                .replace("admin_port = 7088", f"admin_port = {admin_port}")
                .replace('"0.0.0.0"', '"127.0.0.1"')
            )
        (folder / source.name).write_text(text)


def admin_answers(url: str) -> bool:
    request = urllib.request.Request(
        url, data=json.dumps({"janus": "ping", "transaction": "start"}).encode(), method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=1) as response:
            return json.load(response).get("janus") == "pong"
    except (OSError, ValueError):
        return False


@pytest.fixture(scope="session")
def janus_server(tmp_path_factory) -> JanusServer:
    if not os.access(JANUS, os.X_OK):
        message = f"{JANUS} is missing: run scripts/install-janus.sh (make janus)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    folder = tmp_path_factory.mktemp("janus")
    secret = secrets.token_urlsafe(24)
    port, admin_port = free_port(), free_port()
    write_config(folder, secret, port, admin_port)
    log = folder / "janus.log"
    command = [
        JANUS,
        f"--configs-folder={folder}",
        f"--config={folder / 'janus.jcfg'}",
        f"--session-timeout={SESSION_TIMEOUT}",
        "--disable-colors",
    ]
    with log.open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
    server = JanusServer(
        url=f"http://127.0.0.1:{port}/janus",
        admin_url=f"http://127.0.0.1:{admin_port}/admin",
        admin_secret=secret,
        session_timeout=SESSION_TIMEOUT,
        log=log,
    )
    deadline = time.monotonic() + START_TIMEOUT
    while not admin_answers(server.admin_url):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            process.wait()
            pytest.fail(f"Janus did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.05)
    yield server
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
async def janus_admin(janus_server):
    async with JanusAdmin(janus_server.admin_url, janus_server.admin_secret) as admin:
        yield admin


@pytest.fixture
async def janus_client(janus_server):
    async with JanusClient(janus_server.url) as client:
        yield client


@pytest.fixture
async def token(janus_admin) -> str:
    """A participant's token, allowed on the VideoRoom plugin."""
    value = secrets.token_urlsafe(24)
    await janus_admin.add_token(value)
    yield value
    await janus_admin.remove_token(value)
