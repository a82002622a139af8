"""The REST API's attendance of one sitting, as JSON or CSV (``?format=csv`` or the
``attendance.csv`` path); the host's own meetings only, as everywhere in the API."""

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
)
from rest_framework import generics
from rest_framework.exceptions import NotFound
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from .api import HostedMeetingMixin
from .attendance import attendance_for, summarise
from .serializers import AttendanceSerializer, attendance_csv


class AttendanceCSVRenderer(BaseRenderer):
    """The attendance table as CSV: a header row, then one row per person."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        return attendance_csv(data["rows"]).encode(self.charset)


class FormatFirstNegotiation(DefaultContentNegotiation):
    """An explicit `?format=` or `.csv` address wins over the Accept header."""

    def select_renderer(
        self, request: Request, renderers: list[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        wanted = format_suffix or request.query_params.get(self.settings.URL_FORMAT_OVERRIDE)
        if not wanted:
            return super().select_renderer(request, renderers, format_suffix)
        for renderer in renderers:
            if renderer.format == wanted:
                return renderer, renderer.media_type
        raise NotFound(f"There is no “{wanted}” format here.")


class AttendanceView(HostedMeetingMixin, generics.GenericAPIView):
    serializer_class = AttendanceSerializer
    renderer_classes = [JSONRenderer, AttendanceCSVRenderer]
    content_negotiation_class = FormatFirstNegotiation

    @extend_schema(
        summary="Attendance of one occurrence",
        description="JSON, or CSV with `?format=csv` (or the `attendance.csv` address).",
        responses={
            (200, "application/json"): AttendanceSerializer,
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR),
        },
    )
    def get(
        self, request: Request, meeting_id: UUID, occurrence_id: UUID, **kwargs: Any
    ) -> Response:
        occurrence = self.get_occurrence()
        rows = attendance_for(occurrence)
        data = self.get_serializer(
            {"occurrence": occurrence, "summary": summarise(rows), "rows": rows}
        ).data
        response = Response(data)
        if request.accepted_renderer.format == AttendanceCSVRenderer.format:
            filename = f"attendance-{occurrence.starts_at:%Y-%m-%d}-{occurrence.public_id}.csv"
            response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response

    def handle_exception(self, exc: Exception) -> Response:
        # Errors are JSON even when the table was asked for as CSV.
        response = super().handle_exception(exc)
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return response


class AttendanceCSVView(AttendanceView):
    renderer_classes = [AttendanceCSVRenderer]

    @extend_schema(
        summary="Attendance of one occurrence as CSV",
        operation_id="meetings_occurrences_attendance_csv",
        responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR)},
    )
    def get(
        self, request: Request, meeting_id: UUID, occurrence_id: UUID, **kwargs: Any
    ) -> Response:
        return super().get(request, meeting_id, occurrence_id)
