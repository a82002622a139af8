"""Signed links that prove the requester reads the mailbox they gave (magic links)."""

from common.signed_links import BadSignedValue, ExpiredSignedValue, sign, unsign

_SALT = "privacy.requests.verify"
MAX_AGE_SECONDS = 7 * 24 * 3600


class BadToken(Exception):
    pass


def make_verification_token(*, request_id: int, email: str) -> str:
    return sign({"r": request_id, "e": email.lower()}, salt=_SALT, compress=True)


def read_verification_token(token: str) -> tuple[int, str]:
    try:
        data = unsign(token, salt=_SALT, max_age=MAX_AGE_SECONDS)
    except ExpiredSignedValue as exc:
        raise BadToken("This link has expired. Please send your request again.") from exc
    except BadSignedValue as exc:
        raise BadToken("This link is not valid.") from exc
    if not isinstance(data, dict) or not isinstance(data.get("r"), int):
        raise BadToken("This link is not valid.")
    return data["r"], str(data.get("e", ""))
