"""The REST API's shapes: what a host sends (checked field by field) and what they get back.

Input serializers only check types and ranges and build a `Schedule`; the rules about
meetings (plan limits, series length, the past) stay in `schedule.validate` and the
services, whose errors the views hand back under these serializers' field names.
"""

import dataclasses
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.timezones import time_zone_names
from common.safe_csv import Cell, csv_text

from . import links
from .api_fields import (
    AwareDateTimeField,
    EmailListField,
    LocalDateField,
    LocalDateTimeField,
    LocalTimeField,
    UTCDateTimeField,
    WeekdaysField,
    duration_field,
    iso_in_zone,
)
from .models import Invitation, Meeting, Occurrence, Recurrence
from .schedule import (
    MAX_INTERVAL,
    MAX_OCCURRENCES,
    Schedule,
    to_utc,
)
from .services import MAX_INVITEES_PER_REQUEST

# --- Meetings -----------------------------------------------------------------------

# API field name -> Schedule attribute.
_SCHEDULE_ATTRS = {
    "time_zone": "time_zone",
    "start_date": "starts_on",
    "start_time": "start_time",
    "duration_minutes": "duration_minutes",
    "recurrence": "recurrence",
    "interval": "interval",
    "weekdays": "weekdays",
    "until": "until",
    "count": "count",
}


class MeetingInputSerializer(serializers.Serializer):
    """A meeting's settings as a host edits them (every field optional on PATCH)."""

    title = serializers.CharField(max_length=200)
    agenda = serializers.CharField(max_length=5000, allow_blank=True, default="")
    time_zone = serializers.ChoiceField(
        choices=time_zone_names(),
        required=False,
        help_text="IANA time zone the start is given in; defaults to the host's own.",
        error_messages={"invalid_choice": "“{input}” is not a time zone we know."},
    )
    start_date = LocalDateField(required=False, help_text="Local date of the first one.")
    start_time = LocalTimeField(required=False, help_text="Local wall-clock start time.")
    start = LocalDateTimeField(
        required=False,
        write_only=True,
        help_text="Instead of start_date and start_time: local date and time, no offset.",
    )
    duration_minutes = duration_field()
    recurrence = serializers.ChoiceField(choices=Recurrence.choices, default=Recurrence.NONE)
    interval = serializers.IntegerField(min_value=1, max_value=MAX_INTERVAL, default=1)
    weekdays = WeekdaysField(
        max_length=7, default=list, help_text="Weekly only: 0 (Monday) to 6 (Sunday)."
    )
    until = LocalDateField(allow_null=True, default=None, help_text="Last date, local.")
    count = serializers.IntegerField(
        min_value=1, max_value=MAX_OCCURRENCES, allow_null=True, default=None
    )
    passcode_required = serializers.BooleanField(default=True)
    lobby_enabled = serializers.BooleanField(default=True)
    recording_allowed = serializers.BooleanField(default=False)

    start_field = "start_date"

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start = attrs.pop("start", None)
        if start is not None:
            if "start_date" in attrs or "start_time" in attrs:
                raise serializers.ValidationError(
                    {"start": ["Give either start, or start_date and start_time, not both."]}
                )
            self.start_field = "start"
            attrs["start_date"], attrs["start_time"] = start.date(), start.time()
        elif not self.partial:
            missing = {
                name: ["Give the first meeting's local start_date and start_time (or start)."]
                for name in ("start_date", "start_time")
                if name not in attrs
            }
            if missing:
                raise serializers.ValidationError(missing)
        return attrs

    def _schedule_changes(self) -> dict[str, Any]:
        changes: dict[str, Any] = {
            attr: self.validated_data[name]
            for name, attr in _SCHEDULE_ATTRS.items()
            if name in self.validated_data
        }
        if "weekdays" in changes:
            changes["weekdays"] = tuple(changes["weekdays"])
        return changes

    def new_schedule(self, *, default_zone: str) -> Schedule:
        """The timing of a new meeting, in `default_zone` unless time_zone was given."""
        return Schedule(**{"time_zone": default_zone} | self._schedule_changes())

    def changed_schedule(self, *, current: Schedule) -> Schedule | None:
        """`current` with this PATCH's changes, or None when it leaves the timing alone."""
        changes = self._schedule_changes()
        return dataclasses.replace(current, **changes) if changes else None

    def error_names(self) -> dict[str, str]:
        """Service and model error keys -> this serializer's field names."""
        return {
            "starts_on": self.start_field,
            "recurrence_interval": "interval",
            "recurrence_weekdays": "weekdays",
            "recurrence_until": "until",
            "recurrence_count": "count",
        }


class MeetingCreateSerializer(MeetingInputSerializer):
    invitees = EmailListField(default=list, help_text="Email addresses to invite.")


# Rules across fields that JSON Schema can state: a start is given one way, not both; a new
# meeting needs one. Added to the generated components by `state_start_rules`.
_NOT_BOTH_STARTS = {
    "not": {"anyOf": [{"required": ["start", "start_date"]}, {"required": ["start", "start_time"]}]}
}
_START_RULES = {
    "MeetingCreateRequest": {
        "anyOf": [{"required": ["start"]}, {"required": ["start_date", "start_time"]}],
        **_NOT_BOTH_STARTS,
    },
    # An empty PATCH changes nothing and is refused.
    "PatchedMeetingInputRequest": {**_NOT_BOTH_STARTS, "minProperties": 1},
    "PatchedOccurrenceRescheduleRequest": {"minProperties": 1},
}


def state_start_rules(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: the start rules and non-empty PATCHes."""
    schemas = result.get("components", {}).get("schemas", {})
    for name, rules in _START_RULES.items():
        if name in schemas:
            schemas[name].update(rules)
    # Those PATCHes need a body with at least one field.
    for operations in result.get("paths", {}).values():
        body = operations.get("patch", {}).get("requestBody")
        if body is not None:
            body["required"] = True
    return result


class MeetingSerializer(serializers.ModelSerializer):
    start_date = serializers.DateField(source="starts_on", read_only=True)
    start_time = LocalTimeField(read_only=True)
    starts_at = serializers.SerializerMethodField(help_text="The first start, in UTC.")
    interval = serializers.IntegerField(source="recurrence_interval", read_only=True)
    weekdays = serializers.ListField(
        source="recurrence_weekdays", child=serializers.IntegerField(), read_only=True
    )
    until = serializers.DateField(source="recurrence_until", read_only=True, allow_null=True)
    count = serializers.IntegerField(source="recurrence_count", read_only=True, allow_null=True)
    passcode_required = serializers.SerializerMethodField()
    join_url = serializers.SerializerMethodField()
    occurrence_count = serializers.IntegerField(
        read_only=True, help_text="Sittings that are not cancelled."
    )
    invitee_count = serializers.IntegerField(read_only=True)
    created_at = UTCDateTimeField()
    updated_at = UTCDateTimeField()

    class Meta:
        model = Meeting
        fields = [
            "public_id",
            "title",
            "agenda",
            "time_zone",
            "start_date",
            "start_time",
            "starts_at",
            "duration_minutes",
            "recurrence",
            "interval",
            "weekdays",
            "until",
            "count",
            "passcode_required",
            "passcode",
            "lobby_enabled",
            "recording_allowed",
            "is_instant",
            "status",
            "join_url",
            "occurrence_count",
            "invitee_count",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_starts_at(self, meeting: Meeting) -> str:
        first = datetime.combine(meeting.starts_on, meeting.start_time)
        return _utc_iso(to_utc(first, ZoneInfo(meeting.time_zone)))

    def get_passcode_required(self, meeting: Meeting) -> bool:
        return bool(meeting.passcode)

    @extend_schema_field(OpenApiTypes.URI)
    def get_join_url(self, meeting: Meeting) -> str:
        return links.join_url(meeting)


def _utc_iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


# --- Occurrences --------------------------------------------------------------------


class OccurrenceSerializer(serializers.ModelSerializer):
    starts_at = UTCDateTimeField()
    ends_at = UTCDateTimeField()
    original_start = UTCDateTimeField(help_text="Where the series put it (RECURRENCE-ID).")
    time_zone = serializers.CharField(source="meeting.time_zone", read_only=True)
    local_starts_at = serializers.SerializerMethodField(help_text="Start in the meeting's zone.")
    local_ends_at = serializers.SerializerMethodField(help_text="End in the meeting's zone.")

    class Meta:
        model = Occurrence
        fields = [
            "public_id",
            "starts_at",
            "ends_at",
            "duration_minutes",
            "time_zone",
            "local_starts_at",
            "local_ends_at",
            "original_start",
            "status",
            "is_override",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_local_starts_at(self, occurrence: Occurrence) -> str:
        return iso_in_zone(occurrence.starts_at, occurrence.meeting.time_zone)

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_local_ends_at(self, occurrence: Occurrence) -> str:
        return iso_in_zone(occurrence.ends_at, occurrence.meeting.time_zone)


class OccurrenceRescheduleSerializer(serializers.Serializer):
    starts_at = AwareDateTimeField(required=False, help_text="New start, with its UTC offset.")
    duration_minutes = duration_field(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs:
            raise serializers.ValidationError(
                {"starts_at": ["Give a new starts_at, duration_minutes, or both."]}
            )
        return attrs


# --- Invitations --------------------------------------------------------------------


class InvitationSerializer(serializers.ModelSerializer):
    created_at = UTCDateTimeField()
    last_sent_at = UTCDateTimeField(allow_null=True)
    personal_join_url = serializers.SerializerMethodField(
        help_text="This invitee's own signed link, so the report shows who used which."
    )

    class Meta:
        model = Invitation
        fields = ["id", "email", "created_at", "last_sent_at", "personal_join_url"]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.URI)
    def get_personal_join_url(self, invitation: Invitation) -> str:
        return links.personal_join_url(invitation)


@extend_schema_field(
    {
        "type": "array",
        "items": {"type": "string", "format": "email", "maxLength": 254},
        "minItems": 1,
        "maxItems": MAX_INVITEES_PER_REQUEST,
    }
)
class NonEmptyEmailListField(EmailListField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(allow_empty=False, **kwargs)


class InvitationCreateSerializer(serializers.Serializer):
    emails = NonEmptyEmailListField()


# --- Attendance ---------------------------------------------------------------------

ATTENDANCE_COLUMNS = (
    "display_name",
    "email",
    "sessions",
    "first_joined",
    "last_left",
    "minutes",
    "links",
)


class AttendanceRowSerializer(serializers.Serializer):
    display_name = serializers.CharField()
    email = serializers.EmailField()
    sessions = serializers.IntegerField()
    first_joined = UTCDateTimeField()
    last_left = UTCDateTimeField(allow_null=True, help_text="Null while still present.")
    minutes = serializers.FloatField()
    links = serializers.ListField(child=serializers.CharField())


class AttendanceSummarySerializer(serializers.Serializer):
    unique_participants = serializers.IntegerField()
    peak_concurrent = serializers.IntegerField()
    person_minutes = serializers.FloatField()


class AttendanceSerializer(serializers.Serializer):
    occurrence = serializers.UUIDField(source="occurrence.public_id")
    starts_at = UTCDateTimeField(source="occurrence.starts_at")
    time_zone = serializers.CharField(source="occurrence.meeting.time_zone")
    summary = AttendanceSummarySerializer()
    rows = AttendanceRowSerializer(many=True)


def _csv_value(value: Any) -> Cell:
    if isinstance(value, list | tuple):
        return "; ".join(str(item) for item in value)
    return value


def attendance_csv(rows: Iterable[dict[str, Any]]) -> str:
    """The API's attendance rows as CSV; guests choose their names, so cells are defused."""
    return csv_text(
        ATTENDANCE_COLUMNS,
        ([_csv_value(row[column]) for column in ATTENDANCE_COLUMNS] for row in rows),
    )
