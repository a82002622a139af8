"""docker-compose.yml and the Dockerfile point at things that exist.

The stack is not started here: these tests resolve each app service's command to the
real entry point it names, and check that the app services are configured only with
variables that conferencing/settings.py reads.
"""

import ast
import inspect
import json
import os
import re
import shlex
from pathlib import Path

import pytest
import yaml
from asgiref.sync import async_to_sync
from celery import Celery
from celery.app.utils import find_app
from celery.bin.base import CLIContext
from celery.bin.celery import celery as celery_cli
from channels.testing import HttpCommunicator
from django.conf import settings
from django.core.management import get_commands, load_command_class
from uvicorn.config import WS_PROTOCOLS
from uvicorn.importer import import_from_string
from uvicorn.main import main as uvicorn_cli

ROOT = Path(__file__).resolve().parent.parent
SETTINGS_SOURCE = (ROOT / "conferencing" / "settings.py").read_text()
APP_SERVICES = ("web", "worker", "beat", "media")

# env.bool("PRODUCTION", ...), env.db_url("DATABASE_URL", ...), env.str(\n "NAME", ...)
ENV_CALL = re.compile(r"""\benv\.(\w+)\(\s*["']([A-Za-z_][A-Za-z0-9_]*)["']""")


@pytest.fixture(scope="module")
def services() -> dict[str, dict]:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return compose["services"]


def argv_of(service: dict) -> list[str]:
    command = service["command"]
    return shlex.split(command) if isinstance(command, str) else [str(a) for a in command]


def environment_names(service: dict) -> set[str]:
    environment = service.get("environment") or {}
    if isinstance(environment, dict):
        return set(environment)
    return {item.split("=", 1)[0] for item in environment}


def uvicorn_params(service: dict) -> dict:
    """Parsed by uvicorn's own CLI: unknown options and malformed values fail here."""
    argv = argv_of(service)
    assert argv[0] == "uvicorn"
    return uvicorn_cli.make_context("uvicorn", argv[1:]).params


def settings_variables() -> set[str]:
    return {name for _kind, name in ENV_CALL.findall(SETTINGS_SOURCE)}


def test_expected_services_exist(services):
    assert {"web", "worker", "beat", "media", "postgres", "redis", "coturn", "janus"} <= set(
        services
    )


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_build_this_repository(services, name):
    assert services[name]["build"] == "."
    assert (ROOT / "Dockerfile").is_file()


def test_web_runs_uvicorn_on_the_asgi_application(services):
    params = uvicorn_params(services["web"])
    assert params["host"] == "0.0.0.0"
    # --ws takes any string; it must name an implementation uvicorn has and can import.
    assert params["ws"] == "websockets"
    assert import_from_string(WS_PROTOCOLS[params["ws"]])

    app = import_from_string(params["app"])
    assert params["app"] == "conferencing.asgi:application"
    call = app if inspect.isfunction(app) else type(app).__call__
    assert inspect.iscoroutinefunction(call)
    assert len(inspect.signature(app).parameters) == 3


@pytest.mark.django_db
def test_the_asgi_application_answers_http(services):
    app = import_from_string(uvicorn_params(services["web"])["app"])
    communicator = HttpCommunicator(app, "GET", "/", headers=[(b"host", b"testserver")])
    response = async_to_sync(communicator.get_response)()
    assert response["status"] == 200


@pytest.mark.parametrize(("name", "subcommand"), [("worker", "worker"), ("beat", "beat")])
def test_celery_services_run_the_project_app(services, name, subcommand):
    argv = argv_of(services[name])
    assert argv[0] == "celery"
    split = next(i for i, arg in enumerate(argv) if i and arg in celery_cli.commands)
    assert argv[split] == subcommand

    group = celery_cli.make_context("celery", argv[1:split])
    app = find_app(group.params["app"])
    assert isinstance(app, Celery)
    assert app.main == "conferencing"
    # The sub-command's own parser validates the options that follow it (--loglevel ...).
    group.obj = CLIContext(app=app, no_color=True, workdir=None, quiet=True)
    celery_cli.commands[subcommand].make_context(subcommand, argv[split + 1 :], parent=group)


def test_beat_uses_the_database_scheduler(services):
    app = find_app(celery_cli.make_context("celery", ["-A", "conferencing"]).params["app"])
    assert app.conf.beat_scheduler == settings.CELERY_BEAT_SCHEDULER
    assert settings.CELERY_BEAT_SCHEDULER == "django_celery_beat.schedulers:DatabaseScheduler"


def test_migrate_service_runs_a_real_management_command(services):
    argv = argv_of(services["migrate"])
    assert argv[:2] == ["python", "manage.py"]
    assert (ROOT / "manage.py").is_file()
    assert argv[2] in get_commands()


def test_media_service_runs_the_media_worker_command(services):
    argv = argv_of(services["media"])
    assert argv[:3] == ["python", "manage.py", "media_worker"]
    command = get_commands()[argv[2]]
    assert command == "meetings"  # the app whose management package holds it
    # The command's own parser accepts the options given (none, or --lease-ttl ...).
    load_command_class(command, argv[2]).create_parser("manage.py", argv[2]).parse_args(argv[3:])
    # With REDIS_URL (set for every app service) settings pick the gateway to the workers.
    assert "REDIS_URL" in environment_names(services["media"])


def test_settings_scan_finds_every_env_call():
    """The regex sees what the parser sees, including calls split over lines."""
    parsed = {
        node.args[0].value
        for node in ast.walk(ast.parse(SETTINGS_SOURCE))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "env"
        and node.args
        and isinstance(node.args[0], ast.Constant)
    }
    assert settings_variables() == parsed
    assert {"SECRET_KEY", "DATABASE_URL", "EMAIL_URL", "COMPANY_POSTAL_ADDRESS"} <= parsed


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_set_only_variables_settings_reads(services, name):
    names = environment_names(services[name])
    assert names, f"{name} has no environment"
    unknown = names - settings_variables()
    assert not unknown, f"{name} sets variables that settings.py never reads: {sorted(unknown)}"


def test_dockerfile_cmd_is_the_web_command(services):
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    cmd = [line for line in lines if line.startswith("CMD ")][-1].removeprefix("CMD ").strip()
    argv = json.loads(cmd) if cmd.startswith("[") else shlex.split(cmd)
    assert argv == argv_of(services["web"])


def test_janus_runs_the_committed_config_and_publishes_only_its_rtp_ports(services):
    janus = services["janus"]
    folder = ROOT / janus["build"]
    dockerfile = (folder / "Dockerfile").read_text()
    for line in re.findall(r"(?m)^COPY\s+(.+)$", dockerfile):
        for source in line.split()[:-1]:
            assert (folder / source).is_file(), source
    assert os.access(folder / "entrypoint.sh", os.X_OK)
    assert "apt-get install" in dockerfile and " janus " in dockerfile

    # Browsers reach only the RTP range, mapped one to one as Janus announces it.
    rtp = re.search(r'rtp_port_range = "(\d+-\d+)"', (folder / "janus.jcfg").read_text())
    assert janus["ports"] == [f"{rtp.group(1)}:{rtp.group(1)}/udp"]
    assert set(environment_names(janus)) == {"JANUS_ADMIN_SECRET", "JANUS_NAT_1_1_MAPPING"}
    assert "TURN_EXTERNAL_IP" in janus["environment"]["JANUS_NAT_1_1_MAPPING"]


@pytest.mark.parametrize("name", ["web", "media"])
def test_app_services_reach_janus_on_the_configured_ports(services, name):
    http = (ROOT / "deploy" / "janus" / "janus.transport.http.jcfg").read_text()
    port = re.search(r"(?m)^\s*port = (\d+)", http).group(1)
    admin_port = re.search(r"(?m)^\s*admin_port = (\d+)", http).group(1)
    environment = services[name]["environment"]
    assert environment["JANUS_URL"] == f"http://janus:{port}/janus"
    assert environment["JANUS_ADMIN_URL"] == f"http://janus:{admin_port}/admin"
    assert (
        environment["JANUS_ADMIN_SECRET"] == services["janus"]["environment"]["JANUS_ADMIN_SECRET"]
    )
