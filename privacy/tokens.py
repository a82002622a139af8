"""Signed links in emails: they name an address (and a category) and need no login.

Each kind has its own salt, so a token made for one purpose never opens another.
"""

from datetime import timedelta

from common.signed_links import BadSignedValue, ExpiredSignedValue, sign, unsign

from .email_categories import SUBSCRIPTION_CATEGORIES

_SALT = "privacy.unsubscribe"
_PREFERENCES_SALT = "privacy.email_preferences"
_NEWSLETTER_CONFIRM_SALT = "privacy.newsletter.confirm"
NEWSLETTER_CONFIRM_MAX_AGE = timedelta(days=7)


class BadToken(Exception):
    pass


class ExpiredToken(BadToken):
    pass


def make_unsubscribe_token(*, email: str, category: str) -> str:
    return sign({"e": email.lower(), "c": category}, salt=_SALT, compress=True)


def read_unsubscribe_token(token: str) -> tuple[str, str]:
    """Return (email, category), or raise BadToken for anything not signed by us.

    It never expires: an unsubscribe link in an old email must still work."""
    try:
        data = unsign(token, salt=_SALT, max_age=None)
    except BadSignedValue as exc:
        raise BadToken("This unsubscribe link is not valid.") from exc
    if not isinstance(data, dict):
        raise BadToken("This unsubscribe link is not valid.")
    email, category = data.get("e"), data.get("c")
    if not isinstance(email, str) or category not in SUBSCRIPTION_CATEGORIES:
        raise BadToken("This unsubscribe link is not valid.")
    return email, category


def make_preferences_token(*, email: str) -> str:
    return sign({"e": email.lower()}, salt=_PREFERENCES_SALT, compress=True)


def read_preferences_token(token: str) -> str:
    """Return the address a preferences link was made for, or raise BadToken."""
    return _read_email(token, salt=_PREFERENCES_SALT, error="This preferences link is not valid.")


def make_newsletter_confirm_token(*, email: str) -> str:
    return sign({"e": email.lower()}, salt=_NEWSLETTER_CONFIRM_SALT, compress=True)


def read_newsletter_confirm_token(token: str) -> str:
    """Return the address to confirm; ExpiredToken once the link is a week old."""
    return _read_email(
        token,
        salt=_NEWSLETTER_CONFIRM_SALT,
        error="This confirmation link is not valid.",
        max_age=NEWSLETTER_CONFIRM_MAX_AGE,
        expired="This confirmation link has expired. Sign up again to get a new one.",
    )


def _read_email(
    token: str, *, salt: str, error: str, max_age: timedelta | None = None, expired: str = ""
) -> str:
    try:
        data = unsign(token, salt=salt, max_age=max_age)
    except ExpiredSignedValue as exc:
        raise ExpiredToken(expired or error) from exc
    except BadSignedValue as exc:
        raise BadToken(error) from exc
    email = data.get("e") if isinstance(data, dict) else None
    if not isinstance(email, str) or "@" not in email:
        raise BadToken(error)
    return email
