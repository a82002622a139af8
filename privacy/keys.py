"""The keyed hash that names a person without keeping their address."""

import hashlib
import hmac

from django.conf import settings


def subject_key(email: str) -> str:
    """A keyed hash that names a person without an account, without keeping the address."""
    key = settings.PRIVACY_SUBJECT_KEY.encode()
    return hmac.new(key, email.strip().lower().encode(), hashlib.sha256).hexdigest()
