"""Writes for cookie consent: receipts, the consent and preferences cookies, GPC opt-outs.

Every choice leaves a receipt (no IP address, ever) and the signed consent cookie that
carries its consent id; the same id runs through every later choice of that browser.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.contrib.sessions.backends.base import SessionBase
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest, HttpResponseBase
from django.utils import timezone

from accounts.models import User
from common.signed_links import sign

from .. import audit, cookies
from ..cookies import CONSENT_COOKIE, JOIN_DETAILS_COOKIE
from ..models import CookieConsent, SaleSharingOptOut
from . import selectors
from .selectors import StoredChoice

Action = CookieConsent.Action
# A signed-in user's opt-out notes the latest signal at most this often, not on every request.
GPC_SIGNAL_REFRESH = timedelta(hours=1)


def record_choice(
    *,
    consent_id: uuid.UUID | None,
    previously_allowed: bool,
    user: User | None,
    requested: str,
    preferences: bool,
    analytics: bool,
    marketing: bool,
    gpc: bool,
    opted_out: bool,
    now: datetime | None = None,
) -> CookieConsent:
    """Write the receipt for one choice made in the banner or on the settings page.

    `requested` is accept_all, reject_all or custom; refusing everything after having
    allowed something is recorded as a withdrawal. An opt-out (GPC or a standing one)
    holds marketing off whatever was asked.
    """
    if requested == Action.ACCEPT_ALL:
        preferences = analytics = marketing = True
    elif requested == Action.REJECT_ALL:
        preferences = analytics = marketing = False
    elif requested != Action.CUSTOM:
        raise ValueError(f"{requested!r} is not a choice a visitor makes")
    marketing = marketing and not opted_out
    action = requested
    if not (preferences or analytics or marketing) and previously_allowed:
        action = Action.WITHDRAW
    with transaction.atomic():
        receipt = CookieConsent.objects.create(
            consent_id=consent_id or uuid.uuid4(),
            user=user,
            action=action,
            preferences=preferences,
            analytics=analytics,
            marketing=marketing,
            banner_version=cookies.banner_version(),
            gpc=gpc,
            created_at=now or timezone.now(),
        )
        audit.record(
            actor=user if user is not None else "visitor",
            action=f"cookie_consent.{action}",
            target_type="cookie_consent",
            target_id=str(receipt.consent_id),
            purpose="record a cookie choice",
            details={
                "preferences": preferences,
                "analytics": analytics,
                "marketing": marketing,
                "gpc": gpc,
                "banner_version": receipt.banner_version,
            },
        )
    return receipt


def set_consent_cookie(*, response: HttpResponseBase, receipt: CookieConsent) -> None:
    # HttpOnly: the page gets the choices from the server, so no script needs to read it.
    value = selectors.encode_choice(
        StoredChoice(
            consent_id=receipt.consent_id,
            version=receipt.banner_version,
            preferences=receipt.preferences,
            analytics=receipt.analytics,
            marketing=receipt.marketing,
        )
    )
    response.set_signed_cookie(
        CONSENT_COOKIE,
        value,
        salt=selectors.CONSENT_SALT,
        max_age=selectors.CONSENT_MAX_AGE,
        secure=selectors.cookie_is_secure(),
        httponly=True,
        samesite="Lax",
    )


def delete_disallowed_cookies(
    *, request: HttpRequest, response: HttpResponseBase, receipt: CookieConsent
) -> list[str]:
    """Delete every registered cookie the browser sent that the new choice does not allow."""
    deleted = []
    for cookie in cookies.all_cookies():
        allowed = cookie.category == cookies.CookieCategory.NECESSARY or getattr(
            receipt, str(cookie.category)
        )
        if not allowed and cookie.name in request.COOKIES:
            response.delete_cookie(cookie.name, samesite="Lax")
            deleted.append(cookie.name)
    return deleted


def record_gpc_signal(*, user: User, now: datetime | None = None) -> SaleSharingOptOut:
    """A request of `user` carried an opt-out preference signal: the opt-out stands."""
    now = now or timezone.now()
    opt_out, created = SaleSharingOptOut.objects.get_or_create(
        user=user,
        defaults={
            "source": SaleSharingOptOut.Source.GPC,
            "opted_out_at": now,
            "last_signal_at": now,
        },
    )
    if created:
        audit.record(
            actor=user,
            action="sale_sharing.opted_out",
            target_type="user",
            target_id=str(user.pk),
            purpose="honor a Global Privacy Control signal",
            details={"source": SaleSharingOptOut.Source.GPC},
        )
    else:
        stale = Q(last_signal_at__isnull=True) | Q(last_signal_at__lt=now - GPC_SIGNAL_REFRESH)
        if SaleSharingOptOut.objects.filter(stale, pk=opt_out.pk).update(last_signal_at=now):
            opt_out.last_signal_at = now
    return opt_out


def note_gpc_from_page(*, session: SessionBase) -> None:
    """The page's script saw navigator.globalPrivacyControl: honour it for this session."""
    session[selectors.GPC_SESSION_KEY] = True


def remember_join_details(
    *, request: HttpRequest, response: HttpResponseBase, display_name: str, email: str
) -> bool:
    """Keep a guest's name and email for the next join form, only with preferences consent."""
    if not selectors.current_consent(request=request).preferences:
        return False
    response.set_cookie(
        JOIN_DETAILS_COOKIE,
        sign({"n": display_name, "e": email}, salt=selectors.JOIN_DETAILS_SALT),
        max_age=selectors.JOIN_DETAILS_MAX_AGE,
        secure=selectors.cookie_is_secure(),
        httponly=True,
        samesite="Lax",
    )
    return True
