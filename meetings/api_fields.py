"""The API's field types: dates and times with their stated patterns and year range,
lists with their limits, durations. The serializers in ``serializers.py`` are built from
them; the patterns are the schema's, so what the schema promises is what is checked."""

import re
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .schedule import (
    MAX_DURATION_MINUTES,
    MIN_DURATION_MINUTES,
)
from .services import MAX_INVITEES_PER_REQUEST

DURATION_MESSAGE = (
    f"A meeting lasts between {MIN_DURATION_MINUTES} minutes and {MAX_DURATION_MINUTES} minutes "
    "(24 hours)."
)
TOO_MANY_INVITEES = f"Invite at most {MAX_INVITEES_PER_REQUEST} people at a time."


# A wall-clock time: "09:00" or "09:00:00", no offset. (OpenAPI's `format: time` is RFC
# 3339's full-time, which requires an offset, so these are strings with a pattern.)
LOCAL_TIME_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?$"
# Dates in the years 2000 to 2999 that exist (29 February aside): what the schema
# promises; the fields also take 29 February. Far years would overflow a UTC conversion.
MIN_YEAR, MAX_YEAR = 2000, 2999
YEAR_MESSAGE = f"Give a date in the years {MIN_YEAR} to {MAX_YEAR}."
_DATE = (
    r"2[0-9]{3}-"
    r"((0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])|(0[13-9]|1[0-2])-(29|30)|(0[13578]|1[02])-31)"
)
_TIME = LOCAL_TIME_PATTERN[1:-1]
LOCAL_DATE_PATTERN = rf"^{_DATE}$"
LOCAL_DATETIME_PATTERN = rf"^{_DATE}T{_TIME}$"
AWARE_DATETIME_PATTERN = rf"^{_DATE}T{_TIME}(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"


def _in_years(field: serializers.Field, value: date) -> None:
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        field.fail("year")


# --- Fields -------------------------------------------------------------------------


class UTCDateTimeField(serializers.DateTimeField):
    """Always written out in UTC, whatever time zone is active for the request."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("read_only", True)
        super().__init__(default_timezone=UTC, **kwargs)


@extend_schema_field(
    {
        "type": "string",
        "format": "date-time",
        "pattern": AWARE_DATETIME_PATTERN,
        "example": "2030-03-31T09:00:00+02:00",
    }
)
class AwareDateTimeField(serializers.DateTimeField):
    """An instant: an ISO 8601 date and time with its UTC offset."""

    default_error_messages = {
        "naive": "Give the time with its UTC offset, such as 2030-03-31T09:00:00+02:00.",
        "year": YEAR_MESSAGE,
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(default_timezone=UTC, **kwargs)

    def enforce_timezone(self, value: datetime) -> datetime:
        if value.tzinfo is None or value.utcoffset() is None:
            self.fail("naive")
        _in_years(self, value)
        return super().enforce_timezone(value)


@extend_schema_field({"type": "string", "pattern": LOCAL_DATE_PATTERN, "example": "2030-03-31"})
class LocalDateField(serializers.DateField):
    """A local calendar date (YYYY-MM-DD)."""

    default_error_messages = {"year": YEAR_MESSAGE}

    def to_internal_value(self, value: Any) -> date:
        parsed = super().to_internal_value(value)
        _in_years(self, parsed)
        return parsed


@extend_schema_field(
    {"type": "string", "pattern": LOCAL_DATETIME_PATTERN, "example": "2030-03-31T09:00:00"}
)
class LocalDateTimeField(serializers.DateTimeField):
    """A wall-clock date and time without offset, read in the meeting's `time_zone`."""

    default_error_messages = {
        "aware": (
            "Give the local date and time without a UTC offset, such as 2030-03-31T09:00; "
            "time_zone says where it is."
        ),
        "year": YEAR_MESSAGE,
    }

    def enforce_timezone(self, value: datetime) -> datetime:
        if value.tzinfo is not None:
            self.fail("aware")
        _in_years(self, value)
        return value


@extend_schema_field({"type": "string", "pattern": LOCAL_TIME_PATTERN, "example": "09:00:00"})
class LocalTimeField(serializers.TimeField):
    """A local wall-clock time without offset."""

    def to_internal_value(self, value: Any) -> Any:
        if isinstance(value, str) and not re.match(LOCAL_TIME_PATTERN, value):
            self.fail("invalid", format="hh:mm[:ss]")
        return super().to_internal_value(value)


class ItemListField(serializers.ListField):
    """A list whose bad items read as one sentence each, and whose length is checked first
    (so a huge list is refused before each item is looked at)."""

    def to_internal_value(self, data: Any) -> list[Any]:
        if self.max_length is not None and isinstance(data, list) and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if not isinstance(exc.detail, dict):
                raise
            raise serializers.ValidationError(
                [self.item_message(data[index], errors) for index, errors in exc.detail.items()]
            ) from exc

    def item_message(self, value: Any, errors: Any) -> str:
        return f"{value!r}: {' '.join(str(error) for error in errors)}"


class EmailListField(ItemListField):
    default_error_messages = {"max_length": TOO_MANY_INVITEES}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", MAX_INVITEES_PER_REQUEST)
        super().__init__(child=serializers.EmailField(max_length=254), **kwargs)

    def item_message(self, value: Any, errors: Any) -> str:
        if not isinstance(value, str):
            return f"Each email address must be a string, not {value!r}."
        return f"“{value}” is not a valid email address."


class WeekdaysField(ItemListField):
    """ISO weekdays, Monday = 0 to Sunday = 6; duplicates dropped, sorted."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(child=serializers.IntegerField(min_value=0, max_value=6), **kwargs)

    def item_message(self, value: Any, errors: Any) -> str:
        return f"{value!r} is not a day of the week: use 0 (Monday) to 6 (Sunday)."

    def to_internal_value(self, data: Any) -> list[int]:
        return sorted(set(super().to_internal_value(data)))


def duration_field(**kwargs: Any) -> serializers.IntegerField:
    message = DURATION_MESSAGE
    return serializers.IntegerField(
        min_value=MIN_DURATION_MINUTES,
        max_value=MAX_DURATION_MINUTES,
        error_messages={"min_value": message, "max_value": message},
        **kwargs,
    )


def iso_in_zone(moment: datetime, zone: str) -> str:
    return moment.astimezone(ZoneInfo(zone)).isoformat()
