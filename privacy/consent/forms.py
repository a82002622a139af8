import uuid
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from ..models import CookieConsent

Action = CookieConsent.Action


class ConsentChoiceForm(forms.Form):
    """The banner's and the settings page's one form: a button names the action."""

    action = forms.ChoiceField(
        choices=[
            (Action.ACCEPT_ALL, "Accept all"),
            (Action.REJECT_ALL, "Reject all"),
            (Action.CUSTOM, "Save my choices"),
        ],
        error_messages={
            "required": "Choose Accept all, Reject all or Save my choices.",
            "invalid_choice": "Choose Accept all, Reject all or Save my choices.",
        },
    )
    preferences = forms.BooleanField(required=False, label="Preferences")
    analytics = forms.BooleanField(required=False, label="Analytics")
    marketing = forms.BooleanField(required=False, label="Marketing")
    next = forms.CharField(required=False, max_length=2000)


class ConsentLookupForm(forms.Form):
    """Staff search: a consent id or the email address of an account."""

    q = forms.CharField(
        label="Consent id or email address",
        max_length=254,
        help_text="A consent id looks like 3f2b8c1e-5d4a-4e0f-9c7b-2a1d6e8f9b0c.",
        error_messages={"required": "Enter a consent id or an email address."},
    )

    def clean_q(self) -> dict[str, Any]:
        raw = self.cleaned_data["q"].strip()
        if "@" in raw:
            try:
                validate_email(raw)
            except ValidationError:
                raise ValidationError(
                    "That is not a valid email address.", code="invalid_email"
                ) from None
            return {"kind": "email", "email": raw.lower()}
        try:
            return {"kind": "consent_id", "consent_id": uuid.UUID(raw)}
        except ValueError:
            raise ValidationError(
                "Enter a consent id (a UUID such as 3f2b8c1e-5d4a-4e0f-9c7b-2a1d6e8f9b0c) "
                "or an email address.",
                code="invalid_query",
            ) from None
