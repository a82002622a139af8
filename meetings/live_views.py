"""The host's controls of a live sitting on the meeting page (outside the room).

Each button is one room action (``meetings.room.actions``), the same the room's socket and
the REST API call, so the room hears of it, sockets close and media stops the same way.
"""

from collections.abc import Callable
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_POST

from .host_pages import back_to_detail, host_of, own_meeting, own_occurrence
from .models import ParticipantSession
from .room.actions import ActionRefused, Actor, lobby, moderation

Act = Callable[..., object]

# What a host can do to one participant, and what the page says when it is done.
PARTICIPANT_ACTIONS: dict[str, tuple[Act, str]] = {
    "admit": (lobby.admit, "{name} is in the meeting."),
    "deny": (lobby.deny, "{name} was not let in."),
    "remove": (moderation.remove, "{name} was removed from the meeting."),
    "mute": (moderation.mute, "{name} is muted."),
}


def _page_actor(request: HttpRequest) -> Actor:
    return Actor.account(host_of(request), door="page")


def _attempt(request: HttpRequest, act: Callable[[], object], done: str) -> bool:
    try:
        act()
    except ActionRefused as exc:
        messages.error(request, exc.message)
        return False
    messages.success(request, done)
    return True


@login_required
@require_POST
def participant_action(
    request: HttpRequest, public_id: UUID, session_id: UUID, action: str
) -> HttpResponse:
    meeting = own_meeting(request, public_id)
    participant = ParticipantSession.objects.filter(
        public_id=session_id, occurrence__meeting=meeting
    ).first()
    if participant is None:
        raise Http404("No such participant.")
    act, done = PARTICIPANT_ACTIONS[action]
    _attempt(
        request,
        lambda: act(
            occurrence_id=participant.occurrence_id,
            target=str(participant.public_id),
            by=_page_actor(request),
        ),
        done.format(name=participant.display_name),
    )
    return back_to_detail(meeting, "lobby")


@login_required
@require_POST
def admit_all(request: HttpRequest, public_id: UUID, occurrence_id: UUID) -> HttpResponse:
    meeting = own_meeting(request, public_id)
    occurrence = own_occurrence(meeting, occurrence_id)
    try:
        result = lobby.admit_all(occurrence_id=occurrence.pk, by=_page_actor(request))
    except ActionRefused as exc:
        messages.error(request, exc.message)
        return back_to_detail(meeting, "lobby")
    if result.admitted < result.waiting:
        messages.warning(
            request,
            f"Let in {result.admitted} of {result.waiting}: "
            "the meeting reached its participant limit.",
        )
    else:
        messages.success(request, f"Let in {result.admitted} waiting.")
    return back_to_detail(meeting, "lobby")


@login_required
@require_POST
def mute_all(request: HttpRequest, public_id: UUID, occurrence_id: UUID) -> HttpResponse:
    meeting = own_meeting(request, public_id)
    occurrence = own_occurrence(meeting, occurrence_id)
    lock = request.POST.get("lock_unmute") == "on"
    _attempt(
        request,
        lambda: moderation.mute_all(
            occurrence_id=occurrence.pk, by=_page_actor(request), lock_unmute=lock
        ),
        "Everyone else is muted." + (" They can't unmute until you allow it." if lock else ""),
    )
    return back_to_detail(meeting, "lobby")


@login_required
@require_POST
def lock(request: HttpRequest, public_id: UUID, occurrence_id: UUID, locked: bool) -> HttpResponse:
    meeting = own_meeting(request, public_id)
    occurrence = own_occurrence(meeting, occurrence_id)
    _attempt(
        request,
        lambda: moderation.set_locked(
            occurrence_id=occurrence.pk, locked=locked, by=_page_actor(request)
        ),
        "The meeting is locked: nobody new can join."
        if locked
        else "The meeting is unlocked: people with the link can join again.",
    )
    return back_to_detail(meeting, "lobby")


@login_required
@require_POST
def end(request: HttpRequest, public_id: UUID, occurrence_id: UUID) -> HttpResponse:
    meeting = own_meeting(request, public_id)
    occurrence = own_occurrence(meeting, occurrence_id)
    try:
        ended = moderation.end(occurrence_id=occurrence.pk, by=_page_actor(request))
    except ActionRefused as exc:
        messages.error(request, exc.message)
    else:
        if ended:
            messages.success(request, "The meeting has ended for everyone.")
        else:
            messages.info(request, "This meeting is over already.")
    return back_to_detail(meeting)
