"""Survey answers for tests, stored as the survey endpoint would store them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from feedback.models import CallRating
from meetings.models import Occurrence, ParticipantSession
from tests.privacy.people import attend


def rate(
    occurrence: Occurrence,
    *,
    name: str,
    email: str,
    stars: int,
    at: datetime | None = None,
    participant: ParticipantSession | None = None,
    **fields: Any,
) -> CallRating:
    if participant is None:
        participant = attend(occurrence, name=name, email=email, start=0, end=30)
    rating = CallRating.objects.create(
        participant=participant, occurrence=occurrence, stars=stars, **fields
    )
    if at is not None:  # created_at is auto_now_add: move it afterwards
        CallRating.objects.filter(pk=rating.pk).update(created_at=at)
        rating.refresh_from_db()
    return rating
