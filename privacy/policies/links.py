"""Links that leave the site go through a notice page; the target is signed.

Only a URL this site signed can be shown on the notice page, so the page can never
be used as an open redirect, and only http(s) URLs can be signed at all.
"""

import re
from html import escape, unescape
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.urls import reverse
from django.utils.http import is_same_domain
from django.utils.safestring import SafeString, mark_safe

from common.signed_links import BadSignedValue, sign_text, unsign_text

SALT = "privacy.policies.leaving"
_SCHEMES = {"http", "https"}
_ANCHOR_HREF = re.compile(r'(<a\b[^>]*?\bhref=")([^"]*)(")', re.IGNORECASE)


class BadTarget(ValueError):
    """A leaving-notice target that was not signed here or is not a web address."""


def _checked(url: str) -> str:
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in _SCHEMES or not parts.hostname:
        raise BadTarget("Only http and https addresses with a host can be linked.")
    return url


def sign_target(url: str) -> str:
    """The signed value for ?to=; raises BadTarget for anything but http(s)."""
    return sign_text(_checked(url), salt=SALT)


def read_target(value: str) -> str:
    """The URL a signed value carries; raises BadTarget when missing or tampered with."""
    if not value:
        raise BadTarget("The link does not say where it leads.")
    try:
        url = unsign_text(value, salt=SALT)
    except BadSignedValue:
        raise BadTarget(
            "This link was changed after we made it, so we will not follow it."
        ) from None
    return _checked(url)


def notice_url(url: str) -> str:
    """The path of the leaving notice for `url` (raises BadTarget)."""
    return reverse("privacy:leaving") + "?" + urlencode({"to": sign_target(url)})


def target_host(url: str) -> str:
    return urlsplit(url).hostname or ""


def _own_hosts() -> list[str]:
    hosts = [target_host(settings.SITE_URL)]
    # "*" allows any Host header; it does not make every site ours.
    hosts += [host for host in settings.ALLOWED_HOSTS if host != "*"]
    return [host.lower() for host in hosts if host]


def is_external(url: str) -> bool:
    """An http(s) link to a host that is not this site's."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in _SCHEMES or not parts.hostname:
        return False  # relative, mailto: and fragments stay on the page
    host = parts.hostname.lower()
    return not any(is_same_domain(host, pattern) for pattern in _own_hosts())


def rewrite_external_links(html: str) -> SafeString:
    """Send every link to another site through the notice page.

    `html` must be sanitised already (render_markdown's output): attribute values are
    quoted and escaped, so rewriting the href in place keeps it safe.
    """

    def replace(match: re.Match[str]) -> str:
        url = unescape(match.group(2))
        if not is_external(url):
            return match.group(0)
        return match.group(1) + escape(notice_url(url)) + match.group(3)

    return mark_safe(_ANCHOR_HREF.sub(replace, html))  # input was sanitised; hrefs escaped
