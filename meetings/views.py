"""The host's pages: dashboard, scheduling, a meeting's detail with its lobby, the report.

Every page is the signed-in host's own: someone else's meeting is a 404, exactly like a
meeting that does not exist.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit
from uuid import UUID
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.timezones import time_zone_names

from . import attendance, links, selectors, services
from .errors import NotJoinable
from .forms import EditMeetingForm, InviteForm, OccurrenceForm, ScheduleForm, add_service_errors
from .host_pages import (
    back_to_detail,
    host_of,
    own_meeting,
    own_occurrence,
    render_page,
    zone_name,
)
from .models import Invitation, Meeting, Occurrence, ParticipantSession, Recurrence
from .schedule import WEEKDAY_NAMES, to_utc

State = ParticipantSession.State
UPCOMING_SHOWN = 12
PAST_SHOWN = 12


def _absolute(request: HttpRequest, url: str) -> str:
    """A link on this site as the browser reached it (SITE_URL may differ in development)."""
    parts = urlsplit(url)
    return request.build_absolute_uri(parts.path + (f"?{parts.query}" if parts.query else ""))


def _meeting_link(request: HttpRequest, meeting: Meeting) -> str:
    return request.build_absolute_uri(links.join_path(meeting))


def _open_occurrence(meeting: Meeting) -> Occurrence | None:
    """The sitting the join link leads to now: live, else the next one."""
    if meeting.status != Meeting.Status.SCHEDULED:
        return None
    try:
        return selectors.joinable_occurrence(token=meeting.join_token)
    except NotJoinable:
        return None


def _first_error(error: ValidationError) -> str:
    return " ".join(error.messages)


_UNITS = {Recurrence.DAILY: "day", Recurrence.WEEKLY: "week", Recurrence.MONTHLY: "month"}


def describe_repeat(meeting: Meeting) -> str:
    """“Every 2 weeks on Mon, Thu, 12 times”, as a host would say it."""
    if not meeting.is_recurring:
        return "One-off meeting"
    unit = _UNITS[Recurrence(meeting.recurrence)]
    interval = meeting.recurrence_interval
    text = f"Every {unit}" if interval == 1 else f"Every {interval} {unit}s"
    if meeting.recurrence == Recurrence.WEEKLY and meeting.recurrence_weekdays:
        text += " on " + ", ".join(WEEKDAY_NAMES[day][:3] for day in meeting.recurrence_weekdays)
    if meeting.recurrence_until:
        text += f", until {meeting.recurrence_until:%-d %b %Y}"
    elif meeting.recurrence_count:
        text += f", {meeting.recurrence_count} times"
    return text


# --- Dashboard ----------------------------------------------------------------


@dataclass(frozen=True)
class UpcomingRow:
    occurrence: Occurrence
    join_url: str
    later_count: int
    repeats: str


@dataclass(frozen=True)
class PastRow:
    occurrence: Occurrence
    summary: attendance.Summary


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    host = host_of(request)
    now = timezone.now()
    upcoming = selectors.upcoming_occurrences(host=host, now=now, limit=200)
    # One row per meeting: its next sitting, and how many more are booked.
    firsts: dict[int, Occurrence] = {}
    counts: dict[int, int] = {}
    for occurrence in upcoming:
        firsts.setdefault(occurrence.meeting_id, occurrence)
        counts[occurrence.meeting_id] = counts.get(occurrence.meeting_id, 0) + 1
    upcoming_rows = [
        UpcomingRow(
            occurrence=occurrence,
            join_url=_meeting_link(request, occurrence.meeting),
            later_count=counts[meeting_id] - 1,
            repeats=describe_repeat(occurrence.meeting),
        )
        for meeting_id, occurrence in firsts.items()
    ]
    past = selectors.past_occurrences(host=host, now=now)
    summaries = attendance.summaries_for(past, now=now)
    past_rows = [
        PastRow(
            occurrence=occurrence, summary=summaries.get(occurrence.pk, attendance.EMPTY_SUMMARY)
        )
        for occurrence in past
    ]
    return render_page(
        request, "meetings/dashboard.html", {"upcoming": upcoming_rows, "past": past_rows}
    )


@login_required
@require_POST
def meet_now(request: HttpRequest) -> HttpResponse:
    meeting = services.start_instant_meeting(host=host_of(request))
    messages.success(request, "Your meeting is ready. Share the link, then join it.")
    return back_to_detail(meeting)


# --- Scheduling and editing -----------------------------------------------------


def _suggested_start(zone: str) -> datetime:
    """The next half hour on the host's clock, at least ten minutes away."""
    local = timezone.now().astimezone(ZoneInfo(zone)) + timedelta(minutes=10)
    extra = (30 - local.minute % 30) % 30
    return (local + timedelta(minutes=extra)).replace(second=0, microsecond=0)


@login_required
@require_http_methods(["GET", "POST"])
def schedule(request: HttpRequest) -> HttpResponse:
    host = host_of(request)
    start = _suggested_start(zone_name(host))
    form = ScheduleForm(
        request.POST or None,
        initial={
            "time_zone": zone_name(host),
            "starts_on": start.date(),
            "start_time": start.time(),
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            meeting = services.schedule_meeting(
                host=host,
                title=form.cleaned_data["title"],
                agenda=form.cleaned_data["agenda"],
                schedule=form.schedule(),
                invitees=form.invitee_emails(),
                **form.settings(),
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            invited = meeting.invitations.count()
            messages.success(
                request,
                "Meeting scheduled."
                + (f" Invitations are on their way to {invited} people." if invited > 1 else "")
                + (" An invitation is on its way." if invited == 1 else ""),
            )
            return back_to_detail(meeting)
    return _schedule_page(request, form, editing=None)


def _schedule_page(
    request: HttpRequest, form: ScheduleForm, *, editing: Meeting | None
) -> HttpResponse:
    """The schedule form, for a new meeting or an edit; 400 when a POST came back."""
    return render_page(
        request,
        "meetings/schedule.html",
        {"form": form, "time_zone_names": time_zone_names(), "editing": editing},
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def edit(request: HttpRequest, public_id: UUID) -> HttpResponse:
    meeting = own_meeting(request, public_id)
    if meeting.status == Meeting.Status.CANCELLED:
        messages.error(request, "This meeting is cancelled and can't be changed.")
        return back_to_detail(meeting)
    form = EditMeetingForm(request.POST or None, initial=EditMeetingForm.initial_for(meeting))
    if request.method == "POST" and form.is_valid():
        try:
            updated = services.update_meeting(
                meeting=meeting,
                title=form.cleaned_data["title"],
                agenda=form.cleaned_data["agenda"],
                schedule=form.schedule(),
                **form.settings(),
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            told = updated.sequence != meeting.sequence and meeting.invitations.exists()
            messages.success(
                request,
                "Changes saved." + (" Invitees get an updated invitation." if told else ""),
            )
            return back_to_detail(meeting)
    return _schedule_page(request, form, editing=meeting)


@login_required
@require_http_methods(["GET", "POST"])
def cancel(request: HttpRequest, public_id: UUID) -> HttpResponse:
    meeting = own_meeting(request, public_id)
    if request.method == "POST":
        try:
            services.cancel_meeting(meeting=meeting)
        except ValidationError as exc:
            messages.error(request, _first_error(exc))
            return back_to_detail(meeting)
        messages.success(request, f"“{meeting.title}” is cancelled. Invitees are told.")
        return redirect("meetings:dashboard")
    return render_page(request, "meetings/cancel.html", {"meeting": meeting, "occurrence": None})


@login_required
@require_http_methods(["GET", "POST"])
def occurrence_edit(request: HttpRequest, public_id: UUID, occurrence_id: UUID) -> HttpResponse:
    meeting = own_meeting(request, public_id)
    occurrence = own_occurrence(meeting, occurrence_id)
    zone = ZoneInfo(meeting.time_zone)
    local = occurrence.starts_at.astimezone(zone)
    form = OccurrenceForm(
        request.POST or None,
        initial={
            "starts_on": local.date(),
            "start_time": local.time(),
            "duration_minutes": occurrence.duration_minutes,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.reschedule_occurrence(
                occurrence=occurrence,
                starts_at=to_utc(form.local_start(), zone),
                duration_minutes=form.cleaned_data["duration_minutes"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc, aliases={"starts_at": "starts_on"})
        else:
            messages.success(request, "That meeting is moved. Invitees get an update.")
            return back_to_detail(meeting, "occurrences")
    status = 400 if request.method == "POST" else 200
    return render_page(
        request,
        "meetings/occurrence_edit.html",
        {"meeting": meeting, "occurrence": occurrence, "form": form},
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def occurrence_cancel(request: HttpRequest, public_id: UUID, occurrence_id: UUID) -> HttpResponse:
    meeting = own_meeting(request, public_id)
    occurrence = own_occurrence(meeting, occurrence_id)
    if request.method == "POST":
        try:
            services.cancel_occurrence(occurrence=occurrence)
        except ValidationError as exc:
            messages.error(request, _first_error(exc))
        else:
            messages.success(request, "That meeting is cancelled. Invitees are told.")
        return back_to_detail(meeting, "occurrences")
    return render_page(
        request, "meetings/cancel.html", {"meeting": meeting, "occurrence": occurrence}
    )


# --- Detail, invitations and the lobby ------------------------------------------


@dataclass(frozen=True)
class InvitationRow:
    invitation: Invitation
    personal_link: str


def _detail_context(
    request: HttpRequest, meeting: Meeting, invite_form: InviteForm | None = None
) -> dict[str, object]:
    now = timezone.now()
    occurrences = list(meeting.occurrences.all())
    # Open sittings, and the cancelled dates still ahead, so a series shows its gaps.
    coming = [
        o
        for o in occurrences
        if o.is_open(now) or (o.status == Occurrence.Status.CANCELLED and o.ends_at > now)
    ]
    coming_ids = {o.pk for o in coming}
    gone = [o for o in reversed(occurrences) if o.pk not in coming_ids]
    current = _open_occurrence(meeting)
    waiting: list[ParticipantSession] = []
    present: list[ParticipantSession] = []
    if current is not None:
        sessions = current.sessions.filter(state__in=[State.WAITING, State.ADMITTED]).order_by(
            "requested_at"
        )
        for session in sessions:
            (waiting if session.state == State.WAITING else present).append(session)
    return {
        "meeting": meeting,
        "repeats": describe_repeat(meeting),
        "join_url": _meeting_link(request, meeting),
        "coming": coming[:UPCOMING_SHOWN],
        "coming_more": max(len(coming) - UPCOMING_SHOWN, 0),
        "gone": gone[:PAST_SHOWN],
        "gone_more": max(len(gone) - PAST_SHOWN, 0),
        "current": current,
        "waiting": waiting,
        "present": present,
        "invitations": [
            InvitationRow(
                invitation=i, personal_link=_absolute(request, links.personal_join_url(i))
            )
            for i in meeting.invitations.all()
        ],
        "invite_form": invite_form or InviteForm(),
        "is_cancelled": meeting.status == Meeting.Status.CANCELLED,
    }


@login_required
@require_GET
def detail(request: HttpRequest, public_id: UUID) -> HttpResponse:
    meeting = own_meeting(request, public_id)
    return render_page(request, "meetings/detail.html", _detail_context(request, meeting))


@login_required
@require_POST
def invitation_add(request: HttpRequest, public_id: UUID) -> HttpResponse:
    meeting = own_meeting(request, public_id)
    form = InviteForm(request.POST)
    if form.is_valid():
        try:
            created = services.add_invitations(meeting=meeting, emails=form.addresses())
        except ValidationError as exc:
            add_service_errors(form, exc, aliases={"invitees": "emails"})
        else:
            if created:
                messages.success(
                    request,
                    f"Invited {len(created)} {'person' if len(created) == 1 else 'people'}.",
                )
            else:
                messages.info(request, "Everyone on that list was already invited.")
            return back_to_detail(meeting, "invitations")
    return render_page(
        request, "meetings/detail.html", _detail_context(request, meeting, form), status=400
    )


def _own_invitation(meeting: Meeting, invitation_id: int) -> Invitation:
    invitation = meeting.invitations.filter(pk=invitation_id).first()
    if invitation is None:
        raise Http404("No such invitation.")
    invitation.meeting = meeting
    return invitation


@login_required
@require_POST
def invitation_remove(request: HttpRequest, public_id: UUID, invitation_id: int) -> HttpResponse:
    meeting = own_meeting(request, public_id)
    invitation = _own_invitation(meeting, invitation_id)
    services.remove_invitation(invitation=invitation)
    messages.success(request, f"{invitation.email} is uninvited and gets a cancellation.")
    return back_to_detail(meeting, "invitations")


@login_required
@require_POST
def invitation_resend(request: HttpRequest, public_id: UUID, invitation_id: int) -> HttpResponse:
    meeting = own_meeting(request, public_id)
    invitation = _own_invitation(meeting, invitation_id)
    try:
        services.resend_invitation(invitation=invitation)
    except ValidationError as exc:
        messages.error(request, _first_error(exc))
    else:
        messages.success(request, f"The invitation is sent to {invitation.email} again.")
    return back_to_detail(meeting, "invitations")
