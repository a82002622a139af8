"""Personal API tokens: the keys, their hashes, and the DRF authentication that reads them.

A client sends ``Authorization: Token <key>``. A revoked or expired token, an unknown key
and a closed account are all the same 401.
"""

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from .models import ApiToken, User

KEYWORD = "Token"
INVALID = "Invalid, expired or revoked token."
# last_used_at is written at most this often per token, not on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def new_key() -> str:
    return secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keyword = KEYWORD

    def authenticate(self, request: Request) -> tuple[User, ApiToken] | None:
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Give the token after “Token ”, no spaces.")
        try:
            key = parts[1].decode()
        except UnicodeError as exc:
            raise exceptions.AuthenticationFailed(INVALID) from exc
        return self.authenticate_key(key)

    def authenticate_key(self, key: str) -> tuple[User, ApiToken]:
        now = timezone.now()
        token = ApiToken.objects.select_related("user").filter(key_hash=hash_key(key)).first()
        if token is None or not token.is_usable(now):
            raise exceptions.AuthenticationFailed(INVALID)
        user = token.user
        if not user.is_active or user.deleted_at is not None:
            raise exceptions.AuthenticationFailed(INVALID)
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
        return user, token

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = ApiTokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": ("A personal API token from your account settings, as `Token <key>`."),
        }
