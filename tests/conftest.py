import uuid

import pytest

from conferencing.celery import app as celery_app

from .celery_workers import broker  # noqa: F401  (a fixture for the real-worker tests)
from .factories import PASSWORD, UserFactory


@pytest.fixture(autouse=True)
def _eager_celery(settings):
    """Tasks run in-process unless a test starts a real worker.

    With REDIS_URL set (CI) the settings point Celery at Redis; the unit suite still runs
    tasks eagerly so that each test sees their effects.
    """
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def _memory_email(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _own_cache_keys(settings):
    """Rate-limit counters live in the cache (Redis in CI). Each test gets a key prefix of
    its own, so it starts with none and cannot disturb another run sharing that Redis."""
    settings.CACHES = {
        name: config | {"KEY_PREFIX": f"test-{uuid.uuid4().hex}"}
        for name, config in settings.CACHES.items()
    }


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def signed_in(client, user):
    client.force_login(user)
    return client


@pytest.fixture(autouse=True)
def _media_in_process(settings):
    """Media rooms live in the test process unless a test starts media workers."""
    from meetings.room.media_gateway import reset_gateway

    settings.MEDIA_GATEWAY = "meetings.room.media_gateway.LocalMediaGateway"
    reset_gateway()
    yield
    reset_gateway()


@pytest.fixture(autouse=True)
def _recordings_in_tmp(settings, tmp_path):
    """Recording files go to the test's own directory, never to var/."""
    settings.RECORDINGS_ROOT = tmp_path / "recordings"
    settings.RECORDINGS_PROCESS_IN_THREAD = False  # eager tasks run where a test can see them
