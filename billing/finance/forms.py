from datetime import UTC, datetime
from decimal import Decimal

from django import forms
from django.utils import timezone

from billing.models import Plan, Promotion, Subscription
from billing.promotions import PromotionSpec


class SubscriptionFilter(forms.Form):
    """The subscriptions table's filters; every one optional."""

    plan = forms.ModelChoiceField(
        queryset=Plan.objects.order_by("sort_order", "amount_cents"),
        to_field_name="slug",
        required=False,
        empty_label="Any plan",
    )
    status = forms.ChoiceField(
        choices=[("", "Any status"), *Subscription.Status.choices], required=False
    )
    period_end_from = forms.DateField(
        label="Period ends on or after",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    period_end_to = forms.DateField(
        label="Period ends on or before",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def clean(self) -> dict:  # type: ignore[type-arg]
        data = super().clean() or {}
        start, end = data.get("period_end_from"), data.get("period_end_to")
        if start and end and start > end:
            raise forms.ValidationError("The period's start must not be after its end.")
        return data


class PromotionForm(forms.Form):
    """A new promotion: a percentage or an amount off, for how long, on which plans."""

    code = forms.RegexField(
        regex=r"^[A-Za-z0-9_-]{3,40}$",
        max_length=40,
        help_text="What customers type: 3 to 40 letters, digits, - or _ (any case).",
        error_messages={"invalid": "Use 3 to 40 letters, digits, - or _."},
    )
    percent_off = forms.DecimalField(
        min_value=Decimal("0.01"), max_value=Decimal(100), decimal_places=2, required=False
    )
    amount_off = forms.DecimalField(
        label="Amount off (USD)",
        min_value=Decimal("0.01"),
        max_value=Decimal(100000),
        decimal_places=2,
        required=False,
    )
    duration = forms.ChoiceField(choices=Promotion.Duration.choices)
    duration_in_months = forms.IntegerField(
        min_value=1, max_value=36, required=False, help_text="For a repeating discount."
    )
    plans = forms.ModelMultipleChoiceField(
        queryset=Plan.objects.filter(is_active=True).exclude(amount_cents=0),
        to_field_name="slug",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every paid plan.",
    )
    max_redemptions = forms.IntegerField(
        label="Redemption limit", min_value=1, max_value=1_000_000, required=False
    )
    expires_at = forms.DateTimeField(
        label="Expires at (UTC)",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    first_time_only = forms.BooleanField(label="First-time customers only", required=False)

    def clean_code(self) -> str:
        return str(self.cleaned_data["code"]).upper()

    def clean_expires_at(self) -> datetime | None:
        value = self.cleaned_data.get("expires_at")
        if value is not None:
            # The field is labelled UTC, whatever zone the viewer is in: Django read the
            # wall time in the current zone, so read it again as UTC.
            value = timezone.make_naive(value).replace(tzinfo=UTC)
            if value <= timezone.now():
                raise forms.ValidationError("The expiry must be in the future.")
        return value

    def clean(self) -> dict:  # type: ignore[type-arg]
        data = super().clean() or {}
        percent, amount = data.get("percent_off"), data.get("amount_off")
        if (percent is None) == (amount is None) and not self.errors.keys() & {
            "percent_off",
            "amount_off",
        }:
            raise forms.ValidationError("Give either a percentage or an amount off, not both.")
        repeating = data.get("duration") == Promotion.Duration.REPEATING
        if repeating and not data.get("duration_in_months"):
            self.add_error("duration_in_months", "Say for how many months it repeats.")
        if not repeating:
            data["duration_in_months"] = None
        return data

    def spec(self) -> PromotionSpec:
        data = self.cleaned_data
        amount = data.get("amount_off")
        return PromotionSpec(
            code=data["code"],
            duration=data["duration"],
            percent_off=data.get("percent_off"),
            amount_off_cents=int(amount * 100) if amount is not None else None,
            duration_in_months=data.get("duration_in_months"),
            plans=list(data.get("plans") or []),
            max_redemptions=data.get("max_redemptions"),
            expires_at=data.get("expires_at"),
            first_time_only=bool(data.get("first_time_only")),
        )


class DeactivateForm(forms.Form):
    promotion = forms.ModelChoiceField(queryset=Promotion.objects.filter(active=True))
