from datetime import time, timedelta
from typing import Any

import factory
from django.utils import timezone

from meetings import services
from meetings.models import Meeting
from meetings.schedule import Schedule
from tests.factories import UserFactory


def schedule_in(days: int = 7, *, time_zone: str = "Europe/Berlin", **fields: Any) -> Schedule:
    """A timing `days` from today at 09:00 in `time_zone`: 30 minutes, one-off by default."""
    starts_on = timezone.now().date() + timedelta(days=days)
    values: dict[str, Any] = {
        "time_zone": time_zone,
        "starts_on": starts_on,
        "start_time": time(9, 0),
        "duration_minutes": 30,
    } | fields
    return Schedule(**values)


class MeetingFactory(factory.Factory):
    """A meeting scheduled the way a host does it, so its occurrences exist.

    Pass `schedule=schedule_in(...)`, `invitees=[...]` and the other arguments of
    `meetings.services.schedule_meeting`.
    """

    class Meta:
        model = Meeting

    host = factory.SubFactory(UserFactory)
    title = factory.Sequence(lambda n: f"Meeting {n}")
    schedule = factory.LazyFunction(schedule_in)

    @classmethod
    def _create(cls, model_class: type[Meeting], *args: Any, **kwargs: Any) -> Meeting:
        return services.schedule_meeting(**kwargs)

    @classmethod
    def _build(cls, model_class: type[Meeting], *args: Any, **kwargs: Any) -> Meeting:
        raise NotImplementedError("Meetings are only made through schedule_meeting.")
