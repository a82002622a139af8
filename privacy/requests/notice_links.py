"""Signed links to a Shine the Light notice's printable page, sent in the notice email.

The token names the notice and a prefix of its customer key, so a link cannot be
re-pointed at someone else's notice by changing the id.
"""

from __future__ import annotations

from common.signed_links import BadSignedValue, ExpiredSignedValue, sign, unsign
from privacy.models import ShineTheLightNotice

_SALT = "privacy.requests.notice"
# The notice and its request are purged 24 months after the request closed.
MAX_AGE_SECONDS = 2 * 366 * 24 * 3600


class BadNoticeLink(Exception):
    pass


def make_notice_token(notice: ShineTheLightNotice) -> str:
    return sign({"n": notice.pk, "k": notice.customer_key[:16]}, salt=_SALT)


def read_notice_token(token: str) -> ShineTheLightNotice:
    try:
        data = unsign(token, salt=_SALT, max_age=MAX_AGE_SECONDS)
    except ExpiredSignedValue as exc:
        raise BadNoticeLink("This link has expired.") from exc
    except BadSignedValue as exc:
        raise BadNoticeLink("This link is not valid.") from exc
    if not isinstance(data, dict) or not isinstance(data.get("n"), int):
        raise BadNoticeLink("This link is not valid.")
    notice = (
        ShineTheLightNotice.objects.select_related("request")
        .filter(pk=data["n"], customer_key__startswith=str(data.get("k", "")))
        .first()
    )
    if notice is None or not data.get("k"):
        raise BadNoticeLink("This notice is no longer kept, or the link is not valid.")
    return notice
