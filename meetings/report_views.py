"""The host's attendance report of one sitting, as a page and as CSV."""

import io
from uuid import UUID
from zoneinfo import ZoneInfo

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from feedback.selectors import for_sitting as ratings_for_sitting

from . import attendance, report
from .host_pages import host_of, own_meeting, own_occurrence, render_page, zone_name


@login_required
@require_GET
def attendance_report(request: HttpRequest, public_id: UUID, occurrence_id: UUID) -> HttpResponse:
    meeting = own_meeting(request, public_id)
    occurrence = own_occurrence(meeting, occurrence_id)
    now = timezone.now()
    rows = attendance.attendance_for(occurrence, now=now)
    zone = ZoneInfo(zone_name(host_of(request)))
    context = {
        "meeting": meeting,
        "occurrence": occurrence,
        "rows": rows,
        "summary": attendance.summarise(rows),
        "timeline": report.timeline(rows, occurrence=occurrence, zone=zone, now=now)
        if rows
        else None,
        "ratings": ratings_for_sitting(occurrence),
    }
    return render_page(request, "meetings/report.html", context)


@login_required
@require_GET
def attendance_csv(request: HttpRequest, public_id: UUID, occurrence_id: UUID) -> HttpResponse:
    meeting = own_meeting(request, public_id)
    occurrence = own_occurrence(meeting, occurrence_id)
    zone = ZoneInfo(zone_name(host_of(request)))
    out = io.StringIO()
    report.write_csv(attendance.attendance_for(occurrence), zone=zone, out=out)
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    filename = report.csv_filename(occurrence, zone=zone)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response
