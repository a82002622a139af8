"""The privacy admins' side: the request queue, one request and its actions, intake of
requests that came by post or email, and the yearly figures.

Every action posts to its own URL and calls one service; a service's refusal (a stale
page, a closed request) comes back as a message, never as an error page.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import User
from accounts.roles import PRIVACY_ADMIN
from accounts.staff import role_required
from privacy import audit, deadlines
from privacy.models import PrivacyRequest

from . import access_export, clocks, metrics, selectors, services, states
from .forms import (
    CORRECTION_LABELS,
    EraseForm,
    MetricsYearForm,
    OutcomeForm,
    QueueFilterForm,
    ReasonForm,
    StaffRequestForm,
)

Kind = PrivacyRequest.Kind
State = PrivacyRequest.State
VIEW_PURPOSE = "answer a California privacy request"
# Kinds whose answer a person writes; the others are answered by a task.
STAFF_ANSWERED = frozenset({Kind.DELETE, Kind.CORRECT})


def _staff(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _get_request(reference: str) -> PrivacyRequest:
    privacy_request = selectors.request_by_reference(reference)
    if privacy_request is None:
        raise Http404("No privacy request has this reference.")
    return privacy_request


@never_cache
@role_required(PRIVACY_ADMIN)
@require_GET
def staff_requests(request: HttpRequest) -> HttpResponse:
    form = QueueFilterForm(request.GET)
    filters = form.cleaned_data if form.is_valid() else {}
    today = selectors.today()
    rows = selectors.request_queue(
        state=filters.get("state", ""),
        kind=filters.get("kind", ""),
        overdue=filters.get("overdue", False),
        today=today,
    )
    return render(
        request,
        "privacy/requests/staff_queue.html",
        {
            "form": form,
            "rows": rows,
            "today": today,
            "filtered": any(filters.values()),
            "overdue_total": selectors.overdue_count(today=today),
            "awaiting_release_total": selectors.awaiting_release_count(),
        },
    )


def _correction_rows(privacy_request: PrivacyRequest) -> list[dict[str, str]]:
    changes = privacy_request.details.get("changes") or {}
    user = privacy_request.user
    return [
        {
            "field": field,
            "label": CORRECTION_LABELS.get(field, field),
            "current": str(getattr(user, field, "")) if user is not None else "",
            "requested": str(value),
        }
        for field, value in changes.items()
    ]


def _detail(
    request: HttpRequest,
    privacy_request: PrivacyRequest,
    *,
    status: int = 200,
    **forms: Any,
) -> HttpResponse:
    audit.record(
        actor=_staff(request),
        action="privacy_request.view",
        target_type="privacy_request",
        target_id=privacy_request.reference,
        purpose=VIEW_PURPOSE,
        details={"kind": privacy_request.kind},
    )
    state = privacy_request.state
    is_open = state in states.OPEN
    acting = state in (State.RECEIVED, State.IN_PROGRESS)
    kind = privacy_request.kind
    preview = None
    if kind == Kind.DELETE and acting:
        preview = services.erasure_preview(request=privacy_request)
    context: dict[str, Any] = {
        "privacy_request": privacy_request,
        "status": selectors.clock_status(privacy_request, today=selectors.today()),
        "received_on": deadlines.legal_date(privacy_request.received_at),
        "confirm_clock": deadlines.CCPA_CONFIRM_RECEIPT,
        "history": selectors.request_history(privacy_request),
        "is_open": is_open,
        "acting": acting,
        "can_extend": (
            is_open and kind in clocks.RESPONSE_KINDS and privacy_request.extended_at is None
        ),
        "can_start": state == State.RECEIVED and kind in STAFF_ANSWERED,
        "can_complete": acting and kind in STAFF_ANSWERED,
        "preview": preview,
        "corrections": _correction_rows(privacy_request) if kind == Kind.CORRECT else [],
        # Counts and section names only: what a release would send, not the data.
        "contents": (
            access_export.export_contents(privacy_request)
            if privacy_request.awaiting_release
            else None
        ),
        "evidence": (
            access_export.verification_evidence(privacy_request)
            if kind == Kind.ACCESS and privacy_request.verified_at
            else None
        ),
        "deny_form": forms.get("deny_form") or ReasonForm(prefix="deny"),
        "extend_form": forms.get("extend_form") or ReasonForm(prefix="extend"),
        "outcome_form": forms.get("outcome_form") or OutcomeForm(),
        "erase_form": forms.get("erase_form") or EraseForm(),
    }
    return render(request, "privacy/requests/staff_detail.html", context, status=status)


@never_cache
@role_required(PRIVACY_ADMIN)
@require_GET
def staff_request(request: HttpRequest, reference: str) -> HttpResponse:
    return _detail(request, _get_request(reference))


@never_cache
@role_required(PRIVACY_ADMIN)
@require_GET
def staff_request_status(request: HttpRequest, reference: str) -> JsonResponse:
    """What the progress bar needs while an access export is built; no personal data."""
    privacy_request = _get_request(reference)
    return JsonResponse(
        {
            "state": privacy_request.state,
            "state_label": privacy_request.get_state_display(),
            "progress": privacy_request.progress,
            "closed": privacy_request.state in states.CLOSED,
            "awaiting_release": privacy_request.awaiting_release,
        }
    )


def _back(reference: str) -> HttpResponse:
    return redirect("privacy:staff_request", reference=reference)


def _step_with_reason(
    request: HttpRequest, reference: str, *, prefix: str, step: Any, done: str
) -> HttpResponse:
    """A staff step that tells the requester why (deny, extend): the form, then the service."""
    privacy_request = _get_request(reference)
    form = ReasonForm(request.POST, prefix=prefix)
    if not form.is_valid():
        return _detail(request, privacy_request, status=400, **{f"{prefix}_form": form})
    try:
        step(request=privacy_request, reason=form.cleaned_data["reason"], actor=_staff(request))
    except services.RequestError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, done)
    return _back(reference)


@role_required(PRIVACY_ADMIN)
@require_POST
def staff_request_deny(request: HttpRequest, reference: str) -> HttpResponse:
    return _step_with_reason(
        request,
        reference,
        prefix="deny",
        step=services.deny,
        done="The request is denied; the requester was told why.",
    )


@role_required(PRIVACY_ADMIN)
@require_POST
def staff_request_extend(request: HttpRequest, reference: str) -> HttpResponse:
    return _step_with_reason(
        request,
        reference,
        prefix="extend",
        step=services.extend,
        done="Extended by 45 days; the requester was told the reason.",
    )


@role_required(PRIVACY_ADMIN)
@require_POST
def staff_request_start(request: HttpRequest, reference: str) -> HttpResponse:
    privacy_request = _get_request(reference)
    if services.start(request=privacy_request, actor=_staff(request)):
        messages.success(request, "Marked as in progress.")
    else:
        messages.error(request, "This request is no longer waiting to be started.")
    return _back(reference)


@role_required(PRIVACY_ADMIN)
@require_POST
def staff_request_complete(request: HttpRequest, reference: str) -> HttpResponse:
    privacy_request = _get_request(reference)
    form = OutcomeForm(request.POST)
    if not form.is_valid():
        return _detail(request, privacy_request, status=400, outcome_form=form)
    if privacy_request.kind not in STAFF_ANSWERED or privacy_request.state not in (
        State.RECEIVED,
        State.IN_PROGRESS,
    ):
        messages.error(request, "This request is not waiting for a written answer.")
        return _back(reference)
    try:
        services.complete(
            request=privacy_request, outcome=form.cleaned_data["outcome"], actor=_staff(request)
        )
    except services.RequestError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "The request is answered; the requester was emailed.")
    return _back(reference)


@role_required(PRIVACY_ADMIN)
@require_POST
def staff_request_erase(request: HttpRequest, reference: str) -> HttpResponse:
    privacy_request = _get_request(reference)
    form = EraseForm(request.POST)
    if not form.is_valid():
        return _detail(request, privacy_request, status=400, erase_form=form)
    try:
        lines = services.erase(request=privacy_request, actor=_staff(request))
    except services.RequestError as exc:
        messages.error(request, str(exc))
    else:
        total = sum(line.count for line in lines if line.action != "kept")
        messages.success(
            request,
            f"Deleted or anonymised {total} row{'s' if total != 1 else ''}; "
            "the requester was told what was kept and why.",
        )
    return _back(reference)


@role_required(PRIVACY_ADMIN)
@require_POST
def staff_request_correct(request: HttpRequest, reference: str) -> HttpResponse:
    privacy_request = _get_request(reference)
    changes = privacy_request.details.get("changes") or {}
    if not changes:
        messages.error(request, "This request names no changes to apply.")
        return _back(reference)
    if privacy_request.state not in (State.RECEIVED, State.IN_PROGRESS):
        messages.error(request, "This request is closed.")
        return _back(reference)
    try:
        services.correct(request=privacy_request, changes=changes, actor=_staff(request))
    except services.RequestError as exc:
        messages.error(request, str(exc))
    except ValidationError as exc:
        messages.error(request, "The correction was not applied: " + " ".join(exc.messages))
    else:
        messages.success(request, "The corrections are applied; the requester was emailed.")
    return _back(reference)


@role_required(PRIVACY_ADMIN)
@require_POST
def staff_request_release(request: HttpRequest, reference: str) -> HttpResponse:
    privacy_request = _get_request(reference)
    try:
        access_export.release_export(request=privacy_request, actor=_staff(request))
    except services.RequestError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Released: the requester was emailed the download link.")
    return _back(reference)


def _received_at(day: Any) -> datetime:
    """A past California date becomes noon there that day; today is now."""
    if day == selectors.today():
        return timezone.now()
    return deadlines.legal_moment(day, time(12))


@never_cache
@role_required(PRIVACY_ADMIN)
@require_http_methods(["GET", "POST"])
def staff_request_new(request: HttpRequest) -> HttpResponse:
    form = StaffRequestForm(
        request.POST if request.method == "POST" else None,
        initial={"received_on": selectors.today()},
    )
    if request.method == "GET" or not form.is_valid():
        status = 400 if request.method == "POST" else 200
        return render(request, "privacy/requests/staff_new.html", {"form": form}, status=status)
    data = form.cleaned_data
    email = data["email"].strip().lower()
    account = User.objects.filter(
        email__iexact=email, is_active=True, deleted_at__isnull=True
    ).first()
    try:
        privacy_request = services.submit(
            kind=data["kind"],
            channel=data["channel"],
            name=data["name"],
            email=email,
            postal_address=data["postal_address"],
            california_resident=data["california_resident"],
            user=account,
            verified=data["verified"],
            received_at=_received_at(data["received_on"]),
            actor=_staff(request),
        )
    except services.RequestError as exc:
        form.add_error(None, str(exc))
        return render(request, "privacy/requests/staff_new.html", {"form": form}, status=400)
    messages.success(
        request,
        f"Logged as {privacy_request.reference}."
        + ("" if data["verified"] else " A confirmation link was emailed to the requester."),
    )
    return redirect("privacy:staff_request", reference=privacy_request.reference)


@never_cache
@role_required(PRIVACY_ADMIN)
@require_GET
def staff_request_metrics(request: HttpRequest) -> HttpResponse:
    form = MetricsYearForm(request.GET)
    year = selectors.today().year
    if form.is_valid() and form.cleaned_data.get("year"):
        year = form.cleaned_data["year"]
    context = {
        "form": form,
        "year": year,
        "lines": metrics.yearly_metrics(year=year),
        "definitions": metrics.DEFINITIONS,
        "years": metrics.years_with_requests(),
    }
    status = 200 if form.is_valid() else 400
    return render(request, "privacy/requests/staff_metrics.html", context, status=status)
