"""The survey's token: the room page gives it to the client, and it names one
participant session, signed so that nobody can answer for a session they were not."""

from __future__ import annotations

from django.core import signing

SALT = "feedback.survey"
MAX_AGE_SECONDS = 2 * 24 * 3600  # a long call plus time to answer on the end screen


class BadToken(Exception):
    pass


def make_token(*, session_public_id: str) -> str:
    return signing.dumps({"p": session_public_id}, salt=SALT, compress=False)


def read_token(token: str) -> str:
    """The participant session's public id, or BadToken."""
    try:
        value = signing.loads(token, salt=SALT, max_age=MAX_AGE_SECONDS)
    except signing.BadSignature as exc:
        raise BadToken("This survey link is not valid or has expired.") from exc
    if not isinstance(value, dict) or not isinstance(value.get("p"), str):
        raise BadToken("This survey link is not valid.")
    return value["p"]
