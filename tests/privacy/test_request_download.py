"""The access request's download link: works, is logged, expires, and refuses tampering."""

import zipfile
from datetime import UTC, datetime, timedelta
from io import BytesIO

import pytest
from django.urls import reverse

from privacy.models import PrivacyRequest, PrivacyRequestEvent
from privacy.requests import exports
from tests.factories import UserFactory
from tests.privacy import request_helpers
from tests.privacy.request_helpers import mails_to, path_in, submit
from tests.recordings.factories import streamed_body

committed = request_helpers.committed  # a fixture shared by the request tests


@pytest.fixture(autouse=True)
def _exports_in_tmp(settings, tmp_path):
    settings.PRIVACY_EXPORTS_ROOT = tmp_path / "exports"


@pytest.fixture
def ready(db, committed, time_machine):
    """An account holder's access request whose ZIP is built; returns (request, link path)."""
    time_machine.move_to(datetime(2031, 5, 6, 10, 0, tzinfo=UTC), tick=False)
    user = UserFactory(email="reader@example.com")
    request = committed(
        submit, kind="access", user=user, email=user.email, actor=user, reauthenticated=True
    )
    request.refresh_from_db()
    assert request.state == PrivacyRequest.State.COMPLETED
    ready_mail = next(m for m in mails_to(user.email) if "Your data is ready" in m.subject)
    return request, path_in(ready_mail.body, "/privacy/requests/download/")


def downloads(request) -> int:
    return PrivacyRequestEvent.objects.filter(request=request, action="export_downloaded").count()


def test_the_link_serves_the_zip_and_logs_the_download(client, ready):
    request, link = ready

    response = client.get(link)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert f"{request.reference}-my-data.zip" in response["Content-Disposition"]
    with zipfile.ZipFile(BytesIO(streamed_body(response))) as archive:
        assert "data.json" in archive.namelist()
    assert downloads(request) == 1


def test_a_resumed_download_is_not_logged_twice(client, ready):
    request, link = ready

    partial = client.get(link, HTTP_RANGE="bytes=10-20")

    assert partial.status_code == 206
    assert downloads(request) == 0


def test_an_expired_link_is_410_and_serves_nothing(client, ready, time_machine):
    request, link = ready
    time_machine.shift(timedelta(days=8))

    response = client.get(link)

    assert response.status_code == 410
    assert "expired" in response.content.decode()
    assert downloads(request) == 0


def test_a_link_whose_file_expired_before_the_token_is_410(client, ready):
    request, link = ready
    PrivacyRequest.objects.filter(pk=request.pk).update(
        export_expires_at=datetime(2031, 5, 6, 9, 0, tzinfo=UTC)
    )

    response = client.get(link)

    assert response.status_code == 410
    assert downloads(request) == 0


def test_a_link_for_a_replaced_file_is_410(client, ready):
    request, link = ready
    PrivacyRequest.objects.filter(pk=request.pk).update(export_file="other.zip")

    assert client.get(link).status_code == 410


@pytest.mark.parametrize("mangle", [lambda t: t[:-3] + "abc", lambda t: "nonsense"])
def test_a_tampered_link_is_400(client, ready, mangle):
    request, link = ready
    token = link.rstrip("/").rsplit("/", 1)[1]

    response = client.get(reverse("privacy:request_download", args=[mangle(token)]))

    assert response.status_code == 400
    assert "not valid" in response.content.decode()
    assert downloads(request) == 0


def test_a_token_for_another_file_name_is_410(client, ready):
    request, _ = ready
    request.export_file = "guessed.zip"
    forged = exports.make_download_token(request)

    assert client.get(reverse("privacy:request_download", args=[forged])).status_code == 410
