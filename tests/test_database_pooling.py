"""PostgreSQL under uvicorn: a connection per request, pooled by PgBouncer in the stack."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
APP_SERVICES = ("migrate", "web", "worker", "beat")


def database_settings(**env: str) -> dict:
    """The default database's settings as a fresh process computes them from `env`."""
    code = (
        "import json, django; django.setup(); from django.conf import settings; "
        "print(json.dumps(settings.DATABASES['default'], default=str))"
    )
    base = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    base = {k: v for k, v in base.items() if not k.startswith("DB_")}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": "conferencing.settings", **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


POSTGRES = "postgres://u:p@db.example:5432/conferencing"


def test_postgresql_connections_are_closed_after_each_request_by_default():
    database = database_settings(DATABASE_URL=POSTGRES)

    assert database["CONN_MAX_AGE"] == 0
    assert database["DISABLE_SERVER_SIDE_CURSORS"] is False


def test_transaction_pooling_turns_off_server_side_cursors():
    database = database_settings(DATABASE_URL=POSTGRES, DB_TRANSACTION_POOLING="1")

    assert database["DISABLE_SERVER_SIDE_CURSORS"] is True


@pytest.fixture(scope="module")
def services() -> dict[str, dict]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]


@pytest.mark.parametrize("name", APP_SERVICES)
def test_the_app_reaches_postgresql_through_pgbouncer(services, name):
    environment = services[name]["environment"]

    # The password is a ${...} interpolation, so read the host after the last "@".
    assert environment["DATABASE_URL"].rsplit("@", 1)[1].startswith("pgbouncer:5432/")
    assert environment["DB_CONN_MAX_AGE"] == "0"
    assert environment["DB_TRANSACTION_POOLING"] == "1"
    assert "pgbouncer" in services[name]["depends_on"]


def test_pgbouncer_pools_transactions_in_front_of_postgresql(services):
    pgbouncer = services["pgbouncer"]
    image, _, tag = pgbouncer["image"].partition(":")

    assert image == "edoburu/pgbouncer"
    assert tag and tag != "latest"
    assert pgbouncer["environment"]["POOL_MODE"] == "transaction"
    assert pgbouncer["environment"]["DB_HOST"] == "postgres"
    assert int(pgbouncer["environment"]["MAX_DB_CONNECTIONS"]) < 100
    assert pgbouncer["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "healthcheck" in pgbouncer
