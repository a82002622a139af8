"""The read facade other apps use for meetings: small frozen answers, never models to write.

Recordings (and any app after it) ask here instead of querying meetings' tables or
walking a sitting's relations, so meetings can change its models behind these functions.
Meetings' own code keeps using ``selectors``.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from accounts.models import User

from .models import Occurrence, ParticipantSession
from .occurrences import OPEN_STATUSES


@dataclass(frozen=True)
class Sitting:
    """One occurrence of a meeting, as another app may know it."""

    occurrence_id: int
    meeting_id: int
    host: User
    title: str
    time_zone: str
    recording_allowed: bool  # the host's setting for this meeting, not the plan's


@dataclass(frozen=True)
class Participant:
    """One participant session (a person's presence in one sitting)."""

    session_id: int
    public_id: UUID
    occurrence_id: int
    is_host: bool
    display_name: str
    email: str
    admitted_at: datetime | None


def sitting(occurrence: Occurrence) -> Sitting:
    """The facts of a sitting the room handed over (one query unless already joined)."""
    meeting = occurrence.meeting
    return Sitting(
        occurrence_id=occurrence.pk,
        meeting_id=meeting.pk,
        host=meeting.host,
        title=meeting.title,
        time_zone=meeting.time_zone,
        recording_allowed=meeting.recording_allowed,
    )


def participant(session: ParticipantSession) -> Participant:
    """The facts of a participant session the room handed over (no query)."""
    return Participant(
        session_id=session.pk,
        public_id=session.public_id,
        occurrence_id=session.occurrence_id,
        is_host=session.is_host,
        display_name=session.display_name,
        email=session.email,
        admitted_at=session.admitted_at,
    )


def abandoned_sittings(*, occurrence_ids: Collection[int]) -> set[int]:
    """Of these sittings, those that are over or have nobody admitted in them: a running
    recording of one of them has nobody left to record. One query."""
    attended = set(
        ParticipantSession.objects.filter(
            occurrence_id__in=occurrence_ids,
            occurrence__status__in=OPEN_STATUSES,
            state=ParticipantSession.State.ADMITTED,
        ).values_list("occurrence_id", flat=True)
    )
    return set(occurrence_ids) - attended
