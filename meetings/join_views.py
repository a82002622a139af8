"""The way in for everyone with a link: the join form, the lobby page and its status poll.

Nothing here may tell a visitor whether a token belongs to a meeting that exists but is
over or cancelled: those all get the same neutral page.
"""

from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import User
from privacy.consent import selectors as consent_selectors
from privacy.consent import services as consent_services

from . import joining, links, lobby, selectors, tickets
from .errors import (
    MeetingFull,
    MeetingLocked,
    NotJoinable,
    RateLimited,
    WrongPasscode,
)
from .forms import JoinForm
from .models import Invitation, Meeting, Occurrence, ParticipantSession
from .ratelimit import client_address
from .room.actions import lobby as lobby_actions
from .room.actions import participant as participant_actions

State = ParticipantSession.State
Reason = ParticipantSession.LeaveReason

STATE_MESSAGES: dict[str, str] = {
    State.WAITING: "Waiting for the host to let you in. Keep this page open.",
    State.ADMITTED: "You're in. Keep this page open while you take part.",
    State.DENIED: "The host didn't let you in to this meeting.",
}
LEAVE_MESSAGES: dict[str, str] = {
    Reason.LEFT: "You left the meeting.",
    Reason.GAVE_UP: "You left the lobby.",
    Reason.REMOVED: "The host removed you from the meeting.",
    Reason.TIMEOUT: "Your connection was lost, so you left the meeting.",
    Reason.ENDED: "The host ended the meeting for everyone.",
}
TOO_MANY_PASSCODES = (
    "Too many wrong passcodes from your connection. For the meeting's safety, joining is "
    "paused: try again later."
)


def _session_key(token: str) -> str:
    return f"meetings.participant.{token}"


def _passcode_key(meeting: Meeting) -> str:
    return f"meetings.passcode.{meeting.pk}"


def _passcode_proof(meeting: Meeting) -> str:
    # A digest, not the passcode: a new passcode makes the remembered one stale.
    return salted_hmac("meetings.passcode-passed", meeting.passcode).hexdigest()


def _passcode_remembered(request: HttpRequest, meeting: Meeting) -> bool:
    remembered = request.session.get(_passcode_key(meeting), "")
    return bool(remembered) and constant_time_compare(remembered, _passcode_proof(meeting))


def _signed_in(request: HttpRequest) -> User | None:
    user = request.user
    return None if isinstance(user, AnonymousUser) or not user.is_authenticated else user  # type: ignore[return-value]


def _unavailable(request: HttpRequest) -> HttpResponse:
    """The one page for unknown, ended and cancelled links, byte for byte."""
    # No cookie banner: its form's CSRF token would make these pages differ.
    context = {"hide_cookie_banner": True}
    return render(request, "meetings/join_unavailable.html", context, status=404)


def _own_participant(request: HttpRequest, token: str) -> ParticipantSession | None:
    public_id = request.session.get(_session_key(token))
    if not public_id:
        return None
    return (
        ParticipantSession.objects.select_related("occurrence__meeting")
        .filter(public_id=public_id, occurrence__meeting__join_token=token)
        .first()
    )


def _viewer_zone(request: HttpRequest, meeting: Meeting) -> str:
    user = _signed_in(request)
    return (user.time_zone if user else "") or meeting.time_zone


@never_cache
@require_http_methods(["GET", "POST"])
def join(request: HttpRequest, token: str) -> HttpResponse:
    try:
        occurrence = selectors.joinable_occurrence(token=token)
    except NotJoinable:
        return _unavailable(request)
    meeting = occurrence.meeting
    user = _signed_in(request)
    is_host = user is not None and user.pk == meeting.host_id

    current = _own_participant(request, token)
    if (
        request.method == "GET"
        and current is not None
        and current.occurrence_id == occurrence.pk
        and current.state in (State.WAITING, State.ADMITTED)
    ):
        return redirect("meetings:lobby", token=token)

    invitation = links.invitation_from_link(meeting, request.GET.get(links.PERSONAL_PARAM))
    ask_passcode = (
        bool(meeting.passcode) and not is_host and not _passcode_remembered(request, meeting)
    )
    remembered_guest = request.session.get("meetings.guest", {})
    # The preferences cookie, only while its category is allowed.
    from_cookie = not remembered_guest and user is None
    if from_cookie:
        remembered_guest = consent_selectors.remembered_join_details(request=request) or {}
    form = JoinForm(
        request.POST if request.method == "POST" else None,
        ask_identity=user is None,
        ask_passcode=ask_passcode,
        locked_email=invitation.email if invitation else None,
        initial={
            "display_name": remembered_guest.get("display_name", ""),
            "email": remembered_guest.get("email", ""),
        },
    )
    context = {
        "meeting": meeting,
        "occurrence": occurrence,
        "form": form,
        "is_host": is_host,
        "joiner": user,
        "invitation": invitation,
        "viewer_zone": _viewer_zone(request, meeting),
        "remembered_in_browser": from_cookie and bool(remembered_guest),
    }
    if request.method == "GET":
        return _render_join(request, context)

    client = client_address(request)
    try:
        joining.check_flood(meeting=meeting, client=client)
    except RateLimited as exc:
        response = render(
            request, "meetings/join_slow_down.html", {"message": exc.message}, status=429
        )
        response["Retry-After"] = str(exc.retry_after)
        return response
    if not form.is_valid():
        return _render_join(request, context, status=400)
    if ask_passcode:
        try:
            joining.check_passcode(
                meeting=meeting, given=form.cleaned_data["passcode"], client=client
            )
        except WrongPasscode as exc:
            form.add_error("passcode", exc.message)
            return _render_join(request, context, status=400)
        except RateLimited as exc:
            context["locked_out"] = TOO_MANY_PASSCODES
            response = _render_join(request, context, status=429)
            response["Retry-After"] = str(exc.retry_after)
            return response
        request.session[_passcode_key(meeting)] = _passcode_proof(meeting)
    return _enter(request, form, context, token=token, occurrence=occurrence, user=user)


def _enter(
    request: HttpRequest,
    form: JoinForm,
    context: dict[str, object],
    *,
    token: str,
    occurrence: Occurrence,
    user: User | None,
) -> HttpResponse:
    invitation: Invitation | None = context["invitation"]  # type: ignore[assignment]
    if user is not None:
        display_name, email = user.get_full_name(), user.email
    else:
        display_name = form.cleaned_data["display_name"]
        email = form.cleaned_data["email"]
        request.session["meetings.guest"] = {"display_name": display_name, "email": email}
    try:
        participant = lobby_actions.request_entry(
            occurrence=occurrence,
            display_name=display_name,
            email=email,
            user=user,
            invitation=invitation,
        )
    except (MeetingFull, MeetingLocked) as exc:
        context["full"] = exc.message
        return _render_join(request, context, status=409)
    except NotJoinable:
        return _unavailable(request)
    request.session[_session_key(token)] = str(participant.public_id)
    response = redirect("meetings:lobby", token=token)
    if user is None:
        consent_services.remember_join_details(
            request=request, response=response, display_name=display_name, email=email
        )
    return response


def _render_join(
    request: HttpRequest, context: dict[str, object], *, status: int = 200
) -> HttpResponse:
    zone = str(context["viewer_zone"])
    with timezone.override(zone):
        return render(request, "meetings/join.html", context, status=status)


@never_cache
@require_GET
def lobby_page(request: HttpRequest, token: str) -> HttpResponse:
    participant = _own_participant(request, token)
    if participant is None:
        return redirect("meetings:join", token=token)
    meeting = participant.occurrence.meeting
    context = {
        "participant": participant,
        "occurrence": participant.occurrence,
        "meeting": meeting,
        "status": _status(participant),
        "is_host": participant.is_host,
    }
    with timezone.override(_viewer_zone(request, meeting)):
        return render(request, "meetings/lobby.html", context)


HOST_ADMITTED = "You're in as the host. Let guests in from the meeting's page."


def _message(participant: ParticipantSession) -> str:
    if participant.state == State.ADMITTED and participant.is_host:
        return HOST_ADMITTED
    if participant.state == State.LEFT:
        return LEAVE_MESSAGES.get(participant.leave_reason, LEAVE_MESSAGES[Reason.LEFT])
    return STATE_MESSAGES[participant.state]


def _people_present(occurrence: Occurrence) -> list[str]:
    """Names of who is in, once per person even when they are on two devices."""
    names: dict[str, str] = {}
    sessions = occurrence.sessions.filter(state=State.ADMITTED).order_by("admitted_at")
    for name, user_id, email in sessions.values_list("display_name", "user_id", "email"):
        names.setdefault(f"user:{user_id}" if user_id else f"email:{email.lower()}", name)
    return list(names.values())


def _status(participant: ParticipantSession) -> dict[str, object]:
    status: dict[str, object] = {
        "state": participant.state,
        "message": _message(participant),
        "title": participant.occurrence.meeting.title,
        "can_rejoin": participant.state == State.LEFT and participant.leave_reason != Reason.ENDED,
    }
    if participant.state == State.ADMITTED:
        status["ticket"] = tickets.issue_ticket(session_public_id=str(participant.public_id))
        status["people"] = _people_present(participant.occurrence)
    return status


@never_cache
@require_GET
def lobby_status(request: HttpRequest, token: str) -> JsonResponse:
    """The lobby page's poll: a heartbeat, and where the caller stands."""
    participant = _own_participant(request, token)
    if participant is None:
        return JsonResponse(
            {"state": "none", "message": "Open the meeting link to join."}, status=404
        )
    lobby.heartbeat(session=participant)
    participant.refresh_from_db(fields=["state", "leave_reason"])
    return JsonResponse(_status(participant))


@require_POST
def leave(request: HttpRequest, token: str) -> HttpResponse:
    participant = _own_participant(request, token)
    if participant is not None:
        # Already out (ended, denied) is fine: the lobby page says so.
        participant_actions.leave(session_id=participant.pk)
    return redirect(reverse("meetings:lobby", kwargs={"token": token}))
