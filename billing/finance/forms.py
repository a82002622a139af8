from django import forms

from billing.models import Plan, Subscription


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
