"""The host's own copy of a meeting's calendar file."""

from uuid import UUID

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.text import slugify
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from . import ics, selectors
from .models import Meeting


@login_required
@require_GET
@never_cache  # it holds the passcode and the join link
def download_ics(request: HttpRequest, public_id: UUID) -> HttpResponse:
    meeting = selectors.meeting_of(host=request.user, public_id=str(public_id))  # type: ignore[arg-type]
    if meeting is None:
        raise Http404("No such meeting.")
    if meeting.status == Meeting.Status.CANCELLED:
        body = ics.build_cancel(meeting)
    else:
        body = ics.build_request(meeting)
    filename = f"{slugify(meeting.title) or 'meeting'}.ics"
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
