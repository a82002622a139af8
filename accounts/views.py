from allauth.account.views import SignupView as AllauthSignupView
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from privacy.requests import account_deletion
from privacy.requests.services import RequestError

from . import age_screen, selectors, services
from .forms import (
    AgeScreenForm,
    ApiTokenForm,
    DeleteAccountForm,
    ProfileForm,
    UiPreferencesForm,
)
from .models import User
from .staff import consoles_for, is_staff_member
from .timezones import time_zone_names


def home(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("meetings:dashboard")
    return render(request, "home.html")


def _refused(request: HttpRequest) -> HttpResponse:
    response = render(request, "account/signup_refused.html", status=200)
    age_screen.hold(response)
    return response


@require_http_methods(["GET", "POST"])
def age_screen_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("accounts:settings")
    if age_screen.is_held(request):
        return render(request, "account/signup_refused.html")
    form = AgeScreenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if not age_screen.is_old_enough(form.cleaned_data["date_of_birth"]):
            return _refused(request)
        age_screen.record_pass(request)
        return redirect("account_signup")
    return render(request, "account/age_screen.html", {"form": form})


class SignupView(AllauthSignupView):
    """allauth's sign-up, reachable only after the age screen in the same session."""

    def dispatch(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if not request.user.is_authenticated:
            if age_screen.is_held(request):
                return render(request, "account/signup_refused.html")
            if age_screen.passed_at(request) is None:
                return redirect("accounts:age_screen")
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs: object) -> dict[str, object]:
        context = super().get_context_data(**kwargs)
        context["time_zone_names"] = time_zone_names()
        return context


@login_required
@require_http_methods(["GET", "POST"])
def settings_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    prefs = selectors.ui_preferences_for(user=user)  # type: ignore[arg-type]
    initial = {field: getattr(user, field) for field in services.PROFILE_FIELDS}
    profile_form = ProfileForm(initial=initial, prefix="profile")
    prefs_form = UiPreferencesForm(instance=prefs, prefix="ui")
    if request.method == "POST":
        if "save_profile" in request.POST:
            profile_form = ProfileForm(request.POST, initial=initial, prefix="profile")
            if profile_form.is_valid():
                services.update_profile(user=user, profile=profile_form.profile_data())  # type: ignore[arg-type]
                messages.success(request, "Your profile is saved.")
                return redirect("accounts:settings")
        elif "save_preferences" in request.POST:
            prefs_form = UiPreferencesForm(request.POST, instance=prefs, prefix="ui")
            if prefs_form.is_valid():
                services.update_ui_preferences(user=user, **prefs_form.cleaned_data)  # type: ignore[arg-type]
                messages.success(request, "Your meeting settings are saved.")
                return redirect("accounts:settings")
    return render(
        request,
        "accounts/settings.html",
        {
            "profile_form": profile_form,
            "prefs_form": prefs_form,
            "time_zone_names": time_zone_names(),
        },
    )


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def api_tokens_view(request: HttpRequest) -> HttpResponse:
    """List, and create, personal API tokens; a new key is on this one response only."""
    user = request.user
    form = ApiTokenForm(request.POST or None)
    new_key = None
    if request.method == "POST" and form.is_valid():
        _, new_key = services.create_api_token(
            user=user,  # type: ignore[arg-type]
            name=form.cleaned_data["name"],
            expires_at=form.expires_at(),
        )
        form = ApiTokenForm()
    return render(
        request,
        "accounts/api_tokens.html",
        {
            "form": form,
            "new_key": new_key,
            "tokens": selectors.api_tokens_of(user=user),  # type: ignore[arg-type]
            "now": timezone.now(),
        },
    )


@login_required
@require_POST
def revoke_api_token_view(request: HttpRequest, token_id: int) -> HttpResponse:
    if services.revoke_api_token(user=request.user, token_id=token_id):  # type: ignore[arg-type]
        messages.success(request, "The token is revoked: it no longer works.")
    return redirect("accounts:api_tokens")


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def delete_account_view(request: HttpRequest) -> HttpResponse:
    """Delete the account as a deletion request, carried out at once (account_deletion.py)."""
    user: User = request.user  # type: ignore[assignment]
    form = DeleteAccountForm(request.POST or None, user=user)
    if request.method == "POST" and form.is_valid():
        try:
            deletion = account_deletion.delete_own_account(user=user)
        except RequestError:
            deletion = None  # a double submit: the first one has deleted it
        logout(request)
        return render(
            request,
            "accounts/deleted.html",
            {"deletion": deletion, "contact_email": settings.PRIVACY_CONTACT_EMAIL},
        )
    return render(
        request,
        "accounts/delete.html",
        {"form": form, "groups": account_deletion.preview(user=user)},
        status=400 if request.method == "POST" else 200,
    )


@login_required
def staff_index(request: HttpRequest) -> HttpResponse:
    if not is_staff_member(request.user):
        raise PermissionDenied("This page is for staff.")
    return render(request, "accounts/staff_index.html", {"consoles": consoles_for(request.user)})
