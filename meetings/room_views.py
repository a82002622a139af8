"""The meeting room page: the browser client's shell, for an admitted participant only.

Everything the client needs to start arrives as data attributes on one element (the page
has no inline script, as the CSP demands): who the participant is, a fresh guest ticket
for the websocket, where to fetch the next one, the ICE servers and the user's saved
room settings.
"""

import json

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.models import Layout, UiPreferences, User
from accounts.selectors import survey_due, ui_preferences_for
from feedback.tokens import make_token as survey_token

from . import tickets
from .join_views import _own_participant, _signed_in
from .media.ice import browser_ice_servers
from .models import ParticipantSession


def websocket_path(token: str) -> str:
    """The room's websocket route (Channels routes cannot be reversed)."""
    return f"/ws/meetings/{token}/"


def _ice_servers(participant: ParticipantSession) -> str:
    """The STUN/TURN servers, as the room's snapshot gives them: the page can start its
    peer connection while the websocket is still connecting."""
    servers = browser_ice_servers(
        settings.ICE_SERVER_URLS,
        turn_secret=settings.TURN_SHARED_SECRET or None,
        user_id=str(participant.public_id),
        ttl=settings.TURN_CREDENTIAL_TTL_SECONDS,
    )
    return json.dumps(servers, separators=(",", ":"))


def _survey_token(participant: ParticipantSession, user: User | None) -> str:
    """The end screen's survey token, or "" when this person is not to be asked: signed-in
    people answer at most once per 24 hours (their settings say when they last did)."""
    if user is not None and not survey_due(user=user, now=timezone.now()):
        return ""
    return survey_token(session_public_id=str(participant.public_id))


def _preferences(request: HttpRequest) -> UiPreferences:
    user = _signed_in(request)
    return ui_preferences_for(user=user) if user is not None else UiPreferences()


@never_cache
@require_GET
def room(request: HttpRequest, token: str) -> HttpResponse:
    participant = _own_participant(request, token)
    if participant is None or participant.state != ParticipantSession.State.ADMITTED:
        return redirect("meetings:join", token=token)
    meeting = participant.occurrence.meeting
    preferences = _preferences(request)
    user = _signed_in(request)
    context = {
        "meeting": meeting,
        "participant": participant,
        "ticket": tickets.issue_ticket(session_public_id=str(participant.public_id)),
        "websocket_path": websocket_path(token),
        "ice_servers": _ice_servers(participant),
        "status_url": reverse("meetings:lobby_status", kwargs={"token": token}),
        "join_url": reverse("meetings:join", kwargs={"token": token}),
        "leave_url": reverse("meetings:leave", kwargs={"token": token}),
        "exit_url": reverse("meetings:dashboard") if user is not None else reverse("home"),
        "camera_off": preferences.join_with_camera_off,
        "mic_off": preferences.join_with_mic_off,
        "layout": preferences.layout or Layout.GALLERY,
        "survey_token": _survey_token(participant, user),
        "survey_url": reverse("feedback:survey"),
    }
    return render(request, "meetings/room.html", context)
