"""What every host page shares: the signed-in host, their own meeting or sitting (someone
else's is a 404, exactly like one that does not exist), and rendering in their zone."""

from uuid import UUID

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from accounts.models import User

from . import selectors
from .models import Meeting, Occurrence


def host_of(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def zone_name(user: User) -> str:
    return user.time_zone or "UTC"


def render_page(
    request: HttpRequest, template: str, context: dict[str, object], *, status: int = 200
) -> HttpResponse:
    """Render with every time shown in the host's own zone."""
    zone = zone_name(host_of(request))
    with timezone.override(zone):
        return render(request, template, {**context, "host_zone": zone}, status=status)


def own_meeting(request: HttpRequest, public_id: UUID) -> Meeting:
    meeting = selectors.meeting_of(host=host_of(request), public_id=str(public_id))
    if meeting is None:
        raise Http404("No such meeting.")
    return meeting


def own_occurrence(meeting: Meeting, occurrence_id: UUID) -> Occurrence:
    occurrence = meeting.occurrences.filter(public_id=occurrence_id).first()
    if occurrence is None:
        raise Http404("No such occurrence.")
    occurrence.meeting = meeting
    return occurrence


def back_to_detail(meeting: Meeting, anchor: str = "") -> HttpResponse:
    url = reverse("meetings:detail", kwargs={"public_id": meeting.public_id})
    return redirect(f"{url}#{anchor}" if anchor else url)
