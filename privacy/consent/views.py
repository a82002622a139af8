"""The cookie banner's choice, the cookie settings page, GPC, and the staff lookup."""

from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.roles import PRIVACY_ADMIN
from accounts.staff import role_required

from .. import audit
from ..models import CookieConsent
from . import context, selectors, services
from .forms import ConsentChoiceForm, ConsentLookupForm

GPC_STATEMENT = {"gpc": True, "lastUpdate": "2026-11-28"}
STAFF_LOOKUP_PURPOSE = "Show what a person agreed to about cookies, and when"


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _safe_next(request: HttpRequest, candidate: str) -> str:
    """`candidate` if it stays on this site, else "" (never an open redirect)."""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return ""


def _settings_context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    consent = selectors.current_consent(request=request)
    user = selectors.signed_in_user(request)
    back = _safe_next(request, request.GET.get("next", ""))
    here = reverse("privacy:cookie_settings")
    return {
        "consent": consent,
        "receipt": selectors.latest_receipt(consent_id=consent.consent_id),
        "categories": context.categories_for_display(consent=consent),
        "signal_honored": selectors.signal_honored(request=request),
        "opt_out": selectors.opt_out_for(user=user) if user else None,
        "on_cookie_settings": True,
        "back_url": back,
        "here": f"{here}?{urlencode({'next': back})}" if back else here,
        **extra,
    }


@require_POST
def cookie_consent(request: HttpRequest) -> HttpResponseBase:
    """Record a choice; a plain form POST goes back to `next`, consent.js gets JSON."""
    form = ConsentChoiceForm(request.POST)
    if not form.is_valid():
        if _wants_json(request):
            errors = [str(e) for field in form.errors.values() for e in field]
            return JsonResponse({"error": " ".join(errors)}, status=400)
        context_ = _settings_context(request, form=form)
        return render(request, "privacy/consent/settings.html", context_, status=400)
    stored = selectors.stored_choice(request=request)
    user = selectors.signed_in_user(request)
    gpc = selectors.gpc_present(request=request)
    receipt = services.record_choice(
        consent_id=stored.consent_id if stored else None,
        previously_allowed=bool(
            stored and (stored.preferences or stored.analytics or stored.marketing)
        ),
        user=user,
        requested=form.cleaned_data["action"],
        preferences=form.cleaned_data["preferences"],
        analytics=form.cleaned_data["analytics"],
        marketing=form.cleaned_data["marketing"],
        gpc=gpc,
        opted_out=gpc or selectors.has_opt_out(user=user),
    )
    consent = selectors.Consent(
        consent_id=receipt.consent_id,
        decided=True,
        preferences=receipt.preferences,
        analytics=receipt.analytics,
        marketing=receipt.marketing,
        gpc=gpc,
    )
    response: HttpResponseBase
    if _wants_json(request):
        response = JsonResponse(
            {
                "consent_id": str(receipt.consent_id),
                "action": receipt.action,
                "allowed": consent.allowed_categories,
                "gpc": gpc,
                "scripts": selectors.allowed_scripts(consent=consent),
                "blocked_cookies": selectors.disallowed_cookie_names(consent=consent),
            }
        )
    else:
        # `next` comes from the settings page's form or the banner's form action.
        candidate = form.cleaned_data["next"] or request.GET.get("next", "")
        response = redirect(_safe_next(request, candidate) or reverse("home"))
    services.set_consent_cookie(response=response, receipt=receipt)
    services.delete_disallowed_cookies(request=request, response=response, receipt=receipt)
    return response


@never_cache
@require_GET
def cookie_settings(request: HttpRequest) -> HttpResponse:
    context_ = _settings_context(request, form=ConsentChoiceForm())
    return render(request, "privacy/consent/settings.html", context_)


def _same_origin(request: HttpRequest) -> bool:
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site == "same-origin"
    origin = request.headers.get("Origin", "")
    return origin == f"{request.scheme}://{request.get_host()}"


# Without a CSRF token, so that pages need not carry one: this endpoint can only make the
# site do less (an opt-out), and it still refuses requests from other sites.
@csrf_exempt
@require_POST
def gpc_signal(request: HttpRequest) -> JsonResponse:
    """consent.js saw navigator.globalPrivacyControl on a request that had no header."""
    if not _same_origin(request):
        return JsonResponse({"error": "Send the signal from this site's own pages."}, status=403)
    services.note_gpc_from_page(session=request.session)
    user = selectors.signed_in_user(request)
    if user is not None:
        services.record_gpc_signal(user=user)
    response = JsonResponse({"recorded": True})
    stored = selectors.stored_choice(request=request)
    consent = selectors.current_consent(request=request)
    if stored is not None and consent.decided and stored.marketing:
        # The cookie still says marketing: write down that the signal turned it off.
        receipt = services.record_choice(
            consent_id=stored.consent_id,
            previously_allowed=True,
            user=user,
            requested=CookieConsent.Action.CUSTOM,
            preferences=stored.preferences,
            analytics=stored.analytics,
            marketing=False,
            gpc=True,
            opted_out=True,
        )
        services.set_consent_cookie(response=response, receipt=receipt)
        services.delete_disallowed_cookies(request=request, response=response, receipt=receipt)
    return response


@require_GET
def gpc_json(request: HttpRequest) -> JsonResponse:
    """/.well-known/gpc.json: this site honours Global Privacy Control."""
    return JsonResponse(GPC_STATEMENT)


@role_required(PRIVACY_ADMIN)
@require_http_methods(["GET"])
def staff_consents(request: HttpRequest) -> HttpResponse:
    form = ConsentLookupForm(request.GET if "q" in request.GET else None)
    result: dict[str, Any] = {}
    not_found = ""
    if form.is_bound and form.is_valid():
        query = form.cleaned_data["q"]
        if query["kind"] == "email":
            person = selectors.find_user_by_email(email=query["email"])
            if person is None:
                not_found = "No account uses that email address."
            else:
                receipts = list(selectors.receipts_for_user(user=person))
                result = {"person": person, "receipts": receipts, "opt_outs": _opt_outs([person])}
                audit.record(
                    actor=request.user,
                    action="cookie_consent.lookup",
                    target_type="user",
                    target_id=str(person.pk),
                    purpose=STAFF_LOOKUP_PURPOSE,
                    details={"by": "email", "receipts": len(receipts)},
                )
        else:
            consent_id = query["consent_id"]
            receipts = list(selectors.receipts_for_consent_id(consent_id=consent_id))
            if not receipts:
                not_found = "No receipt has that consent id."
            else:
                people = {r.user for r in receipts if r.user is not None}
                result = {
                    "consent_id": consent_id,
                    "receipts": receipts,
                    "opt_outs": _opt_outs(sorted(people, key=lambda u: u.pk)),
                }
                audit.record(
                    actor=request.user,
                    action="cookie_consent.lookup",
                    target_type="cookie_consent",
                    target_id=str(consent_id),
                    purpose=STAFF_LOOKUP_PURPOSE,
                    details={"by": "consent_id", "receipts": len(receipts)},
                )
    status = 400 if form.is_bound and form.errors else 200
    return render(
        request,
        "privacy/consent/staff_consents.html",
        {"form": form, "not_found": not_found, **result},
        status=status,
    )


def _opt_outs(people: list[Any]) -> list[dict[str, Any]]:
    return [{"user": p, "opt_out": selectors.opt_out_for(user=p)} for p in people]
