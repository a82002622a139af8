"""Access requests: build the person's ZIP, and the expiring link that downloads it."""

from __future__ import annotations

import secrets
from pathlib import Path

from django.conf import settings

from common.signed_links import BadSignedValue, ExpiredSignedValue, sign, unsign
from privacy.models import PrivacyRequest

_SALT = "privacy.requests.download"


class BadDownload(Exception):
    pass


def export_path(request: PrivacyRequest) -> Path:
    return Path(settings.PRIVACY_EXPORTS_ROOT) / request.export_file


def new_export_name(request: PrivacyRequest) -> str:
    # Unguessable, so a leaked directory listing names no one's file.
    return f"{request.reference}-{secrets.token_urlsafe(16)}.zip"


def make_download_token(request: PrivacyRequest) -> str:
    return sign({"r": request.pk, "f": request.export_file}, salt=_SALT)


def read_download_token(token: str) -> tuple[int, str]:
    max_age = settings.PRIVACY_EXPORT_LINK_DAYS * 24 * 3600
    try:
        data = unsign(token, salt=_SALT, max_age=max_age)
    except ExpiredSignedValue as exc:
        raise BadDownload("This download link has expired.") from exc
    except BadSignedValue as exc:
        raise BadDownload("This download link is not valid.") from exc
    if not isinstance(data, dict) or not isinstance(data.get("r"), int) or not data.get("f"):
        raise BadDownload("This download link is not valid.")
    return data["r"], str(data["f"])
