"""Staff pages for the disclosure ledger and the third-party registry (privacy admins).

The ledger names people, so every view and export of it writes the audit log.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts.models import User
from accounts.roles import PRIVACY_ADMIN
from accounts.staff import role_required
from common.safe_csv import csv_lines

from . import audit, registry
from .disclosures import DisclosureRefused, record_disclosure
from .models import Disclosure, ThirdParty
from .pi_categories import PersonalInfoCategory
from .requests import selectors
from .requests.forms import LedgerFilterForm, LegalDisclosureForm, ThirdPartyForm

SHOWN = 500
LEDGER_PURPOSE = "keep the disclosure ledger"
CSV_HEADER = (
    "time_utc",
    "third_party",
    "purpose",
    "personal",
    "user_id",
    "user_email",
    "subject_key",
    "categories",
    "description",
    "reference",
    "recorded_by",
)


def _staff(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _category_labels(values: list[str]) -> str:
    labels = []
    for value in values:
        try:
            labels.append(str(PersonalInfoCategory(value).label))
        except ValueError:
            labels.append(value)
    return "; ".join(labels)


def _csv_rows(rows: Any) -> Iterator[list[str]]:
    # Descriptions are typed by people: the shared writer defuses formula-like cells.
    for row in rows.iterator(chunk_size=2000):
        yield [
            row.at.astimezone(UTC).replace(microsecond=0).isoformat(),
            row.third_party.name,
            row.get_purpose_display(),
            "yes" if row.personal else "no",
            str(row.user_id or ""),
            row.user.email if row.user else "",
            row.subject_key,
            _category_labels(row.categories),
            row.description,
            row.reference,
            row.recorded_by.email if row.recorded_by else "",
        ]


def _ledger_csv(rows: Any) -> StreamingHttpResponse:
    response = StreamingHttpResponse(
        csv_lines(CSV_HEADER, _csv_rows(rows)), content_type="text/csv; charset=utf-8"
    )
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="disclosure-ledger-{stamp}.csv"'
    return response


def _ledger_page(
    request: HttpRequest, *, legal_form: LegalDisclosureForm, status: int = 200
) -> HttpResponseBase:
    filters_form = LedgerFilterForm(request.GET)
    filters = filters_form.cleaned_data if filters_form.is_valid() else {}
    rows = selectors.ledger(
        third_party=filters.get("third_party"),
        purpose=filters.get("purpose", ""),
        personal=filters.get("personal", ""),
        since=filters.get("since"),
        until=filters.get("until"),
    )
    as_csv = request.method == "GET" and request.GET.get("format") == "csv"
    audit.record(
        actor=_staff(request),
        action="privacy_ledger.export" if as_csv else "privacy_ledger.view",
        target_type="disclosure_ledger",
        target_id="ledger",
        purpose=LEDGER_PURPOSE,
        details={key: str(value) for key, value in filters.items() if value},
    )
    if as_csv and filters_form.is_valid():
        return _ledger_csv(rows)
    return render(
        request,
        "privacy/requests/staff_ledger.html",
        {
            "filters_form": filters_form,
            "legal_form": legal_form,
            "rows": list(rows[:SHOWN]),
            "shown": SHOWN,
            "filtered": any(filters.values()),
            "query": request.GET.urlencode(),
        },
        status=status if filters_form.is_valid() else 400,
    )


@never_cache
@role_required(PRIVACY_ADMIN)  # type: ignore[arg-type]  # the CSV streams
@require_http_methods(["GET", "POST"])
def staff_ledger(request: HttpRequest) -> HttpResponseBase:
    if request.method == "GET":
        return _ledger_page(request, legal_form=LegalDisclosureForm())
    form = LegalDisclosureForm(request.POST)
    if not form.is_valid():
        return _ledger_page(request, legal_form=form, status=400)
    data = form.cleaned_data
    email = data["email"].strip().lower()
    account = User.objects.filter(email__iexact=email).first()
    try:
        disclosure = record_disclosure(
            third_party=data["third_party"],
            purpose=Disclosure.Purpose.LEGAL,
            description=data["description"],
            categories=data["categories"],
            user=account,
            email=email,
            reference=data["reference"],
            recorded_by=_staff(request),
        )
    except DisclosureRefused as exc:
        form.add_error(None, str(exc))
        return _ledger_page(request, legal_form=form, status=400)
    audit.record(
        actor=_staff(request),
        action="disclosure.recorded",
        target_type="disclosure",
        target_id=str(disclosure.pk),
        purpose=LEDGER_PURPOSE,
        details={"third_party": data["third_party"].slug, "reference": disclosure.reference},
    )
    messages.success(request, "The legal disclosure is recorded in the ledger.")
    return redirect("privacy:staff_ledger")


def _registry_page(
    request: HttpRequest, *, form: ThirdPartyForm, editing: ThirdParty | None, status: int = 200
) -> HttpResponse:
    return render(
        request,
        "privacy/requests/staff_third_parties.html",
        {
            "parties": list(selectors.third_parties()),
            "form": form,
            "editing": editing,
            "marketing_role": ThirdParty.Role.MARKETING_PARTNER,
        },
        status=status,
    )


def _save(request: HttpRequest, form: ThirdPartyForm, editing: ThirdParty | None) -> HttpResponse:
    if not form.is_valid():
        return _registry_page(request, form=form, editing=editing, status=400)
    party = registry.save_third_party(
        party=form.save(commit=False), changed=list(form.changed_data), actor=_staff(request)
    )
    messages.success(request, f"{party.name} is saved in the registry.")
    return redirect("privacy:staff_third_parties")


@never_cache
@role_required(PRIVACY_ADMIN)
@require_http_methods(["GET", "POST"])
def staff_third_parties(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _registry_page(request, form=ThirdPartyForm(), editing=None)
    return _save(request, ThirdPartyForm(request.POST), None)


@never_cache
@role_required(PRIVACY_ADMIN)
@require_http_methods(["GET", "POST"])
def staff_third_party_edit(request: HttpRequest, slug: str) -> HttpResponse:
    party = get_object_or_404(ThirdParty, slug=slug)
    if request.method == "GET":
        return _registry_page(request, form=ThirdPartyForm(instance=party), editing=party)
    return _save(request, ThirdPartyForm(request.POST, instance=party), party)
