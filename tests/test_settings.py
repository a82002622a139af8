"""The settings module read under different environments, each in a fresh interpreter."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_ENV = {
    "PRODUCTION": "1",
    "SECRET_KEY": "k" * 20 + "9Vq!x2Lm#pR7sT0wZ4yB6nC8dF1gH3jK5",
    "ALLOWED_HOSTS": "meet.example.com",
}


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.pop("PRODUCTION", None)
    env["DJANGO_SETTINGS_MODULE"] = "conferencing.settings"
    return env | extra


def read_settings(*names: str, **env: str) -> dict:
    code = (
        "import json, django; from django.conf import settings; django.setup();"
        f"print(json.dumps({{n: getattr(settings, n) for n in {list(names)!r}}}, default=str))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean_env(**env),
        capture_output=True,
        text=True,
    )


def test_the_embedded_default_is_sqlite_memory_layer_and_eager_celery():
    s = read_settings("DATABASES", "CHANNEL_LAYERS", "CELERY_TASK_ALWAYS_EAGER")

    assert s["DATABASES"]["default"]["ENGINE"] == "django.db.backends.sqlite3"
    assert s["DATABASES"]["default"]["NAME"].endswith("var/db.sqlite3")
    assert s["CHANNEL_LAYERS"]["default"]["BACKEND"] == "channels.layers.InMemoryChannelLayer"
    assert s["CELERY_TASK_ALWAYS_EAGER"] is True


def test_database_url_selects_postgresql():
    s = read_settings("DATABASES", DATABASE_URL="postgres://u:p@db.internal:5432/confer")

    db = s["DATABASES"]["default"]
    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert (db["HOST"], db["NAME"], db["USER"]) == ("db.internal", "confer", "u")


def test_redis_url_selects_channels_redis_with_a_large_pool_and_the_celery_broker():
    s = read_settings(
        "CHANNEL_LAYERS",
        "CELERY_BROKER_URL",
        "CELERY_TASK_ALWAYS_EAGER",
        REDIS_URL="redis://cache.internal:6379/2",
    )

    layer = s["CHANNEL_LAYERS"]["default"]
    assert layer["BACKEND"] == "channels_redis.core.RedisChannelLayer"
    [host] = layer["CONFIG"]["hosts"]
    assert host["address"] == "redis://cache.internal:6379/2"
    assert host["max_connections"] >= 1000
    assert s["CELERY_BROKER_URL"] == "redis://cache.internal:6379/2"
    assert s["CELERY_TASK_ALWAYS_EAGER"] is False


def test_production_passes_check_deploy_without_warnings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION_ENV)

    assert result.returncode == 0, result.stderr + result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    env = dict(PRODUCTION_ENV)
    del env["SECRET_KEY"]

    result = manage("check", **env)

    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_csp_allows_no_inline_script():
    s = read_settings("CONTENT_SECURITY_POLICY", **PRODUCTION_ENV)

    directives = s["CONTENT_SECURITY_POLICY"]["DIRECTIVES"]
    assert directives["script-src"] == ["'self'"]
    assert "'unsafe-inline'" not in str(directives)


def test_models_and_migrations_agree():
    result = manage("makemigrations", "--check", "--dry-run")

    assert result.returncode == 0, result.stdout + result.stderr
