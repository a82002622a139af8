"""The quality-assurance console. Staff reach media only through `recordings.qa`.

The list shows what a recording is (title, date, length), never who took part in it.
Opening one asks for a purpose; `qa.start_viewing` audits it and hands back a 30-minute
grant that the player's page and its media requests carry.
"""

from __future__ import annotations

from uuid import UUID

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from accounts.models import User
from accounts.roles import QUALITY_ASSURANCE
from accounts.staff import role_required

from . import media, qa, selectors
from .forms import QAOpenForm
from .models import Recording
from .views import format_duration

SHOWN = 200


def _staff(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


@role_required(QUALITY_ASSURANCE)
@require_GET
def console(request: HttpRequest) -> HttpResponse:
    recordings = list(selectors.qa_candidates()[:SHOWN])
    rows = [(r, format_duration(r.duration_seconds)) for r in recordings]
    return render(request, "recordings/staff_qa.html", {"rows": rows, "shown": SHOWN})


@never_cache
@role_required(QUALITY_ASSURANCE)
@require_http_methods(["GET", "POST"])
def open_recording(request: HttpRequest, public_id: UUID) -> HttpResponse:
    # Any recording may be asked for, so that a refused attempt is audited; the page
    # itself only ever shows what the console lists.
    recording = Recording.objects.filter(public_id=public_id).first()
    if recording is None:
        raise Http404("No such recording.")
    form = QAOpenForm(request.POST if request.method == "POST" else None)
    context: dict[str, object] = {
        "recording": recording,
        "duration": format_duration(recording.duration_seconds),
        "form": form,
    }
    if request.method == "POST" and form.is_valid():
        try:
            grant = qa.start_viewing(
                staff=_staff(request), recording=recording, purpose=form.cleaned_data["purpose"]
            )
        except qa.PurposeTooShort as exc:
            form.add_error("purpose", exc.message)
        except qa.QAUseNotAllowed as exc:
            context["refused"] = exc.message
            return render(request, "recordings/staff_qa_open.html", context, status=403)
        else:
            return redirect("recordings:staff_qa_watch", grant=grant)
    if request.method == "GET" and not recording.qa_use_allowed:
        context["refused"] = "The host turned off quality-assurance use for this recording."
    status = 400 if form.errors else 200
    return render(request, "recordings/staff_qa_open.html", context, status=status)


@never_cache
@role_required(QUALITY_ASSURANCE)
@require_GET
def watch(request: HttpRequest, grant: str) -> HttpResponse:
    try:
        recording, _ = qa.media_for_grant(staff=_staff(request), grant=grant)
    except qa.QAUseNotAllowed as exc:
        return render(
            request, "recordings/staff_qa_ended.html", {"message": exc.message}, status=403
        )
    return render(
        request,
        "recordings/staff_qa_watch.html",
        {
            "recording": recording,
            "duration": format_duration(recording.duration_seconds),
            "media_url": reverse("recordings:staff_qa_media", args=[grant]),
            "minutes": qa.GRANT_SECONDS // 60,
        },
    )


# Not `role_required` (typed for HTML views): the grant check below asks for the role.
@login_required
@require_http_methods(["GET", "HEAD"])
def media_file(request: HttpRequest, grant: str) -> HttpResponseBase:
    try:
        _, path = qa.media_for_grant(staff=_staff(request), grant=grant)
    except qa.QAUseNotAllowed as exc:
        return HttpResponse(exc.message, status=403, content_type="text/plain; charset=utf-8")
    return media.serve_file(request, path, content_type="video/mp4")
