"""Reads for cookie consent: what this browser agreed to, and the receipts behind it.

The consent cookie is signed, so a forged or altered one reads as no consent at all; one
given to an earlier banner version keeps its consent id (the same browser) but no
longer counts as a choice, so the banner asks again.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core import signing
from django.db.models import Q, QuerySet
from django.http import HttpRequest

from accounts.models import User
from common.signed_links import BadSignedValue, unsign

from .. import cookies
from ..cookies import CONSENT_COOKIE, JOIN_DETAILS_COOKIE, CookieCategory
from ..models import CookieConsent, SaleSharingOptOut

CONSENT_SALT = "privacy.consent"
JOIN_DETAILS_SALT = "privacy.consent.join-details"
CONSENT_MAX_AGE = 183 * 24 * 60 * 60  # six months
JOIN_DETAILS_MAX_AGE = 365 * 24 * 60 * 60
# Set on the session when the page's script saw navigator.globalPrivacyControl although
# the request carried no Sec-GPC header.
GPC_SESSION_KEY = "privacy.gpc_seen"


@dataclass(frozen=True)
class StoredChoice:
    """What the (verified) consent cookie says."""

    consent_id: uuid.UUID
    version: str
    preferences: bool
    analytics: bool
    marketing: bool


@dataclass(frozen=True)
class Consent:
    """The consent in force for one request, after GPC and any standing opt-out."""

    consent_id: uuid.UUID | None  # from a genuine cookie, even one of an older version
    decided: bool  # a choice was made for the current banner version
    preferences: bool
    analytics: bool
    marketing: bool
    gpc: bool  # an opt-out preference signal came with this request or this session

    def allows(self, category: str) -> bool:
        if category == CookieCategory.NECESSARY:
            return True
        return bool(getattr(self, str(category), False))

    @property
    def allowed_categories(self) -> list[str]:
        return [str(c) for c in CookieCategory if self.allows(c)]


def encode_choice(choice: StoredChoice) -> str:
    flags = "".join(
        "1" if on else "0" for on in (choice.preferences, choice.analytics, choice.marketing)
    )
    return f"{choice.consent_id}.{choice.version}.{flags}"


def decode_choice(value: str) -> StoredChoice | None:
    parts = value.split(".")
    if len(parts) != 3 or len(parts[2]) != 3 or set(parts[2]) - {"0", "1"}:
        return None
    try:
        consent_id = uuid.UUID(parts[0])
    except ValueError:
        return None
    preferences, analytics, marketing = (flag == "1" for flag in parts[2])
    return StoredChoice(consent_id, parts[1], preferences, analytics, marketing)


def stored_choice(*, request: HttpRequest) -> StoredChoice | None:
    """The consent cookie, if it is genuine and not expired (any banner version)."""
    try:
        value = request.get_signed_cookie(
            CONSENT_COOKIE, default=None, salt=CONSENT_SALT, max_age=CONSENT_MAX_AGE
        )
    except signing.BadSignature:
        return None
    return decode_choice(value) if value else None


def gpc_present(*, request: HttpRequest) -> bool:
    if getattr(request, "gpc", False):
        return True
    session = getattr(request, "session", None)
    return bool(session is not None and session.get(GPC_SESSION_KEY))


def signed_in_user(request: HttpRequest) -> User | None:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    return user  # type: ignore[no-any-return]


def has_opt_out(*, user: User | None) -> bool:
    return user is not None and SaleSharingOptOut.objects.filter(user=user).exists()


def signal_honored(*, request: HttpRequest) -> bool:
    """Whether to say "Opt-out preference signal honored": GPC now or a standing opt-out."""
    return gpc_present(request=request) or has_opt_out(user=signed_in_user(request))


def opt_out_for(*, user: User) -> SaleSharingOptOut | None:
    return SaleSharingOptOut.objects.filter(user=user).first()


def current_consent(*, request: HttpRequest) -> Consent:
    """What this request may do beyond strictly necessary (memoised on the request)."""
    cached = getattr(request, "_privacy_consent", None)
    if isinstance(cached, Consent):
        return cached
    stored = stored_choice(request=request)
    gpc = gpc_present(request=request)
    decided = stored is not None and stored.version == cookies.banner_version()
    wants_marketing = bool(decided and stored and stored.marketing)
    # The standing opt-out is only looked up when it could change the answer.
    opted_out = gpc or (wants_marketing and has_opt_out(user=signed_in_user(request)))
    consent = Consent(
        consent_id=stored.consent_id if stored else None,
        decided=decided,
        preferences=bool(decided and stored and stored.preferences),
        analytics=bool(decided and stored and stored.analytics),
        marketing=wants_marketing and not opted_out,
        gpc=gpc,
    )
    request._privacy_consent = consent  # type: ignore[attr-defined]
    return consent


def latest_receipt(*, consent_id: uuid.UUID | None) -> CookieConsent | None:
    if consent_id is None:
        return None
    return CookieConsent.objects.filter(consent_id=consent_id).first()


def remembered_join_details(*, request: HttpRequest) -> dict[str, str] | None:
    """The guest's name and email from the preferences cookie, if it may be used."""
    if not current_consent(request=request).preferences:
        return None
    try:
        value: Any = unsign(
            request.COOKIES[JOIN_DETAILS_COOKIE],
            salt=JOIN_DETAILS_SALT,
            max_age=JOIN_DETAILS_MAX_AGE,
        )
    except (KeyError, BadSignedValue):
        return None
    if not isinstance(value, dict):
        return None
    name, email = value.get("n"), value.get("e")
    if not isinstance(name, str) or not isinstance(email, str):
        return None
    return {"display_name": name[:80], "email": email[:254]}


def disallowed_cookie_names(*, consent: Consent) -> list[str]:
    """Registered cookies this browser must not keep under its current consent."""
    return sorted(
        {cookie.name for cookie in cookies.all_cookies() if not consent.allows(cookie.category)}
    )


def allowed_scripts(*, consent: Consent) -> list[dict[str, str]]:
    return [
        {"src": script.src, "category": str(script.category), "provider": script.provider}
        for script in cookies.third_party_scripts()
        if consent.allows(script.category)
    ]


# --- Staff lookups -----------------------------------------------------------------


def receipts_for_consent_id(*, consent_id: uuid.UUID) -> QuerySet[CookieConsent]:
    return CookieConsent.objects.filter(consent_id=consent_id).select_related("user")


def receipts_for_user(*, user: User) -> QuerySet[CookieConsent]:
    """The user's receipts and those of every browser they chose in, signed in or not."""
    their_ids = CookieConsent.objects.filter(user=user).values("consent_id")
    return CookieConsent.objects.filter(Q(user=user) | Q(consent_id__in=their_ids)).select_related(
        "user"
    )


def find_user_by_email(*, email: str) -> User | None:
    return User.objects.filter(email__iexact=email.strip()).first()


def cookie_is_secure() -> bool:
    return bool(settings.SESSION_COOKIE_SECURE)
