"""The console's promotions: finance creates and deactivates them, and sees what each
gave. The page and its CSV show codes, limits and totals, never a customer, so they
write no audit entry on view; creating and deactivating write one each."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import User
from accounts.roles import FINANCE
from accounts.staff import role_required
from billing import promotions
from billing.services import BillingError
from common.safe_csv import Cell

from . import exports
from .forms import DeactivateForm, PromotionForm
from .selectors import metrics
from .selectors.promotions import PromotionRow, promotion_rows


def _page(
    request: HttpRequest,
    *,
    form: PromotionForm | None = None,
    deactivate: DeactivateForm | None = None,
    status: int = 200,
) -> HttpResponse:
    before, after = metrics.mrr_now_cents()
    return render(
        request,
        "billing/finance/promotions.html",
        {
            "form": form or PromotionForm(),
            "deactivate_form": deactivate,
            "rows": promotion_rows(),
            "mrr_before": before,
            "mrr_after": after,
            "mrr_discount": before - after,
            "definition": metrics.DEFINITIONS["discounts"],
        },
        status=status,
    )


@role_required(FINANCE)
@require_http_methods(["GET", "POST"])
def promotion_list(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _page(request)
    form = PromotionForm(request.POST)
    if not form.is_valid():
        return _page(request, form=form, status=400)
    try:
        promotion = promotions.create(spec=form.spec(), actor=_user(request))
    except BillingError as exc:
        form.add_error(None, exc.message)
        return _page(request, form=form, status=400)
    messages.success(request, f"Promotion {promotion.code} created at Stripe.")
    return redirect("finance:promotions")


@role_required(FINANCE)
@require_POST
def promotion_deactivate(request: HttpRequest) -> HttpResponse:
    form = DeactivateForm(request.POST)
    if not form.is_valid():
        return _page(request, deactivate=form, status=400)
    try:
        promotion = promotions.deactivate(
            promotion=form.cleaned_data["promotion"], actor=_user(request)
        )
    except BillingError as exc:
        form.add_error(None, exc.message)
        return _page(request, deactivate=form, status=400)
    messages.success(request, f"Promotion {promotion.code} deactivated at Stripe.")
    return redirect("finance:promotions")


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


HEADER = (
    "Code",
    "Discount",
    "Duration",
    "Plans",
    "Redemption limit",
    "Expires (UTC)",
    "First-time only",
    "Active",
    "Redemptions",
    "Discount given (USD)",
    "Subscriptions carrying it now",
    "Their MRR before discount (USD)",
    "Their MRR after discount (USD)",
)


def _csv_rows(rows: list[PromotionRow]) -> list[list[Cell]]:
    return [
        [
            r.promotion.code,
            r.discount_text,
            r.duration_text,
            r.plans_text,
            r.promotion.max_redemptions,
            r.promotion.expires_at.isoformat() if r.promotion.expires_at else None,
            "yes" if r.promotion.first_time_only else "no",
            "yes" if r.promotion.active else "no",
            r.redemptions,
            exports.money(r.discount_given),
            r.subscriptions_now,
            exports.money(r.mrr_before),
            exports.money(r.mrr_after),
        ]
        for r in rows
    ]


@role_required(FINANCE)
@require_http_methods(["GET"])
def promotions_csv(request: HttpRequest) -> HttpResponse:
    return exports.response(
        f"promotions-{timezone.now():%Y%m%d}.csv", HEADER, _csv_rows(promotion_rows())
    )
