"""Reads: the meetings a host sees, and what a join link leads to."""

from datetime import UTC, date, datetime, timedelta

from django.core.exceptions import ValidationError
from django.db.models import Count, Prefetch, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from accounts.models import User

from .errors import NotJoinable
from .models import LATE_JOIN_GRACE, Meeting, Occurrence, ParticipantSession
from .occurrences import OPEN_STATUSES


def meetings_of(*, host: User) -> QuerySet[Meeting]:
    return Meeting.objects.filter(host=host).annotate(invitee_count=Count("invitations"))


def meeting_of(*, host: User, public_id: str) -> Meeting | None:
    """The host's own meeting, or None (also for someone else's: no existence leak)."""
    try:
        return meetings_of(host=host).get(public_id=public_id)
    except (Meeting.DoesNotExist, ValueError, ValidationError):
        return None


def _host_occurrences(host: User) -> QuerySet[Occurrence]:
    return (
        Occurrence.objects.filter(meeting__host=host)
        .select_related("meeting")
        .annotate(invitee_count=Count("meeting__invitations"))
    )


def upcoming_occurrences(
    *, host: User, now: datetime | None = None, limit: int = 50
) -> list[Occurrence]:
    """Live and future sittings, soonest first."""
    now = now or timezone.now()
    # A sitting lasts at most a day, so older starts cannot still be open.
    candidates = (
        _host_occurrences(host)
        .filter(
            status__in=OPEN_STATUSES,
            starts_at__gte=now - timedelta(days=1) - LATE_JOIN_GRACE,
        )
        .order_by("starts_at")
    )
    live = _host_occurrences(host).filter(status=Occurrence.Status.LIVE)
    rows = {o.pk: o for o in [*live, *candidates[: limit * 2]] if o.is_open(now)}
    return sorted(rows.values(), key=lambda o: o.starts_at)[:limit]


def past_occurrences(
    *, host: User, now: datetime | None = None, limit: int = 50
) -> list[Occurrence]:
    """Sittings that are over (held or not), latest first."""
    now = now or timezone.now()
    rows = (
        _host_occurrences(host)
        .filter(
            status__in=[Occurrence.Status.ENDED, Occurrence.Status.SCHEDULED], starts_at__lt=now
        )
        .order_by("-starts_at")
    )
    return [o for o in rows[: limit * 2] if not o.is_open(now)][:limit]


def joinable_occurrence(*, token: str, now: datetime | None = None) -> Occurrence:
    """The occurrence a join link opens now: the live one, else the next one.

    Unknown tokens, cancelled meetings and meetings that are over all raise the same
    NotJoinable, so the page cannot tell an attacker which tokens exist.
    """
    now = now or timezone.now()
    meeting = (
        Meeting.objects.filter(join_token=token, status=Meeting.Status.SCHEDULED)
        .prefetch_related(
            Prefetch(
                "occurrences",
                queryset=Occurrence.objects.filter(status__in=OPEN_STATUSES),
                to_attr="open_occurrences",
            )
        )
        .select_related("host")
        .first()
    )
    if meeting is None:
        raise NotJoinable()
    candidates = [o for o in meeting.open_occurrences if o.is_open(now)]  # type: ignore[attr-defined]
    if not candidates:
        raise NotJoinable()
    live = [o for o in candidates if o.status == Occurrence.Status.LIVE]
    return live[0] if live else min(candidates, key=lambda o: o.starts_at)


def admitted_per_day(*, since: datetime) -> dict[date, int]:
    """Participant sessions let into a sitting, per UTC day since ``since`` (the call-quality
    survey's response rate is answers over these)."""
    rows = (
        ParticipantSession.objects.filter(admitted_at__gte=since)
        .annotate(day=TruncDate("admitted_at", tzinfo=UTC))
        .values("day")
        .annotate(n=Count("pk"))
    )
    return {row["day"]: row["n"] for row in rows}
