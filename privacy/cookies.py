"""Every cookie this site sets or lets others set, with its category.

The cookie policy's table and the consent banner are generated from this registry, and
a test walks the site and fails on any cookie that is not listed here. Scripts of other
companies (analytics, marketing) come from the THIRD_PARTY_SCRIPTS setting, each with
the cookies it declares, and load only after their category is accepted.
"""

import dataclasses
import functools
import hashlib
import json
from dataclasses import dataclass, field

from django.conf import settings
from django.db import models


class CookieCategory(models.TextChoices):
    NECESSARY = "necessary", "Strictly necessary"
    PREFERENCES = "preferences", "Preferences"
    ANALYTICS = "analytics", "Analytics"
    MARKETING = "marketing", "Marketing"


CATEGORY_DESCRIPTIONS = {
    CookieCategory.NECESSARY: (
        "Keep you signed in, protect forms against forgery and remember your cookie "
        "choices. The site cannot work without them, so they are always on."
    ),
    CookieCategory.PREFERENCES: (
        "Remember choices you make so you don't have to make them again, such as the "
        "name and email you join meetings with."
    ),
    CookieCategory.ANALYTICS: (
        "Count visits and see which pages are used, so we can improve the service."
    ),
    CookieCategory.MARKETING: (
        "Let advertisers and other third parties recognise your browser across sites."
    ),
}
# Categories a visitor chooses; strictly necessary is not a choice.
OPTIONAL_CATEGORIES = (
    CookieCategory.PREFERENCES,
    CookieCategory.ANALYTICS,
    CookieCategory.MARKETING,
)

CONSENT_COOKIE = "confer_consent"
JOIN_DETAILS_COOKIE = "confer_join_details"


@dataclass(frozen=True)
class Cookie:
    name: str
    category: CookieCategory
    purpose: str
    lifetime: str
    provider: str = ""  # empty: set by us (first party)


@dataclass(frozen=True)
class ThirdPartyScript:
    """A script of another company that loads only once its category is accepted."""

    provider: str
    category: CookieCategory
    src: str
    cookies: tuple[Cookie, ...] = field(default=())


FIRST_PARTY_COOKIES: tuple[Cookie, ...] = (
    Cookie(
        "sessionid",
        CookieCategory.NECESSARY,
        "Keeps you signed in and carries a meeting guest's place in the lobby.",
        "2 weeks, or until you sign out",
    ),
    Cookie(
        "csrftoken",
        CookieCategory.NECESSARY,
        "Protects forms against cross-site request forgery.",
        "1 year",
    ),
    Cookie(
        CONSENT_COOKIE,
        CookieCategory.NECESSARY,
        "Remembers your cookie choices and the consent id of your receipt.",
        "6 months",
    ),
    Cookie(
        "signup_hold",
        CookieCategory.NECESSARY,
        "Set only when the sign-up age check is not passed: holds sign-up back for a day.",
        "24 hours",
    ),
    Cookie(
        JOIN_DETAILS_COOKIE,
        CookieCategory.PREFERENCES,
        "Remembers the name and email you joined a meeting with, to fill in the join form.",
        "1 year",
    ),
)


def third_party_scripts() -> tuple[ThirdPartyScript, ...]:
    """The configured scripts (settings.THIRD_PARTY_SCRIPTS), validated."""
    scripts = []
    for raw in settings.THIRD_PARTY_SCRIPTS:
        category = CookieCategory(raw["category"])
        if category == CookieCategory.NECESSARY:
            raise ValueError("A third-party script is never strictly necessary.")
        cookies = tuple(
            Cookie(
                name=cookie["name"],
                category=category,
                purpose=cookie["purpose"],
                lifetime=cookie["lifetime"],
                provider=raw["provider"],
            )
            for cookie in raw.get("cookies", [])
        )
        scripts.append(ThirdPartyScript(raw["provider"], category, raw["src"], cookies))
    return tuple(scripts)


def all_cookies() -> tuple[Cookie, ...]:
    third_party = tuple(cookie for script in third_party_scripts() for cookie in script.cookies)
    return FIRST_PARTY_COOKIES + third_party


def cookies_in(category: str) -> tuple[Cookie, ...]:
    return tuple(cookie for cookie in all_cookies() if cookie.category == category)


def registered_names() -> frozenset[str]:
    return frozenset(cookie.name for cookie in all_cookies())


def necessary_names() -> frozenset[str]:
    return frozenset(cookie.name for cookie in cookies_in(CookieCategory.NECESSARY))


def banner_version() -> str:
    """A digest of what the banner asks: categories, cookies and scripts.

    Any change in them changes the version, and a consent given to another version is no
    consent: everyone is asked again.
    """
    return _banner_version(json.dumps(settings.THIRD_PARTY_SCRIPTS, sort_keys=True))


@functools.lru_cache(maxsize=8)
def _banner_version(scripts_key: str) -> str:
    asked = {
        "categories": [[c.value, str(c.label), CATEGORY_DESCRIPTIONS[c]] for c in CookieCategory],
        "cookies": [dataclasses.astuple(cookie) for cookie in all_cookies()],
        "scripts": [[s.provider, s.category.value, s.src] for s in third_party_scripts()],
    }
    body = json.dumps(asked, sort_keys=True, default=str).encode()
    return hashlib.sha256(body).hexdigest()[:16]
