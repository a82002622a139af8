"""The public side of privacy requests: the forms, the magic link, downloads, the notice.

The "sent" page finds the reference in the session that submitted the form, never in the
URL, so a shared or guessed link shows nobody else's request.
"""

from __future__ import annotations

from typing import Any

from allauth.account.decorators import reauthentication_required
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from accounts.models import User
from meetings.ratelimit import Limit, client_address, hit
from privacy.deadlines import legal_date
from privacy.models import PrivacyRequest
from recordings.media import serve_file

from . import exports, services
from .forms import CcpaRequestForm, ShineTheLightForm
from .notice_links import BadNoticeLink, read_notice_token
from .tokens import BadToken, read_verification_token

Kind = PrivacyRequest.Kind
Channel = PrivacyRequest.Channel

REQUESTS_PER_CLIENT = Limit("privacy-request", max_hits=5, window_seconds=60 * 60)
SENT_REFERENCE_KEY = "privacy.request_reference"


def _wait_message(seconds: int) -> str:
    minutes = max(1, round(seconds / 60))
    return (
        "You have sent several requests in a short time. Please try again in about "
        f"{minutes} minute{'s' if minutes != 1 else ''}; what you typed is still here."
    )


def _limited(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse | None:
    """Count one submission for this client; a response (429) when over the limit."""
    retry_after = hit(REQUESTS_PER_CLIENT, client_address(request))
    if retry_after is None:
        return None
    response = render(
        request, template, context | {"limited": _wait_message(retry_after)}, status=429
    )
    response["Retry-After"] = str(retry_after)
    return response


def _signed_in(request: HttpRequest) -> bool:
    return bool(request.user.is_authenticated)


def _submitted(request: HttpRequest, privacy_request: PrivacyRequest) -> HttpResponse:
    request.session[SENT_REFERENCE_KEY] = privacy_request.reference
    return redirect("privacy:request_sent")


@never_cache
@require_http_methods(["GET", "POST"])
# Account holders confirm their password first; visitors prove their mailbox instead.
@reauthentication_required(enabled=_signed_in)
def request_new(request: HttpRequest) -> HttpResponse:
    account: User | None = request.user if request.user.is_authenticated else None  # type: ignore[assignment]
    initial = {"kind": request.GET.get("kind")} if request.GET.get("kind") in Kind.values else {}
    form = CcpaRequestForm(
        request.POST if request.method == "POST" else None,
        account=account is not None,
        initial=initial,
    )
    context: dict[str, Any] = {
        "form": form,
        "account": account,
        "contact_email": settings.PRIVACY_CONTACT_EMAIL,
    }
    if request.method == "GET":
        return render(request, "privacy/requests/new.html", context)
    if not form.is_valid():
        return render(request, "privacy/requests/new.html", context, status=400)
    limited = _limited(request, "privacy/requests/new.html", context)
    if limited is not None:
        return limited
    data = form.cleaned_data
    details = {"changes": data["changes"]} if data["kind"] == Kind.CORRECT else {}
    if account is not None:
        privacy_request = services.submit(
            kind=data["kind"],
            channel=Channel.WEB_FORM,
            name=account.full_name or account.email,
            email=account.email,
            california_resident=True,
            user=account,
            verified=True,
            reauthenticated=True,
            details=details,
            actor=account,
        )
    else:
        privacy_request = services.submit(
            kind=data["kind"],
            channel=Channel.WEB_FORM,
            name=data["name"],
            email=data["email"],
            california_resident=True,
            details=details,
        )
    return _submitted(request, privacy_request)


@never_cache
@require_http_methods(["GET", "POST"])
def california_request(request: HttpRequest) -> HttpResponse:
    """Shine the Light: free, once a year, answered by email after the address is confirmed."""
    form = ShineTheLightForm(request.POST if request.method == "POST" else None)
    context: dict[str, Any] = {"form": form}
    if request.method == "GET":
        return render(request, "privacy/requests/california.html", context)
    if not form.is_valid():
        return render(request, "privacy/requests/california.html", context, status=400)
    limited = _limited(request, "privacy/requests/california.html", context)
    if limited is not None:
        return limited
    data = form.cleaned_data
    try:
        privacy_request = services.submit(
            kind=Kind.SHINE_THE_LIGHT,
            channel=Channel.WEB_FORM,
            name=data["name"],
            email=data["email"],
            postal_address=data["postal_address"],
            california_resident=data["california_resident"],
        )
    except services.RequestError as exc:
        form.add_error(None, str(exc))
        return render(request, "privacy/requests/california.html", context, status=400)
    return _submitted(request, privacy_request)


@never_cache
@require_GET
def request_sent(request: HttpRequest) -> HttpResponse:
    reference = request.session.get(SENT_REFERENCE_KEY)
    privacy_request = (
        PrivacyRequest.objects.filter(reference=reference).first() if reference else None
    )
    if privacy_request is None:
        return redirect("privacy:request_new")
    return render(request, "privacy/requests/sent.html", {"privacy_request": privacy_request})


def _problem(request: HttpRequest, message: str, *, status: int, title: str) -> HttpResponse:
    return render(
        request,
        "privacy/requests/problem.html",
        {"message": message, "title": title},
        status=status,
    )


# GET only asks: mail scanners open links, and they must not confirm anything.
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def request_verify(request: HttpRequest, token: str) -> HttpResponse:
    title = "This confirmation link does not work"
    if request.method in ("GET", "HEAD"):
        try:
            read_verification_token(token)
        except BadToken as exc:
            return _problem(request, str(exc), status=400, title=title)
        return render(request, "privacy/requests/verify.html", {"token": token})
    try:
        privacy_request = services.verify(token=token)
    except services.RequestError as exc:
        return _problem(request, str(exc), status=400, title=title)
    return render(request, "privacy/requests/verified.html", {"privacy_request": privacy_request})


@never_cache
@require_http_methods(["GET", "HEAD"])
def request_download(request: HttpRequest, token: str) -> HttpResponseBase:
    title = "This download link does not work"
    try:
        request_id, file_name = exports.read_download_token(token)
    except exports.BadDownload as exc:
        expired = "expired" in str(exc)
        return _problem(request, str(exc), status=410 if expired else 400, title=title)
    privacy_request = PrivacyRequest.objects.filter(pk=request_id).first()
    if privacy_request is None or privacy_request.export_file != file_name:
        return _problem(
            request,
            "This copy of your data is no longer kept. Send a new request to get a fresh one.",
            status=410,
            title=title,
        )
    if privacy_request.release_required and privacy_request.released_at is None:
        return _problem(
            request,
            "This copy of your data is still being reviewed; we email you when it is ready.",
            status=403,
            title=title,
        )
    expires = privacy_request.export_expires_at
    path = exports.export_path(privacy_request)
    if expires is None or expires <= timezone.now() or not path.is_file():
        return _problem(
            request,
            "This download link has expired, and the copy of your data was removed. "
            "Send a new request to get a fresh one.",
            status=410,
            title=title,
        )
    # Log each download once: not for HEAD, nor for a resumed (ranged) part.
    range_header = request.headers.get("Range", "")
    if request.method == "GET" and (not range_header or range_header.startswith("bytes=0-")):
        actor = request.user if request.user.is_authenticated else None
        services.record_download(request=privacy_request, actor=actor)  # type: ignore[arg-type]
    return serve_file(
        request,
        path,
        content_type="application/zip",
        download_name=f"{privacy_request.reference}-my-data.zip",
    )


@never_cache
@require_GET
def request_notice(request: HttpRequest, token: str) -> HttpResponse:
    try:
        notice = read_notice_token(token)
    except BadNoticeLink as exc:
        return _problem(request, str(exc), status=400, title="This notice link does not work")
    # Issued on the California date, the calendar its request year and covered year are on.
    issued_on = legal_date(notice.created_at)
    return render(
        request, "privacy/requests/notice.html", {"notice": notice, "issued_on": issued_on}
    )
