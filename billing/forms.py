"""Forms of the host's billing page.

Each form carries an operation id the page issued (signed for this account): a double
click or a resubmitted form sends the same one, so Stripe sees the same idempotency key
and does the work once.
"""

from __future__ import annotations

import secrets
from typing import Any

from django import forms

from accounts.models import User
from common.signed_links import BadSignedValue, sign, unsign

from .models import Plan
from .promotions import check_code
from .services import MAX_SEATS, BillingError

OPERATION_MAX_AGE_SECONDS = 24 * 3600


def _salt(user: User) -> str:
    # Per account: an operation id issued to one account is refused for another.
    return f"billing-operation-{user.pk}"


def issue_operation_id(user: User) -> str:
    return sign(secrets.token_hex(8), salt=_salt(user))


class OperationForm(forms.Form):
    operation = forms.CharField(max_length=200, widget=forms.HiddenInput)

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_operation(self) -> str:
        try:
            nonce = unsign(
                self.cleaned_data["operation"],
                salt=_salt(self.user),
                max_age=OPERATION_MAX_AGE_SECONDS,
            )
        except BadSignedValue as exc:
            raise forms.ValidationError(
                "This page has expired. Reload it and try again.", code="operation"
            ) from exc
        return str(nonce)


class PlanForm(OperationForm):
    plan = forms.SlugField(max_length=40)
    seats = forms.IntegerField(
        min_value=1,
        max_value=MAX_SEATS,
        required=False,
        help_text=f"Seats for a per-seat plan (1 to {MAX_SEATS}).",
    )
    promotion_code = forms.CharField(max_length=40, required=False, label="Promotion code")

    def clean_plan(self) -> Plan:
        plan = Plan.objects.filter(slug=self.cleaned_data["plan"], is_active=True).first()
        if plan is None:
            raise forms.ValidationError("There is no such plan on sale.", code="plan")
        return plan

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        plan = cleaned.get("plan")
        missing = not cleaned.get("seats") and "seats" not in self.errors
        if isinstance(plan, Plan) and plan.per_seat and missing:
            self.add_error("seats", "Say how many seats you need.")
        cleaned["promotion"] = None
        code = cleaned.get("promotion_code") or ""
        if isinstance(plan, Plan) and code.strip():
            try:
                cleaned["promotion"] = check_code(code, user=self.user, plan=plan)
            except BillingError as exc:
                self.add_error("promotion_code", exc.message)
        return cleaned
