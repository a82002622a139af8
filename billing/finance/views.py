"""The finance console: finance role only (anonymous visitors go to the login page, other
accounts get 403), every page and CSV. Pages that show customers' personal data write
the audit log."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.roles import FINANCE
from accounts.staff import role_required
from billing.mrr import subscription_mrr_cents
from privacy import audit

from . import exports
from .forms import SubscriptionFilter
from .selectors import accounts, metrics

PAGE_SIZE = 50
PURPOSE = "Finance review of subscriptions and payments"


def _audit(
    request: HttpRequest, action: str, target_type: str, target_id: str, **details: Any
) -> None:
    audit.record(
        actor=request.user,
        action=f"finance.{action}",
        target_type=target_type,
        target_id=target_id,
        purpose=PURPOSE,
        details=details,
    )


def _stamp() -> str:
    return timezone.now().strftime("%Y%m%d")


@role_required(FINANCE)
@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    months = metrics.monthly()
    return render(
        request,
        "billing/finance/overview.html",
        {
            "summary": metrics.summary(),
            "months": months,
            "chart": metrics.chart(months),
            "definitions": metrics.DEFINITIONS,
        },
    )


@role_required(FINANCE)
@require_GET
def metrics_csv(request: HttpRequest) -> HttpResponse:
    return exports.response(
        f"finance-metrics-{_stamp()}.csv",
        exports.MONTH_HEADER,
        exports.month_rows(metrics.monthly()),
    )


def _filtered(request: HttpRequest) -> tuple[SubscriptionFilter, Any]:
    form = SubscriptionFilter(request.GET or None)
    if request.GET and not form.is_valid():
        return form, None
    data = form.cleaned_data if request.GET else {}
    return form, accounts.subscriptions(
        plan=data.get("plan"),
        status=data.get("status", ""),
        period_end_from=data.get("period_end_from"),
        period_end_to=data.get("period_end_to"),
    )


@role_required(FINANCE)
@require_GET
def subscriptions(request: HttpRequest) -> HttpResponse:
    form, rows = _filtered(request)
    page = None
    if rows is not None:
        page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
        _audit(request, "list_subscriptions", "billing.subscription", "list", page=page.number)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "billing/finance/subscriptions.html",
        {
            "form": form,
            "page": page,
            "rows": [(s, subscription_mrr_cents(s)) for s in page] if page else [],
            "query": query.urlencode(),
        },
        status=200 if rows is not None else 400,
    )


@role_required(FINANCE)
@require_GET
def subscriptions_csv(request: HttpRequest) -> HttpResponse:
    form, rows = _filtered(request)
    if rows is None:
        errors = "; ".join(str(e) for errs in form.errors.values() for e in errs)
        return HttpResponseBadRequest(
            f"The filters are not valid: {errors}", content_type="text/plain"
        )
    _audit(request, "export_subscriptions", "billing.subscription", "csv")
    return exports.response(
        f"subscriptions-{_stamp()}.csv",
        exports.SUBSCRIPTION_HEADER,
        exports.subscription_rows(rows),
    )


@role_required(FINANCE)
@require_GET
def failed_payments(request: HttpRequest) -> HttpResponse:
    page = Paginator(accounts.failed_payments(), PAGE_SIZE).get_page(request.GET.get("page"))
    _audit(request, "list_failed_payments", "billing.invoice", "list", page=page.number)
    return render(request, "billing/finance/failed_payments.html", {"page": page})


@role_required(FINANCE)
@require_GET
def failed_payments_csv(request: HttpRequest) -> HttpResponse:
    _audit(request, "export_failed_payments", "billing.invoice", "csv")
    return exports.response(
        f"failed-payments-{_stamp()}.csv",
        exports.INVOICE_HEADER,
        exports.invoice_rows(accounts.failed_payments()),
    )


def _customer_file(stripe_customer_id: str) -> accounts.CustomerFile:
    found = accounts.customer_file(stripe_customer_id=stripe_customer_id)
    if found is None:
        raise Http404("No customer with this Stripe id.")
    return found


@role_required(FINANCE)
@require_GET
def customer(request: HttpRequest, stripe_customer_id: str) -> HttpResponse:
    file = _customer_file(stripe_customer_id)
    _audit(
        request,
        "view_customer",
        "billing.customer",
        stripe_customer_id,
        user_id=file.customer.user_id,
    )
    return render(
        request,
        "billing/finance/customer.html",
        {
            "file": file,
            "subscriptions": [(s, subscription_mrr_cents(s)) for s in file.subscriptions],
        },
    )


@role_required(FINANCE)
@require_GET
def customer_invoices_csv(request: HttpRequest, stripe_customer_id: str) -> HttpResponse:
    file = _customer_file(stripe_customer_id)
    _audit(request, "export_customer_invoices", "billing.customer", stripe_customer_id)
    return exports.response(
        f"invoices-{stripe_customer_id}.csv",
        exports.INVOICE_HEADER,
        exports.invoice_rows(file.invoices),
    )
