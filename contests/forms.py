"""The staff form that creates a contest, and the public entry form."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from django import forms

from accounts.timezones import time_zone_names
from common.header_text import reject_control_characters

from .eligibility import LocalTimeError, Statement, aware_in_zone, local_time, problems
from .models import YOUNGEST_ALLOWED, Contest
from .regions import COUNTRIES, US_STATES

RESERVED_SLUGS = frozenset({"staff", "confirm"})
OTHER_COUNTRY = "other"
_CODE_SPLIT = re.compile(r"[\s,;]+")


def _codes(value: str, known: dict[str, str], what: str) -> list[str]:
    codes = [code.upper() for code in _CODE_SPLIT.split(value.strip()) if code]
    unknown = [code for code in codes if code not in known]
    if unknown:
        raise forms.ValidationError(f"Unknown {what} code(s): {', '.join(unknown)}.")
    return sorted(set(codes))


class ContestForm(forms.ModelForm):
    starts_local = forms.DateTimeField(
        label="Entries open",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text="Wall-clock time in the contest's time zone.",
    )
    ends_local = forms.DateTimeField(
        label="Entries close",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text="Wall-clock time in the contest's time zone; entries made from then on "
        "are refused.",
    )
    time_zone = forms.ChoiceField(
        label="Contest time zone", choices=[(name, name) for name in time_zone_names()]
    )
    countries = forms.CharField(
        label="Open to residents of (country codes)",
        initial="US",
        help_text="ISO 3166 codes, separated by commas: US, CA, GB.",
    )
    us_states = forms.CharField(
        label="US states (codes)",
        required=False,
        help_text="Only these US states, e.g. CA, NY. Empty: every state and DC.",
    )

    class Meta:
        model = Contest
        fields = [
            "title",
            "slug",
            "prize",
            "rules_markdown",
            "free_entry_method",
            "minimum_age",
            "ask_birth_date",
            "winners_count",
            "retention_months",
        ]
        labels = {
            "rules_markdown": "Official rules (Markdown)",
            "free_entry_method": "No purchase necessary: the free method of entry",
            "ask_birth_date": "Ask for a date of birth (otherwise entrants state their age)",
            "retention_months": "Keep entries for (months after the draw)",
        }
        help_texts = {
            "slug": "The address: /contests/<slug>/.",
            "rules_markdown": "Headings, lists, links and tables. Raw HTML is shown as text.",
        }
        widgets = {
            "rules_markdown": forms.Textarea(attrs={"rows": 16}),
            "free_entry_method": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(
        self, *args: Any, default_zone: str = "America/Los_Angeles", **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["title"].validators.append(reject_control_characters)
        self.fields["minimum_age"].min_value = YOUNGEST_ALLOWED
        self.fields["minimum_age"].widget.attrs["min"] = YOUNGEST_ALLOWED
        contest = self.instance
        # A new contest starts in the zone of the one who creates it, not the list's first.
        self.initial.setdefault("time_zone", default_zone)
        if contest.pk:
            self.initial |= {
                "time_zone": contest.time_zone,
                "starts_local": f"{local_time(contest, contest.starts_at):%Y-%m-%dT%H:%M}",
                "ends_local": f"{local_time(contest, contest.ends_at):%Y-%m-%dT%H:%M}",
                "countries": ", ".join(contest.allowed_countries),
                "us_states": ", ".join(contest.allowed_us_states),
            }

    def contest_fields(self) -> dict[str, Any]:
        """The cleaned values as create_contest and update_contest take them."""
        data = self.cleaned_data
        names = [*self.Meta.fields, "time_zone", "starts_at", "ends_at"]
        return {name: data[name] for name in names} | {
            "allowed_countries": data["countries"],
            "allowed_us_states": data["us_states"],
        }

    def clean_slug(self) -> str:
        slug = self.cleaned_data["slug"].lower()
        if slug in RESERVED_SLUGS:
            raise forms.ValidationError("This address is taken by the contests pages.")
        return slug

    def clean_countries(self) -> list[str]:
        codes = _codes(self.cleaned_data["countries"], COUNTRIES, "country")
        if not codes:
            raise forms.ValidationError("Name at least one country.")
        return codes

    def clean_us_states(self) -> list[str]:
        return _codes(self.cleaned_data.get("us_states", ""), US_STATES, "state")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        zone = data.get("time_zone")
        for field in ("starts_local", "ends_local"):
            local = data.get(field)
            if zone and local is not None:
                try:
                    data[field.replace("_local", "_at")] = aware_in_zone(
                        local.replace(tzinfo=None), zone
                    )
                except LocalTimeError as exc:
                    self.add_error(field, str(exc))
        starts, ends = data.get("starts_at"), data.get("ends_at")
        if starts and ends and ends <= starts:
            self.add_error("ends_local", "Entries must close after they open.")
        if data.get("us_states") and "US" not in data.get("countries", []):
            self.add_error("us_states", "US states only apply when the US is among the countries.")
        return data


class EntryForm(forms.Form):
    name = forms.CharField(label="Full name", max_length=200)
    email = forms.EmailField(label="Email address", max_length=254)
    birth_date = forms.DateField(
        label="Date of birth", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    age_confirmed = forms.BooleanField(required=False)
    country = forms.ChoiceField(label="Country of residence")
    us_state = forms.ChoiceField(label="State (US residents)", required=False)
    rules_accepted = forms.BooleanField(
        required=False, label="I have read and accept the official rules."
    )
    marketing_opt_in = forms.BooleanField(
        required=False,
        initial=False,
        label="Also send me marketing email (the newsletter, offers and promotions). "
        "Optional: it does not change your chances, and every message has a one-click "
        "unsubscribe link.",
    )

    def __init__(self, *args: Any, contest: Contest, user: Any, today: date, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.contest, self.today = contest, today
        self.fields["name"].validators.append(reject_control_characters)
        if user is not None and user.is_authenticated:
            del self.fields["email"]  # the account's address
            self.fields["name"].initial = user.full_name
        if contest.ask_birth_date:
            del self.fields["age_confirmed"]
        else:
            del self.fields["birth_date"]
            self.fields["age_confirmed"].label = f"I am at least {contest.minimum_age} years old."
        self.fields["country"].choices = [
            ("", "Choose…"),
            *((code, COUNTRIES[code]) for code in contest.allowed_countries if code in COUNTRIES),
            (OTHER_COUNTRY, "Another country"),
        ]
        states = contest.allowed_us_states or list(US_STATES)
        self.fields["us_state"].choices = [
            ("", "Choose…"),
            *((code, US_STATES[code]) for code in states if code in US_STATES),
        ]
        if "US" not in contest.allowed_countries:
            del self.fields["us_state"]

    def statement(self) -> Statement:
        data = self.cleaned_data
        return Statement(
            country=data.get("country", ""),
            us_state=data.get("us_state", ""),
            birth_date=data.get("birth_date"),
            age_confirmed=bool(data.get("age_confirmed")),
            rules_accepted=bool(data.get("rules_accepted")),
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if "country" in data:
            for field, reason in problems(self.contest, self.statement(), today=self.today).items():
                if field in self.fields and field not in self.errors:
                    self.add_error(field, reason)
        return data
