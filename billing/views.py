from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from accounts.models import User
from accounts.roles import FINANCE
from accounts.staff import role_required

from . import gateway, mirror, mrr, services, webhooks
from .forms import OperationForm, PlanForm, issue_operation_id
from .models import Plan, Subscription


@role_required(FINANCE)
def staff_plans(request: HttpRequest) -> HttpResponse:
    return render(request, "billing/staff_plans.html", {"plans": Plan.objects.all()})


# --- The host's plans page ------------------------------------------------------------


@dataclass(frozen=True)
class PlanRow:
    plan: Plan
    price: str
    # What the button does: checkout, change, cancel (down to Free), or "" (no button).
    action: str
    label: str
    current: bool


def _price(plan: Plan) -> str:
    if plan.is_free:
        return "Free"
    amount = f"{plan.amount_cents / 100:,.2f} {plan.currency.upper()}"
    per = "month" if plan.interval == Plan.Interval.MONTH else "year"
    return f"{amount} per seat per {per}" if plan.per_seat else f"{amount} per {per}"


def _rows(
    plans: list[Plan], subscription: Subscription | None, *, signed_in: bool
) -> list[PlanRow]:
    live = subscription if subscription and subscription.status in mirror.LIVE else None
    rows = []
    for plan in plans:
        # A visitor who is not signed in has no plan to mark.
        current = signed_in and (plan.pk == live.plan_id if live else plan.is_free)
        action, label = "", ""
        if live is None and not plan.is_free:
            action, label = "checkout", f"Subscribe to {plan.name}"
        elif live is not None and plan.is_free and not live.cancel_at_period_end:
            action, label = "cancel", "Downgrade to Free at the end of the period"
        elif live is not None and not plan.is_free and (not current or plan.per_seat):
            if current:
                action, label = "change", "Change seats"
            else:
                now = mrr.monthly_amount_cents(live.plan, live.quantity)
                then = mrr.monthly_amount_cents(plan, live.quantity)
                verb = "Upgrade" if then > now else "Switch" if then == now else "Downgrade"
                action, label = "change", f"{verb} to {plan.name}"
        rows.append(PlanRow(plan, _price(plan), action, label, current))
    return rows


def _plans_page(
    request: HttpRequest, *, form: PlanForm | OperationForm | None = None, status: int = 200
) -> HttpResponse:
    user = request.user
    subscription = mirror.current_subscription(user) if user.is_authenticated else None  # type: ignore[arg-type]
    plans = list(Plan.objects.filter(is_active=True))
    checkout = request.GET.get("checkout", "")
    context = {
        "configured": gateway.is_configured(),
        "subscription": subscription,
        "live": subscription is not None and subscription.status in mirror.LIVE,
        "past_due": subscription is not None
        and subscription.status == Subscription.Status.PAST_DUE,
        "rows": _rows(plans, subscription, signed_in=user.is_authenticated),
        "operation": issue_operation_id(user) if user.is_authenticated else "",  # type: ignore[arg-type]
        "has_customer": user.is_authenticated and hasattr(user, "billing_customer"),
        "form": form,
        "checkout_result": checkout if checkout in ("success", "cancelled") else "",
        "max_seats": services.MAX_SEATS,
    }
    return render(request, "billing/plans.html", context, status=status)


@require_GET
def plans(request: HttpRequest) -> HttpResponse:
    return _plans_page(request)


def _not_configured(request: HttpRequest) -> HttpResponse | None:
    if gateway.is_configured():
        return None
    messages.error(request, "Payments are not configured on this server.")
    return _plans_page(request, status=503)


def _refused(request: HttpRequest, form: PlanForm | OperationForm, error: str) -> HttpResponse:
    form.add_error(None, error)
    return _plans_page(request, form=form, status=400)


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


@login_required
@require_POST
def checkout(request: HttpRequest) -> HttpResponse:
    """Send the host to Stripe Checkout (303: the browser follows with a GET)."""
    if (refusal := _not_configured(request)) is not None:
        return refusal
    form = PlanForm(request.POST, user=_user(request))
    if not form.is_valid():
        return _plans_page(request, form=form, status=400)
    base = request.build_absolute_uri(reverse("billing:plans"))
    try:
        url = services.start_checkout(
            user=_user(request),
            plan=form.cleaned_data["plan"],
            seats=form.cleaned_data["seats"] or 1,
            operation_id=form.cleaned_data["operation"],
            success_url=f"{base}?checkout=success",
            cancel_url=f"{base}?checkout=cancelled",
            promotion=form.cleaned_data["promotion"],
        )
    except services.BillingError as exc:
        return _refused(request, form, exc.message)
    return HttpResponseRedirect(url, status=303)


@login_required
@require_POST
def portal(request: HttpRequest) -> HttpResponse:
    """Send the host to Stripe's Customer Portal (cards, invoices, cancellation)."""
    if (refusal := _not_configured(request)) is not None:
        return refusal
    form = OperationForm(request.POST, user=_user(request))
    if not form.is_valid():
        return _plans_page(request, form=form, status=400)
    try:
        url = services.open_portal(
            user=_user(request),
            operation_id=form.cleaned_data["operation"],
            return_url=request.build_absolute_uri(reverse("billing:plans")),
        )
    except services.BillingError as exc:
        return _refused(request, form, exc.message)
    return HttpResponseRedirect(url, status=303)


@login_required
@require_POST
def change_plan(request: HttpRequest) -> HttpResponse:
    if (refusal := _not_configured(request)) is not None:
        return refusal
    form = PlanForm(request.POST, user=_user(request))
    if not form.is_valid():
        return _plans_page(request, form=form, status=400)
    try:
        change = services.change_plan(
            user=_user(request),
            plan=form.cleaned_data["plan"],
            seats=form.cleaned_data["seats"] or 1,
            operation_id=form.cleaned_data["operation"],
            promotion=form.cleaned_data["promotion"],
        )
    except services.BillingError as exc:
        return _refused(request, form, exc.message)
    subscription = change.subscription
    messages.success(
        request,
        f"You are now on {subscription.plan.name}"
        + (f" with {subscription.quantity} seats" if subscription.plan.per_seat else "")
        + (
            ". The difference for the rest of this period is charged prorated."
            if change.upgrade
            else ". The unused part of this period is credited to your next invoice."
        ),
    )
    return redirect("billing:plans")


@login_required
@require_POST
def cancel(request: HttpRequest) -> HttpResponse:
    return _cancel_or_resume(request, resume=False)


@login_required
@require_POST
def resume(request: HttpRequest) -> HttpResponse:
    return _cancel_or_resume(request, resume=True)


def _cancel_or_resume(request: HttpRequest, *, resume: bool) -> HttpResponse:
    if (refusal := _not_configured(request)) is not None:
        return refusal
    form = OperationForm(request.POST, user=_user(request))
    if not form.is_valid():
        return _plans_page(request, form=form, status=400)
    action = services.resume if resume else services.cancel_at_period_end
    try:
        subscription = action(user=_user(request), operation_id=form.cleaned_data["operation"])
    except services.BillingError as exc:
        return _refused(request, form, exc.message)
    end = subscription.current_period_end
    when = f"{end:%-d %B %Y}" if end else "the end of the period"
    messages.success(
        request,
        f"Your subscription renews again on {when}."
        if resume
        else f"Your subscription ends on {when}; you keep {subscription.plan.name} until then.",
    )
    return redirect("billing:plans")


# --- Stripe's webhook ---------------------------------------------------------------


@csrf_exempt  # Stripe signs the body instead; the signature is checked first.
@require_POST
def stripe_webhook(request: HttpRequest) -> JsonResponse:
    try:
        event, new = webhooks.receive(
            payload=request.body, signature=request.headers.get("Stripe-Signature", "")
        )
    except gateway.InvalidWebhook as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    return JsonResponse({"received": event.stripe_event_id, "duplicate": not new})
