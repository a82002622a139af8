"""Signed unsubscribe tokens: they name an address and a category and need no login."""

from django.core import signing

from .email_categories import SUBSCRIPTION_CATEGORIES

_SALT = "privacy.unsubscribe"


class BadToken(Exception):
    pass


def make_unsubscribe_token(*, email: str, category: str) -> str:
    return signing.dumps({"e": email.lower(), "c": category}, salt=_SALT, compress=True)


def read_unsubscribe_token(token: str) -> tuple[str, str]:
    """Return (email, category), or raise BadToken for anything not signed by us."""
    try:
        data = signing.loads(token, salt=_SALT)
    except signing.BadSignature as exc:
        raise BadToken("This unsubscribe link is not valid.") from exc
    if not isinstance(data, dict):
        raise BadToken("This unsubscribe link is not valid.")
    email, category = data.get("e"), data.get("c")
    if not isinstance(email, str) or category not in SUBSCRIPTION_CATEGORIES:
        raise BadToken("This unsubscribe link is not valid.")
    return email, category
