"""Template context: the consent in force, for the banner and for consent.js."""

import json
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from .. import cookies
from . import selectors


def _banner_state(request: HttpRequest) -> dict[str, Any]:
    consent = selectors.current_consent(request=request)
    return {
        "consent": consent,
        "show_banner": not consent.decided,
        "allowed": " ".join(consent.allowed_categories),
        # Only scripts already allowed are named in the page; consent.js loads them.
        "scripts_json": json.dumps(selectors.allowed_scripts(consent=consent)),
        "blocked_cookies_json": json.dumps(selectors.disallowed_cookie_names(consent=consent)),
        "signal_honored": consent.gpc
        or (not consent.decided and selectors.signal_honored(request=request)),
        "server_saw_gpc": consent.gpc,
        "categories": categories_for_display(consent=consent) if not consent.decided else [],
        "next_query": urlencode({"next": request.get_full_path()}),
    }


def consent(request: HttpRequest) -> dict[str, Any]:
    return {"cookie_consent": SimpleLazyObject(lambda: _banner_state(request))}


def categories_for_display(*, consent: selectors.Consent | None = None) -> list[dict[str, Any]]:
    """Each category with its description, what in it is in use today, and whether the
    consent in force allows it (for the checkboxes)."""
    scripts = cookies.third_party_scripts()
    return [
        {
            "value": str(category),
            "label": category.label,
            "description": cookies.CATEGORY_DESCRIPTIONS[category],
            "cookies": cookies.cookies_in(category),
            "scripts": [s for s in scripts if s.category == category],
            "necessary": category == cookies.CookieCategory.NECESSARY,
            "checked": consent is not None and consent.allows(category),
        }
        for category in cookies.CookieCategory
    ]
