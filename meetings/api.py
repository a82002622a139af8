"""The REST API for hosts: their meetings, occurrences, invitations and attendance.

Views stay thin: they look up the requesting host's own objects (anyone else's, and any
that do not exist, are the same 404) and call the services. Service errors keyed by model
or schedule fields come back under the API's field names.
"""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from uuid import UUID

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
)
from rest_framework import generics, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.serializers import as_serializer_error

from conferencing.api_errors import RuleRefused

from . import services
from .models import Invitation, Meeting, Occurrence
from .selectors import meeting_of, meetings_of
from .serializers import (
    InvitationCreateSerializer,
    InvitationSerializer,
    MeetingCreateSerializer,
    MeetingInputSerializer,
    MeetingSerializer,
    OccurrenceRescheduleSerializer,
    OccurrenceSerializer,
)

MEETING_NOT_FOUND = "No meeting of yours has this id."
OCCURRENCE_NOT_FOUND = "This meeting has no occurrence with this id."
INVITATION_NOT_FOUND = "This meeting has no invitation with this id."
NOTHING_TO_CHANGE = "Nothing to change: send at least one field."


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request: Request) -> int:
        """The asked-for page size; one that is not a number in range is a 400, not ignored."""
        wanted = request.query_params.get(self.page_size_query_param)
        if wanted is None:
            return self.page_size
        if not wanted.isdigit() or not 1 <= int(wanted) <= self.max_page_size:
            raise ValidationError(
                {self.page_size_query_param: [f"A number from 1 to {self.max_page_size}."]}
            )
        return int(wanted)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"] |= {"minimum": 1}
            elif parameter["name"] == self.page_size_query_param:
                parameter["schema"] |= {"minimum": 1, "maximum": self.max_page_size}
        return parameters


@contextmanager
def service_errors(names: Mapping[str, str] | None = None) -> Iterator[None]:
    """Re-raise a service's field errors (a 422) under the names the client sent."""
    try:
        yield
    except DjangoValidationError as exc:
        detail = as_serializer_error(exc)
        names = names or {}
        raise RuleRefused({names.get(key, key): value for key, value in detail.items()}) from exc


def hosted_meetings(user: Any) -> QuerySet[Meeting]:
    """The host's meetings with the counts the API shows, each one query for a page."""
    sittings = (
        Occurrence.objects.filter(meeting=OuterRef("pk"))
        .exclude(status=Occurrence.Status.CANCELLED)
        .order_by()
        .values("meeting")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return meetings_of(host=user).annotate(occurrence_count=Coalesce(Subquery(sittings), 0))


# For views under /meetings/{meeting_id}/: the meeting, if the user hosts it. (A comment,
# not a docstring, which the schema would show as every such operation's description.)
class HostedMeetingMixin:
    request: Request
    kwargs: dict[str, Any]

    def get_meeting(self) -> Meeting:
        if not hasattr(self, "_meeting"):
            meeting = meeting_of(host=self.request.user, public_id=self.kwargs["meeting_id"])
            if meeting is None:
                raise NotFound(MEETING_NOT_FOUND)
            self._meeting = meeting
        return self._meeting

    def get_occurrence(self) -> Occurrence:
        occurrence = (
            self.get_meeting()
            .occurrences.select_related("meeting")
            .filter(public_id=self.kwargs["occurrence_id"])
            .first()
        )
        if occurrence is None:
            raise NotFound(OCCURRENCE_NOT_FOUND)
        return occurrence

    def get_invitation(self) -> Invitation:
        invitation = (
            self.get_meeting()
            .invitations.select_related("meeting")
            .filter(pk=self.kwargs["invitation_id"])
            .first()
        )
        if invitation is None:
            raise NotFound(INVITATION_NOT_FOUND)
        return invitation


# --- Meetings -----------------------------------------------------------------------


@extend_schema_view(
    get=extend_schema(
        summary="Your meetings",
        parameters=[
            OpenApiParameter("status", enum=Meeting.Status.values, description="Only these.")
        ],
    )
)
class MeetingListView(generics.ListAPIView):
    serializer_class = MeetingSerializer
    pagination_class = Pagination

    def get_queryset(self) -> QuerySet[Meeting]:
        if getattr(self, "swagger_fake_view", False):
            return Meeting.objects.none()
        meetings = hosted_meetings(self.request.user)
        wanted = self.request.query_params.get("status")
        if wanted is not None:
            if wanted not in Meeting.Status.values:
                raise ValidationError({"status": [f"One of {', '.join(Meeting.Status.values)}."]})
            meetings = meetings.filter(status=wanted)
        return meetings.order_by("starts_on", "start_time", "pk")

    @extend_schema(
        summary="Schedule a meeting",
        request=MeetingCreateSerializer,
        responses={201: MeetingSerializer},
    )
    def post(self, request: Request) -> Response:
        form = MeetingCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        schedule = form.new_schedule(default_zone=request.user.time_zone or "UTC")
        with service_errors(form.error_names()):
            meeting = services.schedule_meeting(
                host=request.user,
                title=data["title"],
                agenda=data["agenda"],
                schedule=schedule,
                invitees=data["invitees"],
                passcode_required=data["passcode_required"],
                lobby_enabled=data["lobby_enabled"],
                recording_allowed=data["recording_allowed"],
            )
        meeting = hosted_meetings(request.user).get(pk=meeting.pk)
        location = reverse(
            "api:meetings:meeting-detail", kwargs={"meeting_id": meeting.public_id}, request=request
        )
        return Response(
            self.get_serializer(meeting).data,
            status=status.HTTP_201_CREATED,
            headers={"Location": location},
        )


class MeetingDetailView(generics.GenericAPIView):
    serializer_class = MeetingSerializer
    http_method_names = ["get", "patch", "delete", "head"]
    lookup_field = "public_id"
    lookup_url_kwarg = "meeting_id"

    def get_queryset(self) -> QuerySet[Meeting]:
        if getattr(self, "swagger_fake_view", False):
            return Meeting.objects.none()
        return hosted_meetings(self.request.user)

    def get_object(self) -> Meeting:
        meeting = self.get_queryset().filter(public_id=self.kwargs["meeting_id"]).first()
        if meeting is None:
            raise NotFound(MEETING_NOT_FOUND)
        return meeting

    @extend_schema(summary="One of your meetings")
    def get(self, request: Request, meeting_id: UUID) -> Response:
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(
        summary="Edit a meeting",
        description=(
            "Any field may be left out. A new timing replaces the future occurrences (and "
            "their one-off changes); invitees are sent an updated invitation."
        ),
        request=MeetingInputSerializer,
        responses={200: MeetingSerializer},
    )
    def patch(self, request: Request, meeting_id: UUID) -> Response:
        meeting = self.get_object()
        form = MeetingInputSerializer(data=request.data, partial=True)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        if not data:
            raise ValidationError({"non_field_errors": [NOTHING_TO_CHANGE]})
        schedule = form.changed_schedule(current=services.schedule_of(meeting))
        with service_errors(form.error_names()):
            services.update_meeting(
                meeting=meeting,
                title=data.get("title"),
                agenda=data.get("agenda"),
                schedule=schedule,
                passcode_required=data.get("passcode_required"),
                lobby_enabled=data.get("lobby_enabled"),
                recording_allowed=data.get("recording_allowed"),
            )
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(
        summary="Cancel a meeting",
        description="Cancels every sitting to come and sends invitees a cancellation.",
        responses={204: None},
    )
    def delete(self, request: Request, meeting_id: UUID) -> Response:
        with service_errors():
            services.cancel_meeting(meeting=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Occurrences --------------------------------------------------------------------


@extend_schema_view(
    get=extend_schema(summary="A meeting's occurrences", description="Soonest first.")
)
class OccurrenceListView(HostedMeetingMixin, generics.ListAPIView):
    serializer_class = OccurrenceSerializer
    pagination_class = Pagination

    def get_queryset(self) -> QuerySet[Occurrence]:
        if getattr(self, "swagger_fake_view", False):
            return Occurrence.objects.none()
        return self.get_meeting().occurrences.select_related("meeting").order_by("starts_at", "pk")


class OccurrenceDetailView(HostedMeetingMixin, generics.GenericAPIView):
    serializer_class = OccurrenceSerializer
    http_method_names = ["get", "patch", "head"]

    @extend_schema(summary="One occurrence")
    def get(self, request: Request, meeting_id: UUID, occurrence_id: UUID) -> Response:
        return Response(self.get_serializer(self.get_occurrence()).data)

    @extend_schema(
        summary="Move one occurrence",
        description="Invitees get an updated invitation for that date only.",
        request=OccurrenceRescheduleSerializer,
        responses={200: OccurrenceSerializer},
    )
    def patch(self, request: Request, meeting_id: UUID, occurrence_id: UUID) -> Response:
        occurrence = self.get_occurrence()
        form = OccurrenceRescheduleSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        with service_errors():
            occurrence = services.reschedule_occurrence(
                occurrence=occurrence,
                starts_at=data.get("starts_at", occurrence.starts_at),
                duration_minutes=data.get("duration_minutes", occurrence.duration_minutes),
            )
        return Response(self.get_serializer(occurrence).data)


class OccurrenceCancelView(HostedMeetingMixin, generics.GenericAPIView):
    serializer_class = OccurrenceSerializer

    @extend_schema(
        summary="Cancel one occurrence",
        description="Cancelling the last sitting still to come cancels the whole meeting.",
        request=None,
        responses={200: OccurrenceSerializer},
    )
    def post(self, request: Request, meeting_id: UUID, occurrence_id: UUID) -> Response:
        with service_errors():
            occurrence = services.cancel_occurrence(occurrence=self.get_occurrence())
        return Response(self.get_serializer(occurrence).data)


# --- Invitations --------------------------------------------------------------------


@extend_schema_view(get=extend_schema(summary="A meeting's invitations"))
class InvitationListView(HostedMeetingMixin, generics.ListAPIView):
    serializer_class = InvitationSerializer
    pagination_class = Pagination

    def get_queryset(self) -> QuerySet[Invitation]:
        if getattr(self, "swagger_fake_view", False):
            return Invitation.objects.none()
        return self.get_meeting().invitations.select_related("meeting").order_by("email", "pk")

    @extend_schema(
        summary="Invite people",
        description=(
            "Addresses already invited are skipped; the response lists the new invitations "
            "(201), or none (200)."
        ),
        request=InvitationCreateSerializer,
        responses={201: InvitationSerializer(many=True), 200: InvitationSerializer(many=True)},
    )
    def post(self, request: Request, meeting_id: UUID) -> Response:
        meeting = self.get_meeting()
        form = InvitationCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        with service_errors({"invitees": "emails"}):
            created = services.add_invitations(
                meeting=meeting, emails=form.validated_data["emails"]
            )
        return Response(
            self.get_serializer(created, many=True).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class InvitationDetailView(HostedMeetingMixin, generics.GenericAPIView):
    serializer_class = InvitationSerializer
    http_method_names = ["delete"]

    @extend_schema(
        summary="Uninvite",
        description="The person is sent a cancellation and their personal link stops working.",
        responses={204: None},
    )
    def delete(self, request: Request, meeting_id: UUID, invitation_id: int) -> Response:
        with service_errors():
            services.remove_invitation(invitation=self.get_invitation())
        return Response(status=status.HTTP_204_NO_CONTENT)


class InvitationResendView(HostedMeetingMixin, generics.GenericAPIView):
    serializer_class = InvitationSerializer

    @extend_schema(
        summary="Send an invitation again",
        request=None,
        responses={202: InvitationSerializer},
    )
    def post(self, request: Request, meeting_id: UUID, invitation_id: int) -> Response:
        invitation = self.get_invitation()
        with service_errors():
            services.resend_invitation(invitation=invitation)
        invitation.refresh_from_db()
        return Response(self.get_serializer(invitation).data, status=status.HTTP_202_ACCEPTED)
