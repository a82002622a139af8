from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from accounts.roles import PRIVACY_ADMIN
from accounts.staff import role_required

from . import audit, selectors, services
from .email_categories import Category
from .forms import EmailPreferencesForm
from .tokens import (
    BadToken,
    make_preferences_token,
    read_preferences_token,
    read_unsubscribe_token,
)

ONE_CLICK_BODY = "List-Unsubscribe=One-Click"
SAVED = "Your email preferences are saved."
SUPPRESSIONS_SHOWN = 500
SUPPRESSIONS_PURPOSE = "check who unsubscribed from which emails"


# Mail providers POST here without cookies (RFC 8058); the signed token is the authority.
@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET only asks (mail scanners follow links); POST unsubscribes.

    The suppression is written before the answer, so nothing is sent after the click;
    a task writes the consent log. The answer is a page, never another email.
    """
    try:
        email, category = read_unsubscribe_token(token)
    except BadToken as exc:
        return render(request, "privacy/unsubscribe_invalid.html", {"error": exc}, status=400)
    context = {"email": email, "category": Category(category)}
    if request.method in ("GET", "HEAD"):
        return render(request, "privacy/unsubscribe_confirm.html", context)
    one_click = request.POST.get("List-Unsubscribe") == "One-Click"
    services.unsubscribe(
        email=email,
        category=category,
        source=services.Source.ONE_CLICK if one_click else services.Source.UNSUBSCRIBE_LINK,
    )
    # The unsubscribe link proved the address, so the page offers its other choices too.
    context["preferences_token"] = make_preferences_token(email=email)
    return render(request, "privacy/unsubscribe_done.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def email_preferences(request: HttpRequest) -> HttpResponse:
    email = request.user.email  # type: ignore[union-attr]
    return _preferences_page(
        request,
        email=email,
        may_opt_in=selectors.address_is_verified(user=request.user),
        done=redirect("privacy:email_preferences"),
    )


@require_http_methods(["GET", "POST"])
def email_preferences_link(request: HttpRequest, token: str) -> HttpResponse:
    """The same choices, for anyone holding the signed link from one of our emails."""
    try:
        email = read_preferences_token(token)
    except BadToken as exc:
        return render(request, "privacy/email_preferences_invalid.html", {"error": exc}, status=400)
    # The link reached this inbox, which proves the address as well as a verified account.
    return _preferences_page(
        request,
        email=email,
        may_opt_in=True,
        done=redirect("privacy:email_preferences_link", token=token),
    )


def _preferences_page(
    request: HttpRequest, *, email: str, may_opt_in: bool, done: HttpResponse
) -> HttpResponse:
    current = selectors.preferences_for(email=email)
    form = EmailPreferencesForm(
        request.POST if request.method == "POST" else None,
        current=current,
        may_opt_in=may_opt_in,
    )
    if request.method == "POST":
        if form.is_valid():
            services.set_preferences(
                email=email, choices=form.choices(), source=services.Source.PREFERENCES
            )
            messages.success(request, SAVED)
            return done
        return render(
            request,
            "privacy/email_preferences.html",
            {"form": form, "email": email, "may_opt_in": may_opt_in},
            status=400,
        )
    return render(
        request,
        "privacy/email_preferences.html",
        {"form": form, "email": email, "may_opt_in": may_opt_in},
    )


@role_required(PRIVACY_ADMIN)
def suppression_console(request: HttpRequest) -> HttpResponse:
    search = request.GET.get("q", "")[:254]
    rows = list(selectors.suppression_list(search=search)[:SUPPRESSIONS_SHOWN])
    # The addresses shown are people's: one entry per page, naming the search by its hash.
    audit.record(
        actor=request.user,
        action="suppression_list.view",
        target_type="suppression_list",
        target_id="list",
        purpose=SUPPRESSIONS_PURPOSE,
        details={"search": audit.search_key(search), "results": len(rows)},
    )
    return render(request, "privacy/staff_suppressions.html", {"rows": rows, "search": search})
