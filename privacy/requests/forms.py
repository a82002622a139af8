"""Forms for privacy requests, the ledger and the registry. They check shape; services act."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms

from accounts.timezones import validate_time_zone
from common.header_text import reject_control_characters
from privacy.deadlines import legal_today
from privacy.models import Disclosure, PrivacyRequest, ThirdParty
from privacy.pi_categories import PersonalInfoCategory

from .services import CORRECTABLE_FIELDS

Kind = PrivacyRequest.Kind
Channel = PrivacyRequest.Channel
State = PrivacyRequest.State

# Shine the Light has its own form (california_request); these are the CCPA rights.
CCPA_KINDS = [
    (kind.value, kind.label)
    for kind in (Kind.ACCESS, Kind.DELETE, Kind.CORRECT, Kind.OPT_OUT, Kind.LIMIT)
]
CORRECTION_LABELS = {
    "full_name": "Full name",
    "company": "Company",
    "job_title": "Job title",
    "time_zone": "Time zone",
}
RESIDENCE_LABEL = "I am a California resident"


class CcpaRequestForm(forms.Form):
    """The rights request; visitors without an account also give name and email."""

    kind = forms.ChoiceField(
        label="What would you like us to do?", choices=CCPA_KINDS, widget=forms.RadioSelect
    )
    name = forms.CharField(
        label="Your name",
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
        validators=[reject_control_characters],
    )
    email = forms.EmailField(
        label="Your email address",
        max_length=254,
        help_text="The address you used with us, for example to join meetings. "
        "We send a link to it to confirm the request is yours.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    california_resident = forms.BooleanField(
        label=RESIDENCE_LABEL,
        error_messages={"required": "These rights are for California residents; tick the box."},
    )
    correct_fields = forms.MultipleChoiceField(
        label="Which details are wrong? (correction requests)",
        choices=[(field, CORRECTION_LABELS[field]) for field in CORRECTABLE_FIELDS],
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    full_name = forms.CharField(
        label="Correct full name",
        max_length=150,
        required=False,
        validators=[reject_control_characters],
    )
    company = forms.CharField(label="Correct company", max_length=150, required=False)
    job_title = forms.CharField(label="Correct job title", max_length=150, required=False)
    time_zone = forms.CharField(
        label="Correct time zone",
        max_length=64,
        required=False,
        help_text="For example America/Los_Angeles.",
    )

    def __init__(self, *args: Any, account: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.account = account
        if account:
            # The account names the requester; re-authentication proved who they are.
            del self.fields["name"]
            del self.fields["email"]

    def correction_fields(self) -> list[forms.BoundField]:
        return [self[field] for field in CORRECTABLE_FIELDS]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("kind") != Kind.CORRECT:
            data["changes"] = {}
            return data
        chosen = data.get("correct_fields") or []
        if not chosen:
            self.add_error("correct_fields", "Choose at least one detail to correct.")
            return data
        changes: dict[str, str] = {}
        for field in chosen:
            value = (data.get(field) or "").strip()
            if field in ("full_name", "time_zone") and not value:
                self.add_error(field, "Give the correct value.")
                continue
            if field == "time_zone" and value:
                try:
                    validate_time_zone(value)
                except forms.ValidationError as exc:
                    self.add_error(field, exc)
                    continue
            changes[field] = value
        data["changes"] = changes
        return data


class ShineTheLightForm(forms.Form):
    name = forms.CharField(
        label="Your name",
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
        validators=[reject_control_characters],
    )
    email = forms.EmailField(
        label="Your email address",
        max_length=254,
        help_text="We send the notice here, after you confirm the address with a link.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    postal_address = forms.CharField(
        label="Postal address (optional)",
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "street-address"}),
    )
    california_resident = forms.BooleanField(
        label=RESIDENCE_LABEL,
        error_messages={
            "required": "The California Privacy Rights Notice is for California residents; "
            "tick the box to confirm you are one."
        },
    )


class QueueFilterForm(forms.Form):
    state = forms.ChoiceField(
        label="State",
        required=False,
        choices=[
            ("", "Any"),
            ("open", "Open"),
            ("awaiting_release", "Awaiting release"),
            *State.choices,
        ],
    )
    kind = forms.ChoiceField(label="Kind", required=False, choices=[("", "Any"), *Kind.choices])
    overdue = forms.BooleanField(label="Overdue only", required=False)


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label="Reason (the requester is told)",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Give the reason; the requester is told."},
    )

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError("Give the reason; the requester is told.")
        return reason


class OutcomeForm(forms.Form):
    outcome = forms.CharField(
        label="Answer to the requester",
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": "Write the answer the requester receives."},
    )

    def clean_outcome(self) -> str:
        outcome = self.cleaned_data["outcome"].strip()
        if not outcome:
            raise forms.ValidationError("Write the answer the requester receives.")
        return outcome


class EraseForm(forms.Form):
    confirm = forms.BooleanField(
        label="I have read the dry run above; delete this person's information now",
        error_messages={"required": "Tick the box to confirm the deletion."},
    )


class StaffRequestForm(forms.Form):
    """A request that arrived by post or email, typed in by staff."""

    kind = forms.ChoiceField(label="Kind of request", choices=Kind.choices)
    channel = forms.ChoiceField(
        label="How it arrived",
        choices=[
            (Channel.DESIGNATED_POST.value, Channel.DESIGNATED_POST.label),
            (Channel.DESIGNATED_EMAIL.value, Channel.DESIGNATED_EMAIL.label),
            (Channel.ELSEWHERE.value, Channel.ELSEWHERE.label),
        ],
        help_text="Shine the Light requests sent to another address get 150 days, not 30.",
    )
    received_on = forms.DateField(
        label="Received on (California date)", widget=forms.DateInput(attrs={"type": "date"})
    )
    name = forms.CharField(label="Requester's name", max_length=150)
    email = forms.EmailField(label="Requester's email address", max_length=254)
    postal_address = forms.CharField(
        label="Postal address (optional)",
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    california_resident = forms.BooleanField(
        label="The requester states they are a California resident", required=False
    )
    verified = forms.BooleanField(
        label="I checked the requester's identity; no confirmation link is needed",
        required=False,
        help_text="Leave unticked to email them a link that confirms the address.",
    )

    def clean_received_on(self) -> date:
        received = self.cleaned_data["received_on"]
        if received > legal_today():  # the California date, like every legal clock
            raise forms.ValidationError("The date it was received cannot be in the future.")
        return received

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("kind") == Kind.SHINE_THE_LIGHT and not data.get("california_resident"):
            self.add_error(
                "california_resident",
                "The California Privacy Rights Notice is for California residents.",
            )
        return data


class MetricsYearForm(forms.Form):
    year = forms.IntegerField(min_value=2000, max_value=2100, required=False)


def _category_field(label: str, *, required: bool) -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(
        label=label,
        choices=PersonalInfoCategory.choices,
        required=required,
        widget=forms.CheckboxSelectMultiple,
    )


class PartyChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name} ({obj.get_role_display()})"


class LegalDisclosureForm(forms.Form):
    third_party = PartyChoiceField(
        label="Disclosed to",
        queryset=ThirdParty.objects.filter(active=True),
        help_text="Usually a party registered with the role “Legal compliance”.",
    )
    email = forms.EmailField(
        label="Whose information (email address)",
        max_length=254,
        help_text="If an account uses this address, the row names the account.",
    )
    categories = _category_field("Categories disclosed", required=True)
    description = forms.CharField(label="What was disclosed, and why", max_length=300)
    reference = forms.CharField(
        label="The legal request's reference",
        max_length=200,
        help_text="The subpoena, warrant or court order number.",
        error_messages={"required": "A legal disclosure needs the request's reference."},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        legal = ThirdParty.objects.filter(active=True, role=ThirdParty.Role.LEGAL).first()
        if legal is not None and not self.is_bound:
            self.initial.setdefault("third_party", legal.pk)


class LedgerFilterForm(forms.Form):
    third_party = forms.ModelChoiceField(
        label="Third party", queryset=ThirdParty.objects.all(), required=False, empty_label="Any"
    )
    purpose = forms.ChoiceField(
        label="Purpose", required=False, choices=[("", "Any"), *Disclosure.Purpose.choices]
    )
    personal = forms.ChoiceField(
        label="Personal information",
        required=False,
        choices=[("", "Any"), ("yes", "Personal"), ("no", "Non-personal")],
    )
    since = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label="To (inclusive)", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", "The end date is before the start date.")
        return data


class ThirdPartyForm(forms.ModelForm):
    categories = _category_field("Categories of personal information they receive", required=False)
    privacy_policy_url = forms.URLField(
        label="Their privacy policy (URL, optional)", required=False, assume_scheme="https"
    )

    class Meta:
        model = ThirdParty
        fields = [
            "slug",
            "name",
            "postal_address",
            "role",
            "business",
            "purpose",
            "categories",
            "confidentiality_agreement",
            "privacy_policy_url",
            "active",
        ]
        widgets = {"postal_address": forms.Textarea(attrs={"rows": 3})}
        help_texts = {
            "slug": "A short identifier the code uses, e.g. stripe.",
            "business": "For a marketing partner: examples of what they market.",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            # The code names parties by slug (billing sends to "stripe"); it stays put.
            self.fields["slug"].disabled = True
