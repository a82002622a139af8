from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from privacy.models import PolicyDocument, ThirdParty

from . import notices
from .documents import current_version, visible_version, visible_versions
from .forms import PolicySeenForm
from .generated import CONTACT_FORM_PATH
from .links import BadTarget, read_target, target_host
from .selectors import rendered_policy

VERSION_URL_NAMES = {
    PolicyDocument.PRIVACY: "privacy:policy_version",
    PolicyDocument.COOKIES: "privacy:cookie_policy_version",
}


@require_GET
def policy(request: HttpRequest) -> HttpResponse:
    return _show(request, PolicyDocument.PRIVACY, None)


@require_GET
def policy_version(request: HttpRequest, version: int) -> HttpResponse:
    return _show(request, PolicyDocument.PRIVACY, version)


@require_GET
def cookie_policy(request: HttpRequest) -> HttpResponse:
    return _show(request, PolicyDocument.COOKIES, None)


@require_GET
def cookie_policy_version(request: HttpRequest, version: int) -> HttpResponse:
    return _show(request, PolicyDocument.COOKIES, version)


def _show(request: HttpRequest, document: PolicyDocument, number: int | None) -> HttpResponse:
    current = current_version(document)
    shown = current if number is None else visible_version(document, number)
    if current is None or shown is None:
        raise Http404("No such version of this policy is in effect.")
    is_current = shown.version == current.version
    if is_current and shown.material and request.user.is_authenticated:
        # Reading the policy is seeing the change: the banner has done its job.
        notices.acknowledge(user=request.user, document=document, version=shown.version)
    others = [v for v in reversed(visible_versions(document)) if v.version != shown.version]
    return render(
        request,
        "privacy/policies/policy.html",
        {
            "policy": rendered_policy(version=shown),
            "current": current,
            "is_current": is_current,
            "other_versions": others,
            "current_url_name": notices.POLICY_URL_NAMES[document],
            "version_url_name": VERSION_URL_NAMES[document],
        },
    )


@require_GET
def california(request: HttpRequest) -> HttpResponse:
    marketing_partners = ThirdParty.objects.filter(
        active=True, role=ThirdParty.Role.MARKETING_PARTNER
    ).exists()
    return render(
        request,
        "privacy/policies/california.html",
        {
            "contact_email": settings.PRIVACY_CONTACT_EMAIL,
            "postal_address": settings.COMPANY_POSTAL_ADDRESS,
            "contact_form_url": CONTACT_FORM_PATH,
            "shares_for_direct_marketing": marketing_partners,
        },
    )


@login_required
@require_POST
def policy_seen(request: HttpRequest) -> HttpResponse:
    """The banner's "Got it": acknowledge a material version, then go back."""
    form = PolicySeenForm(request.POST)
    version = None
    if form.is_valid():
        version = visible_version(form.cleaned_data["document"], form.cleaned_data["version"])
    if version is None or not version.material:
        return render(
            request,
            "privacy/policies/seen_invalid.html",
            {"errors": form.errors},
            status=400,
        )
    notices.acknowledge(user=request.user, document=version.document, version=version.version)  # type: ignore[arg-type]
    target = form.cleaned_data["next"]
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = notices.policy_url(version.document)
    return redirect(target)


@require_GET
def leaving(request: HttpRequest) -> HttpResponse:
    """The notice shown before a link leaves the site; only signed targets."""
    try:
        url = read_target(request.GET.get("to", ""))
    except BadTarget as exc:
        return render(request, "privacy/policies/leaving_invalid.html", {"error": exc}, status=400)
    back = request.META.get("HTTP_REFERER", "")
    if not url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        back = ""
    return render(
        request,
        "privacy/policies/leaving.html",
        {"url": url, "host": target_host(url), "back_url": back},
    )
