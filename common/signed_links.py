"""Signed values in links, cookies and forms: one way to make them, one error when they fail.

Two shapes, both Django's own token formats, so links already emailed or stored keep
working:

- `sign` / `unsign`: a JSON payload with a timestamp (`django.core.signing.dumps`), for
  values that may expire (unsubscribe and verification links, export downloads, join
  tickets, grants).
- `sign_text` / `unsign_text`: a string and no timestamp (`django.core.signing.Signer`),
  for links that stay good as long as what they name exists (a personal join link, the
  leaving notice's target).

Each purpose has its own salt, so a value signed for one never opens another. Both readers
raise `BadSignedValue` (`ExpiredSignedValue` when only the age is wrong); they subclass
Django's `BadSignature` and `SignatureExpired`, so older code that catches those still works.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core import signing


class BadSignedValue(signing.BadSignature):
    """Forged, changed, signed for another purpose (salt), or not a signed value at all."""


class ExpiredSignedValue(BadSignedValue, signing.SignatureExpired):
    """Signed here for this purpose, but older than the reader's `max_age`."""


def sign(value: Any, *, salt: str, compress: bool = False) -> str:
    """A URL-safe token carrying `value` (anything JSON can hold) and the time it was made."""
    return signing.dumps(value, salt=salt, compress=compress)


def unsign(token: str, *, salt: str, max_age: int | timedelta | None) -> Any:
    """The value `sign` put in `token`. `max_age` (seconds or a timedelta) is required, so
    every reader says whether its tokens expire; None means they never do."""
    try:
        return signing.loads(token, salt=salt, max_age=max_age)
    except signing.SignatureExpired as exc:
        raise ExpiredSignedValue(str(exc)) from exc
    except signing.BadSignature as exc:
        raise BadSignedValue(str(exc)) from exc


def sign_text(value: str, *, salt: str) -> str:
    """`value` with a signature appended; it never expires."""
    return signing.Signer(salt=salt).sign(value)


def unsign_text(signed: str, *, salt: str) -> str:
    """The string `sign_text` signed, or BadSignedValue."""
    try:
        return signing.Signer(salt=salt).unsign(signed)
    except signing.BadSignature as exc:
        raise BadSignedValue(str(exc)) from exc
