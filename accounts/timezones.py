"""IANA time zone names: the list offered in forms and the validator that guards them."""

from functools import cache
from zoneinfo import available_timezones

from django.core.exceptions import ValidationError


@cache
def time_zone_names() -> tuple[str, ...]:
    return tuple(sorted(available_timezones() | {"UTC"}))


def is_time_zone(name: str) -> bool:
    return name in frozenset(time_zone_names())


def validate_time_zone(name: str) -> None:
    if not is_time_zone(name):
        raise ValidationError(
            "“%(name)s” is not a time zone we know. Pick one from the list, "
            "such as Europe/Paris or America/New_York.",
            code="unknown_time_zone",
            params={"name": name},
        )
