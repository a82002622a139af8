"""The REST API for a live sitting: see who is there and waiting, and moderate it.

Each endpoint is one room action (``meetings.room.actions``), the same the room's socket
and the meeting page call: the room hears of it, sockets close and media stops the same
way. A refused action answers 403 (not the host), 404 (no such participant there) or 409
(the sitting's state stands in the way) with ``{"detail", "code"}``.
"""

from collections.abc import Callable
from typing import Any
from uuid import UUID

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from .api import HostedMeetingMixin
from .errors import ActionRefused
from .models import Occurrence, ParticipantSession
from .room.actions import Actor, lobby, moderation

State = ParticipantSession.State


class LiveParticipantSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    name = serializers.CharField(source="display_name")
    email = serializers.EmailField()
    is_host = serializers.BooleanField()
    audio_muted = serializers.BooleanField()
    video_off = serializers.BooleanField()
    hand_raised = serializers.BooleanField()
    screen_sharing = serializers.BooleanField()
    since = serializers.DateTimeField(source="admitted_at")


class WaitingSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    name = serializers.CharField(source="display_name")
    email = serializers.EmailField()
    since = serializers.DateTimeField(source="requested_at")


class LiveStateSerializer(serializers.Serializer):
    occurrence = serializers.UUIDField(source="public_id")
    status = serializers.ChoiceField(choices=Occurrence.Status.choices)
    locked = serializers.BooleanField()
    unmute_locked = serializers.BooleanField()
    participants = LiveParticipantSerializer(many=True)
    waiting = WaitingSerializer(many=True)


class ActionErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField(
        required=False, help_text="The room protocol's error code, when the room refused."
    )


class MuteAllSerializer(serializers.Serializer):
    lock_unmute = serializers.BooleanField(
        default=False, help_text="Also stop them from unmuting until you allow it."
    )


REFUSALS = {
    403: OpenApiResponse(ActionErrorSerializer, description="Not the host of this meeting."),
    404: OpenApiResponse(ActionErrorSerializer, description="No such meeting or participant."),
    409: OpenApiResponse(
        ActionErrorSerializer, description="The sitting's state stands in the way."
    ),
}


def live_state(occurrence: Occurrence) -> dict[str, Any]:
    occurrence.refresh_from_db()
    sessions = occurrence.sessions.filter(state__in=[State.WAITING, State.ADMITTED]).order_by(
        "requested_at", "pk"
    )
    return {
        "public_id": occurrence.public_id,
        "status": occurrence.status,
        "locked": occurrence.locked,
        "unmute_locked": occurrence.unmute_locked,
        "participants": [s for s in sessions if s.state == State.ADMITTED],
        "waiting": [s for s in sessions if s.state == State.WAITING],
    }


class _LiveView(HostedMeetingMixin, generics.GenericAPIView):
    serializer_class = LiveStateSerializer

    def actor(self) -> Actor:
        return Actor.account(self.request.user, door="api")

    def respond(self, occurrence: Occurrence) -> Response:
        return Response(LiveStateSerializer(live_state(occurrence)).data)


class LiveStateView(_LiveView):
    @extend_schema(
        summary="Who is in a sitting and who waits",
        responses={200: LiveStateSerializer, 404: REFUSALS[404]},
    )
    def get(self, request: Request, meeting_id: UUID, occurrence_id: UUID) -> Response:
        return self.respond(self.get_occurrence())


ParticipantAct = Callable[..., object]
PARTICIPANT_ACTIONS: dict[str, tuple[ParticipantAct, str]] = {
    "admit": (lobby.admit, "Let someone in from the lobby"),
    "deny": (lobby.deny, "Turn someone away from the lobby"),
    "remove": (moderation.remove, "Remove a participant: their sockets close with 4003"),
    "mute": (moderation.mute, "Mute a participant (they can unmute themselves)"),
}


def participant_action_view(action: str) -> type[_LiveView]:
    act, summary = PARTICIPANT_ACTIONS[action]

    class ParticipantActionView(_LiveView):
        @extend_schema(
            summary=summary,
            request=None,
            responses={200: LiveStateSerializer, **REFUSALS},
            operation_id=f"live_participant_{action}",
        )
        def post(
            self, request: Request, meeting_id: UUID, occurrence_id: UUID, participant_id: UUID
        ) -> Response:
            occurrence = self.get_occurrence()
            act(occurrence_id=occurrence.pk, target=str(participant_id), by=self.actor())
            return self.respond(occurrence)

    ParticipantActionView.__name__ = f"Live{action.title()}View"
    return ParticipantActionView


class AdmitAllView(_LiveView):
    @extend_schema(
        summary="Let everyone in from the lobby, oldest first, until the room is full",
        request=None,
        responses={200: LiveStateSerializer, **REFUSALS},
    )
    def post(self, request: Request, meeting_id: UUID, occurrence_id: UUID) -> Response:
        occurrence = self.get_occurrence()
        lobby.admit_all(occurrence_id=occurrence.pk, by=self.actor())
        return self.respond(occurrence)


class MuteAllView(_LiveView):
    @extend_schema(
        summary="Mute everyone but the hosts",
        request=MuteAllSerializer,
        responses={200: LiveStateSerializer, **REFUSALS},
    )
    def post(self, request: Request, meeting_id: UUID, occurrence_id: UUID) -> Response:
        occurrence = self.get_occurrence()
        body = MuteAllSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        moderation.mute_all(
            occurrence_id=occurrence.pk,
            by=self.actor(),
            lock_unmute=body.validated_data["lock_unmute"],
        )
        return self.respond(occurrence)


def lock_view(locked: bool) -> type[_LiveView]:
    class LockView(_LiveView):
        @extend_schema(
            summary="Lock the sitting: nobody new gets in, not even to the lobby"
            if locked
            else "Unlock the sitting",
            request=None,
            responses={200: LiveStateSerializer, **REFUSALS},
            operation_id="live_lock" if locked else "live_unlock",
        )
        def post(self, request: Request, meeting_id: UUID, occurrence_id: UUID) -> Response:
            occurrence = self.get_occurrence()
            moderation.set_locked(occurrence_id=occurrence.pk, locked=locked, by=self.actor())
            return self.respond(occurrence)

    LockView.__name__ = "LockView" if locked else "UnlockView"
    return LockView


class EndView(_LiveView):
    @extend_schema(
        summary="End the sitting for everyone",
        description="Every socket closes with 4004, a running recording stops and goes to "
        "processing, attendance closes. 409 when it is over already.",
        request=None,
        responses={200: LiveStateSerializer, **REFUSALS},
    )
    def post(self, request: Request, meeting_id: UUID, occurrence_id: UUID) -> Response:
        occurrence = self.get_occurrence()
        if not moderation.end(occurrence_id=occurrence.pk, by=self.actor()):
            raise ActionRefused("meeting_over", "This meeting is over already.")
        return self.respond(occurrence)
