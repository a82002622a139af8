"""Shared helpers for the privacy request page tests."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from privacy.requests import services
from tests.factories import PASSWORD


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run a call, then what it left for after the commit (emails, tasks), as in production."""

    def run(call, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return call(*args, **kwargs)

    return run


def reauthenticate(client, user) -> None:
    client.force_login(user)
    response = client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    assert response.status_code == 302


def path_in(body: str, prefix: str) -> str:
    """The site path of the first link in an email body that starts with `prefix`."""
    match = re.search(rf"https?://[^/\s]+({re.escape(prefix)}[^\s]+/)", body)
    assert match, body
    return match.group(1)


def mails_to(address: str) -> list:
    return [message for message in mail.outbox if address in message.to]


def submit(**overrides):
    """A request as a service call; verified unless told otherwise."""
    fields = {
        "kind": "access",
        "channel": "web_form",
        "name": "Pat Person",
        "email": "pat@example.com",
        "california_resident": True,
        "verified": True,
    } | overrides
    return services.submit(**fields)
