"""The public side of a share link: the passcode form, then the player and its media.

Anyone with a usable link may watch (signed in or not); an unlocked passcode is remembered
in the session. Unknown tokens are 404; revoked and expired links, and recordings that are
gone, are 410 with a page that says which.
"""

from __future__ import annotations

from django.contrib.auth.hashers import check_password
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.crypto import constant_time_compare, salted_hmac
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from meetings.ratelimit import Limit, client_address, forgive, hit

from . import library, media, selectors, storage
from .forms import SharePasscodeForm
from .models import ShareLink
from .selectors import ShareProblem
from .views import download_name, format_duration

WRONG_PASSCODES = Limit("share-passcode", max_hits=5, window_seconds=10 * 60)


def _unlock_key(link: ShareLink) -> str:
    return f"recordings.share.{link.pk}"


def _unlock_proof(link: ShareLink) -> str:
    # A digest of the stored hash, not a flag: nothing in the session is worth stealing.
    return salted_hmac("recordings.share-unlocked", link.token + link.passcode_hash).hexdigest()


def _unlocked(request: HttpRequest, link: ShareLink) -> bool:
    if not link.has_passcode:
        return True
    remembered = request.session.get(_unlock_key(link), "")
    return bool(remembered) and constant_time_compare(remembered, _unlock_proof(link))


def _page(
    request: HttpRequest, template: str, context: dict[str, object], *, status: int = 200
) -> HttpResponse:
    response = render(request, template, context, status=status)
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _unavailable(request: HttpRequest, token: str) -> HttpResponse:
    problem = selectors.share_problem(token=token)
    status = 404 if problem is ShareProblem.UNKNOWN else 410
    return _page(
        request,
        "recordings/share_unavailable.html",
        {"message": problem.value, "expired": problem is ShareProblem.EXPIRED},
        status=status,
    )


@never_cache
@require_http_methods(["GET", "POST"])
def shared(request: HttpRequest, token: str) -> HttpResponse:
    link = selectors.share_link_by_token(token=token)
    if link is None:
        return _unavailable(request, token)
    if not _unlocked(request, link):
        return _passcode(request, link)
    if request.method == "POST":
        return redirect("recordings:shared", token=token)
    library.record_share_view(link=link)
    recording = link.recording
    media_url = reverse("recordings:shared_media", args=[token])
    return _page(
        request,
        "recordings/share.html",
        {
            "link": link,
            "recording": recording,
            "duration": format_duration(recording.duration_seconds),
            "media_url": media_url,
            "download_url": f"{media_url}?download=1" if link.allow_download else None,
        },
    )


def _passcode(request: HttpRequest, link: ShareLink) -> HttpResponse:
    form = SharePasscodeForm(request.POST if request.method == "POST" else None)
    context: dict[str, object] = {"form": form, "link": link}
    if request.method == "GET" or not form.is_valid():
        return _page(
            request, "recordings/share_passcode.html", context, status=400 if form.errors else 200
        )
    subject = f"{link.pk}:{client_address(request)}"
    retry_after = hit(WRONG_PASSCODES, subject)
    if retry_after is not None:
        minutes = max(1, round(retry_after / 60))
        context["locked_out"] = (
            "Too many wrong passcodes from your connection. Try again in about "
            f"{minutes} minute{'s' if minutes != 1 else ''}."
        )
        response = _page(request, "recordings/share_passcode.html", context, status=429)
        response["Retry-After"] = str(retry_after)
        return response
    if not check_password(form.cleaned_data["passcode"].strip(), link.passcode_hash):
        form.add_error("passcode", "That passcode is not right. Check it and try again.")
        return _page(request, "recordings/share_passcode.html", context, status=400)
    forgive(WRONG_PASSCODES, subject)
    request.session.cycle_key()  # a new session id once it opens something
    request.session[_unlock_key(link)] = _unlock_proof(link)
    return redirect("recordings:shared", token=link.token)


@require_http_methods(["GET", "HEAD"])
def shared_media(request: HttpRequest, token: str) -> HttpResponseBase:
    link = selectors.share_link_by_token(token=token)
    if link is None:
        return _unavailable(request, token)
    if not _unlocked(request, link):
        return HttpResponse(
            "Enter the passcode on the recording's page first.",
            status=403,
            content_type="text/plain; charset=utf-8",
        )
    wants_download = request.GET.get("download") == "1"
    if wants_download and not link.allow_download:
        return HttpResponse(
            "This link lets you watch the recording, not download it.",
            status=403,
            content_type="text/plain; charset=utf-8",
        )
    recording = link.recording
    return media.serve_file(
        request,
        storage.composed_path(recording),
        content_type="video/mp4",
        download_name=download_name(recording) if wants_download else None,
    )
