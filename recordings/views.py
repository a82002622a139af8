"""The host's recordings library: list, play, download, and manage one recording.

Every page is the signed-in host's own: someone else's recording is a 404, exactly like
one that does not exist. Attendees reach a recording only through a share link
(`share_views.py`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import User
from billing.entitlements import entitlements_for

from . import library, media, selectors, services, storage
from .errors import RecordingError
from .forms import (
    QAUseForm,
    RenameForm,
    RetentionForm,
    ShareLinkForm,
    add_library_error,
)
from .library import LibraryError
from .models import Recording, ShareLink

State = Recording.State
STATUS_IDS_MAX = 100
_UNSAFE_FILENAME = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')


def _host(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _own(request: HttpRequest, public_id: UUID) -> Recording:
    recording = selectors.recording_of_host(host=_host(request), public_id=public_id)
    if recording is None:
        raise Http404("No such recording.")
    return recording


def _back(recording: Recording, anchor: str = "") -> HttpResponse:
    url = reverse("recordings:detail", kwargs={"public_id": recording.public_id})
    return redirect(f"{url}#{anchor}" if anchor else url)


def format_duration(seconds: float | None) -> str:
    """“1:02:05” or “12:07”, as a player shows it; empty when unknown."""
    if seconds is None:
        return ""
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02}:{secs:02}" if hours else f"{minutes}:{secs:02}"


def download_name(recording: Recording) -> str:
    title = _UNSAFE_FILENAME.sub(" ", recording.title).strip() or "recording"
    return f"{title}.mp4"


def status_of(recording: Recording) -> dict[str, object]:
    """What the library's script needs to update a row without reloading."""
    return {
        "id": str(recording.public_id),
        "state": recording.state,
        "state_label": recording.get_state_display(),
        "progress": recording.progress,
        "failure_reason": recording.failure_reason,
        "duration_seconds": recording.duration_seconds,
        "size_bytes": recording.size_bytes,
    }


# --- The library ------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    recording: Recording
    duration: str
    purge_at: object  # when a trashed recording is deleted for good


def _rows(recordings: list[Recording]) -> list[Row]:
    return [
        Row(
            recording=r,
            duration=format_duration(r.duration_seconds),
            purge_at=library.in_trash_until(r),
        )
        for r in recordings
    ]


@login_required
@require_GET
def library_page(request: HttpRequest) -> HttpResponse:
    host = _host(request)
    rows = _rows(list(selectors.library_for(host=host)))
    trash = _rows(list(selectors.library_for(host=host, trashed=True)))
    return render(
        request,
        "recordings/library.html",
        {
            "rows": rows,
            "trash": trash,
            "trash_days": settings.RECORDINGS_TRASH_DAYS,
            "plan_retention_days": entitlements_for(host).recording_retention_days,
        },
    )


@never_cache
@login_required
@require_GET
def library_status(request: HttpRequest) -> JsonResponse:
    """`?ids=<uuid>,<uuid>`: the state of each of the host's recordings named."""
    ids = [part for part in request.GET.get("ids", "").split(",") if part][:STATUS_IDS_MAX]
    found = selectors.recordings_of_host(host=_host(request), public_ids=ids)
    return JsonResponse({"recordings": [status_of(r) for r in found]})


# --- One recording -----------------------------------------------------------------


@dataclass(frozen=True)
class ShareRow:
    link: ShareLink
    url: str
    usable: bool


def _share_rows(request: HttpRequest, recording: Recording) -> list[ShareRow]:
    now = timezone.now()
    return [
        ShareRow(
            link=link,
            url=request.build_absolute_uri(reverse("recordings:shared", args=[link.token])),
            usable=link.revoked_at is None and link.expires_at > now,
        )
        for link in selectors.share_links_for(recording=recording)
    ]


def _detail(
    request: HttpRequest,
    recording: Recording,
    *,
    status: int = 200,
    rename_form: RenameForm | None = None,
    retention_form: RetentionForm | None = None,
    share_form: ShareLinkForm | None = None,
) -> HttpResponse:
    context = {
        "recording": recording,
        "duration": format_duration(recording.duration_seconds),
        "purge_at": library.in_trash_until(recording),
        "trash_days": settings.RECORDINGS_TRASH_DAYS,
        "is_ready": recording.state == State.READY,
        "can_share": recording.state == State.READY and recording.trashed_at is None,
        "rename_form": rename_form or RenameForm(initial={"title": recording.title}),
        "retention_form": retention_form
        or RetentionForm(most=recording.retention_days, initial={"days": recording.retention_days}),
        "qa_form": QAUseForm(initial={"allowed": recording.qa_use_allowed}),
        "share_form": share_form or ShareLinkForm(),
        "share_rows": _share_rows(request, recording),
        "consents": selectors.consents_for(recording=recording),
    }
    return render(request, "recordings/detail.html", context, status=status)


@login_required
@require_GET
def detail(request: HttpRequest, public_id: UUID) -> HttpResponse:
    return _detail(request, _own(request, public_id))


@never_cache
@login_required
@require_GET
def status(request: HttpRequest, public_id: UUID) -> JsonResponse:
    return JsonResponse(status_of(_own(request, public_id)))


@login_required
@require_http_methods(["GET", "HEAD"])
def media_file(request: HttpRequest, public_id: UUID) -> HttpResponseBase:
    """The composed video, ranged for the player; `?download=1` as an attachment.

    A recording in the trash still plays for its host, who may want a copy before it goes.
    """
    recording = _own(request, public_id)
    if recording.state != State.READY:
        raise Http404("This recording is not ready.")
    name = download_name(recording) if request.GET.get("download") == "1" else None
    return media.serve_file(
        request, storage.composed_path(recording), content_type="video/mp4", download_name=name
    )


@login_required
@require_http_methods(["GET", "HEAD"])
def thumbnail(request: HttpRequest, public_id: UUID) -> HttpResponseBase:
    recording = _own(request, public_id)
    if not recording.has_thumbnail:
        raise Http404("This recording has no thumbnail.")
    return media.serve_file(request, storage.thumbnail_path(recording), content_type="image/jpeg")


# --- Changes -------------------------------------------------------------------------


@login_required
@require_POST
def rename(request: HttpRequest, public_id: UUID) -> HttpResponse:
    recording = _own(request, public_id)
    form = RenameForm(request.POST)
    if form.is_valid():
        try:
            library.rename(recording=recording, title=form.cleaned_data["title"])
        except LibraryError as exc:
            add_library_error(form, exc)
        else:
            messages.success(request, "The recording is renamed.")
            return _back(recording)
    return _detail(request, recording, status=400, rename_form=form)


@login_required
@require_POST
def retention(request: HttpRequest, public_id: UUID) -> HttpResponse:
    recording = _own(request, public_id)
    form = RetentionForm(request.POST, most=recording.retention_days)
    if form.is_valid():
        try:
            library.set_retention(recording=recording, days=form.cleaned_data["days"])
        except LibraryError as exc:
            add_library_error(form, exc)
        else:
            local = timezone.localtime(recording.expires_at)  # the viewer's zone
            messages.success(request, f"The recording is now kept until {local:%-d %b %Y}.")
            return _back(recording, "retention")
    return _detail(request, recording, status=400, retention_form=form)


@login_required
@require_POST
def qa_use(request: HttpRequest, public_id: UUID) -> HttpResponse:
    recording = _own(request, public_id)
    form = QAUseForm(request.POST)
    form.is_valid()  # a checkbox: absent means off, nothing can be invalid
    allowed = bool(form.cleaned_data.get("allowed"))
    library.set_qa_use(recording=recording, allowed=allowed)
    messages.success(
        request,
        "Quality-assurance use is allowed for this recording."
        if allowed
        else "No one on our staff will open this recording for quality assurance.",
    )
    return _back(recording, "quality")


def _simple_action(request: HttpRequest, action: Callable[[], object], done: str) -> bool:
    try:
        action()
    except (LibraryError, RecordingError) as exc:
        messages.error(request, exc.message)
        return False
    messages.success(request, done)
    return True


@login_required
@require_POST
def trash(request: HttpRequest, public_id: UUID) -> HttpResponse:
    recording = _own(request, public_id)
    days = settings.RECORDINGS_TRASH_DAYS
    if _simple_action(
        request,
        lambda: library.trash(recording=recording),
        f"“{recording.title}” is in the trash. You can restore it within {days} days.",
    ):
        return redirect("recordings:library")
    return _back(recording)


@login_required
@require_POST
def restore(request: HttpRequest, public_id: UUID) -> HttpResponse:
    recording = _own(request, public_id)
    _simple_action(
        request, lambda: library.restore(recording=recording), f"“{recording.title}” is restored."
    )
    return _back(recording)


@login_required
@require_POST
def delete_forever(request: HttpRequest, public_id: UUID) -> HttpResponse:
    recording = _own(request, public_id)
    if _simple_action(
        request,
        lambda: library.delete_forever(recording=recording),
        f"“{recording.title}” is deleted for good.",
    ):
        return redirect(f"{reverse('recordings:library')}#trash")
    return _back(recording)


@login_required
@require_POST
def retry(request: HttpRequest, public_id: UUID) -> HttpResponse:
    recording = _own(request, public_id)
    _simple_action(
        request,
        lambda: services.retry_processing(recording=recording, by=_host(request)),
        "Processing starts again. This page shows its progress.",
    )
    if request.POST.get("next") == "library":
        return redirect("recordings:library")
    return _back(recording)


# --- Share links --------------------------------------------------------------------


@login_required
@require_POST
def share_create(request: HttpRequest, public_id: UUID) -> HttpResponse:
    recording = _own(request, public_id)
    form = ShareLinkForm(request.POST)
    if form.is_valid():
        try:
            link = library.create_share_link(
                recording=recording,
                by=_host(request),
                expires_in_days=form.cleaned_data["expires_in_days"],
                passcode=form.cleaned_data["passcode"],
                allow_download=form.cleaned_data["allow_download"],
            )
        except LibraryError as exc:
            add_library_error(form, exc)
        else:
            messages.success(
                request,
                "Share link created. Copy it below"
                + (", and send the passcode separately." if link.has_passcode else "."),
            )
            return _back(recording, "sharing")
    return _detail(request, recording, status=400, share_form=form)


@login_required
@require_POST
def share_revoke(request: HttpRequest, public_id: UUID, link_id: int) -> HttpResponse:
    recording = _own(request, public_id)
    link = recording.share_links.filter(pk=link_id).first()
    if link is None:
        raise Http404("No such share link.")
    library.revoke_share_link(link=link)
    messages.success(request, "That link no longer works.")
    return _back(recording, "sharing")
