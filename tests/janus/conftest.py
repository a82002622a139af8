"""A real Janus for the session: Debian's /usr/bin/janus with deploy/janus/'s config.

The committed files are copied into a temporary folder with the admin secret filled in
(as deploy/janus/entrypoint.sh does), both HTTP servers on free loopback ports and a
short session timeout, so that the keepalive test is quick.

Media needs an address of its own: libnice gathers no candidates on loopback, and the
tests must not use the machine's external interface. So the session creates a veth pair
(``ip link add ... type veth``, as root), its far end in a network namespace of its own
so that the near end is up, gives the near end an address in 10.231.0.0/16, and starts
Janus with ``ice_enforce_list`` set to it; both go when the session ends. Clients
(aiortc, Chromium) on this machine reach that address locally.
"""

import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
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
class MediaAddress:
    interface: str
    address: str


@dataclass(frozen=True)
class JanusServer:
    url: str
    admin_url: str
    admin_secret: str
    session_timeout: int
    log: Path
    port: int = 0
    admin_port: int = 0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


@contextlib.contextmanager
def veth_address() -> Iterator[MediaAddress]:
    """A veth pair for the test session (see the module's docstring), removed on exit."""
    tag = os.getpid() % 100_000
    near, far, namespace = f"jv{tag}", f"jv{tag}p", f"jns{tag}"
    address = f"10.231.{tag % 250 + 1}.1"
    try:
        _ip("netns", "add", namespace)
        _ip("link", "add", near, "type", "veth", "peer", "name", far)
        _ip("link", "set", far, "netns", namespace)
        _ip("addr", "add", f"{address}/24", "dev", near)
        _ip("-n", namespace, "link", "set", far, "up")
        _ip("link", "set", near, "up")
    except (OSError, subprocess.SubprocessError) as exc:
        _remove_veth(near, namespace)
        message = f"no veth pair for Janus's media (needs root and `ip`): {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    try:
        yield MediaAddress(near, address)
    finally:
        _remove_veth(near, namespace)


def _remove_veth(near: str, namespace: str) -> None:
    for args in (("link", "del", near), ("netns", "del", namespace)):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            _ip(*args)


def write_config(
    folder: Path, secret: str, port: int, admin_port: int, interface: str | None = None
) -> None:
    for source in DEPLOY.glob("*.jcfg"):
        text = source.read_text().replace("@JANUS_ADMIN_SECRET@", secret)
        if source.name == "janus.transport.http.jcfg":
            text = (
                text.replace("port = 8088", f"port = {port}")
                .replace("admin_port = 7088", f"admin_port = {admin_port}")
                .replace('"0.0.0.0"', '"127.0.0.1"')
            )
        if source.name == "janus.jcfg" and interface:
            text = text.replace("nat: {", f'nat: {{\n\tice_enforce_list = "{interface}"', 1)
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
def media_address() -> Iterator[MediaAddress]:
    with veth_address() as address:
        yield address


@pytest.fixture(scope="session")
def janus_server(tmp_path_factory, media_address) -> Iterator[JanusServer]:
    with run_janus(tmp_path_factory.mktemp("janus"), media_address) as server:
        yield server


@contextlib.contextmanager
def run_janus(
    folder: Path,
    media_address: MediaAddress,
    session_timeout: int = SESSION_TIMEOUT,
    *,
    like: JanusServer | None = None,
) -> Iterator[JanusServer]:
    """Janus on free ports with its media on ``media_address``, stopped on exit; ``like``
    another (stopped) one: on its ports with its secret, as after a restart."""
    if not os.access(JANUS, os.X_OK):
        message = f"{JANUS} is missing: run scripts/install-janus.sh (make janus)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    folder.mkdir(parents=True, exist_ok=True)
    secret = like.admin_secret if like else secrets.token_urlsafe(24)
    port, admin_port = (like.port, like.admin_port) if like else (free_port(), free_port())
    write_config(folder, secret, port, admin_port, media_address.interface)
    log = folder / "janus.log"
    command = [
        JANUS,
        f"--configs-folder={folder}",
        f"--config={folder / 'janus.jcfg'}",
        f"--session-timeout={session_timeout}",
        "--disable-colors",
    ]
    with log.open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
    server = JanusServer(
        url=f"http://127.0.0.1:{port}/janus",
        admin_url=f"http://127.0.0.1:{admin_port}/admin",
        admin_secret=secret,
        session_timeout=session_timeout,
        log=log,
        port=port,
        admin_port=admin_port,
    )
    deadline = time.monotonic() + START_TIMEOUT
    while not admin_answers(server.admin_url):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            process.wait()
            pytest.fail(f"Janus did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.05)
    try:
        yield server
    finally:
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
