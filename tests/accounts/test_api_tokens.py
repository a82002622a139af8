"""Personal API tokens: made on the settings page, shown once, kept hashed, revocable."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services
from accounts.api_tokens import hash_key
from accounts.models import ApiToken
from privacy.models import AuditEntry
from tests.factories import UserFactory

TOKENS_URL = reverse("accounts:api_tokens")
KEY = re.compile(r'data-testid="new-api-key">([^<]+)<')


def api_with(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_a_token_made_on_the_page_is_shown_once_and_stored_only_as_a_hash(signed_in, user):
    response = signed_in.post(TOKENS_URL, {"name": "calendar sync", "expires_in": "30"})

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    key = KEY.search(response.content.decode()).group(1)
    token = ApiToken.objects.get(user=user)
    assert token.name == "calendar sync"
    assert token.key_hash == hash_key(key) and key not in token.key_hash
    assert timedelta(days=29) < token.expires_at - timezone.now() <= timedelta(days=30)
    listed = signed_in.get(TOKENS_URL).content.decode()
    assert "calendar sync" in listed and token.prefix in listed
    assert key not in listed


def test_a_token_opens_the_api_and_records_when_it_was_last_used(user):
    token, key = services.create_api_token(user=user, name="script")

    response = api_with(key).get("/api/meetings/")

    assert response.status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_a_token_without_an_expiry_is_allowed(signed_in, user):
    signed_in.post(TOKENS_URL, {"name": "forever", "expires_in": ""})

    assert ApiToken.objects.get(user=user).expires_at is None


def test_a_name_is_required(signed_in, user):
    response = signed_in.post(TOKENS_URL, {"name": "", "expires_in": "30"})

    assert response.status_code == 200
    assert response.context["form"].errors["name"]
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize("header", ["Token nope", "Token ", "Token a b"])
def test_a_wrong_token_is_a_401(user, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)

    response = client.get("/api/meetings/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_a_revoked_token_is_a_401(signed_in, user):
    token, key = services.create_api_token(user=user, name="old")

    response = signed_in.post(reverse("accounts:revoke_api_token", args=[token.pk]))

    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert api_with(key).get("/api/meetings/").status_code == 401
    assert "revoked" in signed_in.get(TOKENS_URL).content.decode()


def test_an_expired_token_is_a_401(user):
    _, key = services.create_api_token(
        user=user, name="short", expires_at=timezone.now() + timedelta(days=1)
    )

    with time_machine.travel(timezone.now() + timedelta(days=1, seconds=1)):
        response = api_with(key).get("/api/meetings/")

    assert response.status_code == 401


def test_a_closed_accounts_token_is_a_401(user):
    _, key = services.create_api_token(user=user, name="script")

    services.delete_account(user=user)

    assert api_with(key).get("/api/meetings/").status_code == 401
    assert not ApiToken.objects.filter(user=user).exists()


def test_nobody_can_revoke_someone_elses_token(signed_in, user):
    token, key = services.create_api_token(user=UserFactory(), name="theirs")

    signed_in.post(reverse("accounts:revoke_api_token", args=[token.pk]))

    token.refresh_from_db()
    assert token.revoked_at is None
    assert api_with(key).get("/api/meetings/").status_code == 200


def test_creating_and_revoking_are_audited_without_the_key(user):
    token, key = services.create_api_token(user=user, name="audited")
    services.revoke_api_token(user=user, token_id=token.pk)
    services.revoke_api_token(user=user, token_id=token.pk)  # already revoked: no entry

    entries = list(AuditEntry.objects.filter(target_type="api_token").order_by("pk"))
    assert [e.action for e in entries] == [
        services.API_TOKEN_CREATED,
        services.API_TOKEN_REVOKED,
    ]
    assert all(e.actor_id == user.pk and e.target_id == str(token.pk) for e in entries)
    assert key not in str(entries[0].details)
    assert "audited" not in str(entries[0].details)  # the typed name may name people


def test_the_page_is_for_signed_in_people(client, db):
    response = client.get(TOKENS_URL)

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


def test_settings_lead_to_the_tokens_page(signed_in):
    response = signed_in.get(reverse("accounts:settings"))

    assert TOKENS_URL in response.content.decode()
