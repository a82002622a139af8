from datetime import date, datetime, timedelta
from typing import Any

from django import forms
from django.http import HttpRequest
from django.utils import timezone

from common.header_text import reject_control_characters

from . import services
from .age_screen import consume_pass
from .models import HowHeard, UiPreferences, User
from .timezones import validate_time_zone


class DateOfBirthInput(forms.DateInput):
    input_type = "date"


class TimeZoneInput(forms.TextInput):
    """A free-text field backed by the datalist of IANA names; the page script pre-fills
    it from the browser's `Intl` time zone when it is empty."""

    def __init__(self) -> None:
        super().__init__(
            attrs={
                "list": "time-zone-names",
                "autocomplete": "off",
                "spellcheck": "false",
                "data-browser-time-zone": "",
            }
        )


class AgeScreenForm(forms.Form):
    date_of_birth = forms.DateField(
        label="Date of birth",
        widget=DateOfBirthInput(attrs={"autocomplete": "bday"}),
        error_messages={
            "required": "Enter your date of birth.",
            "invalid": "Enter a real date, such as 1990-04-27.",
        },
    )

    def clean_date_of_birth(self) -> date:
        born: date = self.cleaned_data["date_of_birth"]
        today = timezone.localdate()
        if born > today:
            raise forms.ValidationError("Your date of birth can't be in the future.")
        if born.year < today.year - 130:
            raise forms.ValidationError("Enter a real date of birth.")
        return born


class ProfileFieldsMixin(forms.Form):
    full_name = forms.CharField(
        label="Full name", max_length=150, validators=[reject_control_characters]
    )
    time_zone = forms.CharField(
        label="Time zone",
        max_length=64,
        widget=TimeZoneInput(),
        validators=[validate_time_zone],
        help_text="Meeting times are shown to you in this zone.",
    )
    how_heard = forms.ChoiceField(
        label="How did you hear about us?",
        choices=[("", "Choose one"), *HowHeard.choices],
    )
    how_heard_other = forms.CharField(
        label="Tell us where",
        max_length=200,
        required=False,
        help_text="Only needed if you chose “Other”.",
    )
    company = forms.CharField(label="Company (optional)", max_length=150, required=False)
    job_title = forms.CharField(label="Job title (optional)", max_length=150, required=False)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("how_heard") == HowHeard.OTHER:
            if not cleaned.get("how_heard_other", "").strip():
                self.add_error("how_heard_other", "Tell us where you heard about us.")
        else:
            cleaned["how_heard_other"] = ""
        return cleaned

    def profile_data(self) -> dict[str, str]:
        return {name: self.cleaned_data[name] for name in services.PROFILE_FIELDS}


class SignupProfileForm(ProfileFieldsMixin):
    """Our fields on allauth's sign-up form (ACCOUNT_SIGNUP_FORM_CLASS)."""

    marketing_opt_in = forms.BooleanField(
        label="Send me the newsletter and product news (you can unsubscribe any time)",
        required=False,
        initial=False,
    )
    usage_summary_opt_in = forms.BooleanField(
        label="Email me a monthly summary of my meetings, recordings and plan usage",
        required=False,
        initial=False,
    )

    def signup(self, request: HttpRequest, user: User) -> None:
        services.complete_signup(
            user=user,
            profile=self.profile_data(),
            age_screen_passed_at=consume_pass(request) or timezone.now(),
            marketing_opt_in=self.cleaned_data["marketing_opt_in"],
            usage_summary_opt_in=self.cleaned_data["usage_summary_opt_in"],
        )


class ProfileForm(ProfileFieldsMixin):
    pass


class UiPreferencesForm(forms.ModelForm):
    class Meta:
        model = UiPreferences
        fields = ["join_with_camera_off", "join_with_mic_off", "layout"]
        widgets = {"layout": forms.RadioSelect}


class DeleteAccountForm(forms.Form):
    password = forms.CharField(
        label="Your password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    confirm = forms.BooleanField(
        label=(
            "I understand that my account and the data listed above are deleted and cannot "
            "be restored."
        ),
        error_messages={"required": "Tick the box to confirm."},
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password(self) -> str:
        password: str = self.cleaned_data["password"]
        if not self.user.has_usable_password():
            # No social sign-in here; an account made without one (by staff) sets it first.
            raise forms.ValidationError(
                "Your account has no password yet. Set one (link below), then come back."
            )
        if not self.user.check_password(password):
            raise forms.ValidationError("That is not your password.")
        return password


class ApiTokenForm(forms.Form):
    """A new personal API token: a name to tell it by, and how long it lasts."""

    NEVER = ""
    LIFETIMES = [("30", "30 days"), ("90", "90 days"), ("365", "1 year"), (NEVER, "No expiry")]

    name = forms.CharField(max_length=100, help_text="What it is for, such as “calendar sync”.")
    expires_in = forms.ChoiceField(
        choices=LIFETIMES, initial="90", required=False, label="Expires after"
    )

    def expires_at(self) -> datetime | None:
        days = self.cleaned_data["expires_in"]
        return timezone.now() + timedelta(days=int(days)) if days else None
