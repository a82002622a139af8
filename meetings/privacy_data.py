"""A person's meetings for a privacy request: export, and erasure that keeps the counts.

Meetings the person hosts are theirs and go entirely. In other hosts' meetings their
attendance rows and invitations stay, with the name and address replaced: the times are
kept, and each original address gets its own stand-in, so unique and peak counts and
person-minutes come out as before (see ``attendance.people``).

Other people's data stays out of the export: a hosted meeting shows how many were
invited and how many attended, not who.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from privacy.subjects import (
    REMOVED_NAME,
    AppData,
    ErasureLine,
    Subject,
    lines_with_rows,
    placeholder_email,
    row,
)

from .attendance import EMPTY_SUMMARY, Interval, Summary, merge, peak
from .models import (
    Invitation,
    Meeting,
    Occurrence,
    ParticipantSession,
    ReminderDelivery,
    UsageSummaryDelivery,
)

APP = "meetings"


def _hosted(subject: Subject) -> QuerySet[Meeting]:
    if subject.user is None:
        return Meeting.objects.none()
    return Meeting.objects.filter(host=subject.user)


def _own_sessions(subject: Subject) -> QuerySet[ParticipantSession]:
    """Every attendance row of the person: signed in, or as a guest with their address."""
    query = subject.email_q("email")
    if subject.user is not None:
        query |= Q(user=subject.user)
    return ParticipantSession.objects.filter(query)


def _own_invitations(subject: Subject) -> QuerySet[Invitation]:
    return Invitation.objects.filter(subject.email_q("email"))


def _own_reminders(subject: Subject) -> QuerySet[ReminderDelivery]:
    """Reminders addressed to the person, whoever hosts the meeting."""
    return ReminderDelivery.objects.filter(subject.email_q("email"))


def _own_usage_summaries(subject: Subject) -> QuerySet[UsageSummaryDelivery]:
    if subject.user is None:
        return UsageSummaryDelivery.objects.none()
    return UsageSummaryDelivery.objects.filter(host=subject.user)


def _not_hosted(subject: Subject) -> Q:
    return ~Q(occurrence__meeting__host=subject.user) if subject.user is not None else Q()


def _summaries(subject: Subject) -> dict[int, Summary]:
    """Attendance counts of every sitting the person hosted, as ``attendance.summarise``
    computes them, from plain tuples: a host with a hundred thousand attendance rows
    would spend seconds building model instances for three numbers a sitting."""
    if subject.user is None:
        return {}
    now = timezone.now()
    per_person: dict[int, dict[str, list[Interval]]] = defaultdict(lambda: defaultdict(list))
    rows = ParticipantSession.objects.filter(
        occurrence__meeting__host=subject.user, admitted_at__isnull=False
    ).values_list("occurrence_id", "user_id", "email", "admitted_at", "left_at")
    for occurrence_id, user_id, email, admitted_at, left_at in rows.iterator(chunk_size=5000):
        # The same person key as ``attendance.people``.
        key = f"user:{user_id}" if user_id else f"email:{email.lower()}"
        if admitted_at is not None:  # filtered out already; this tells the type checker
            per_person[occurrence_id][key].append((admitted_at, left_at or now))
    summaries = {}
    for occurrence_id, people in per_person.items():
        merged = [merge(intervals) for intervals in people.values()]
        seconds = [
            int(sum((end - start for start, end in own), timedelta()).total_seconds())
            for own in merged
        ]
        summaries[occurrence_id] = Summary(
            unique_participants=len(merged),
            peak_concurrent=peak(merged),
            person_minutes=round(sum(seconds) / 60, 1),
        )
    return summaries


def export_for(subject: Subject) -> AppData:
    meetings = (
        _hosted(subject)
        .annotate(invitees=Count("invitations", distinct=True))
        .order_by("created_at", "pk")
    )
    hosted = [
        row(
            meeting_id=m.public_id,
            title=m.title,
            agenda=m.agenda,
            time_zone=m.time_zone,
            starts_on=m.starts_on,
            start_time=m.start_time,
            duration_minutes=m.duration_minutes,
            recurrence=m.get_recurrence_display(),
            recurrence_interval=m.recurrence_interval,
            recurrence_weekdays=m.recurrence_weekdays,
            recurrence_until=m.recurrence_until,
            recurrence_count=m.recurrence_count,
            has_passcode=bool(m.passcode),
            lobby_enabled=m.lobby_enabled,
            recording_allowed=m.recording_allowed,
            is_instant=m.is_instant,
            status=m.get_status_display(),
            invitees=m.invitees,
            created_at=m.created_at,
            updated_at=m.updated_at,
            cancelled_at=m.cancelled_at,
        )
        for m in meetings
    ]
    occurrences = list(
        Occurrence.objects.filter(meeting__in=_hosted(subject))
        .select_related("meeting")
        .order_by("starts_at", "pk")
    )
    summaries = _summaries(subject)
    sittings = [
        row(
            meeting_id=o.meeting.public_id,
            meeting_title=o.meeting.title,
            sitting_id=o.public_id,
            starts_at=o.starts_at,
            duration_minutes=o.duration_minutes,
            status=o.get_status_display(),
            started_at=o.started_at,
            ended_at=o.ended_at,
            participants=summaries.get(o.pk, EMPTY_SUMMARY).unique_participants,
            most_at_once=summaries.get(o.pk, EMPTY_SUMMARY).peak_concurrent,
            person_minutes=summaries.get(o.pk, EMPTY_SUMMARY).person_minutes,
        )
        for o in occurrences
    ]
    invitations = [
        row(
            meeting_title=i.meeting.title,
            email=i.email,
            invited_at=i.created_at,
            last_sent_at=i.last_sent_at,
        )
        for i in _own_invitations(subject).select_related("meeting").order_by("created_at", "pk")
    ]
    attendance = [
        row(
            meeting_title=s.occurrence.meeting.title,
            sitting_starts_at=s.occurrence.starts_at,
            as_host=s.is_host,
            display_name=s.display_name,
            email=s.email,
            state=s.get_state_display(),
            asked_to_join_at=s.requested_at,
            admitted_at=s.admitted_at,
            left_at=s.left_at,
            leave_reason=s.get_leave_reason_display() if s.leave_reason else "",
        )
        for s in _own_sessions(subject)
        .select_related("occurrence__meeting")
        .order_by("requested_at", "pk")
    ]
    reminders = [
        row(
            meeting_title=r.occurrence.meeting.title,
            sitting_starts_at=r.starts_at,
            reminder=r.get_kind_display(),
            email=r.email,
            status=r.get_status_display(),
            sent_at=r.sent_at,
        )
        for r in _own_reminders(subject)
        .select_related("occurrence__meeting")
        .order_by("starts_at", "pk")
    ]
    summaries_sent = [
        row(month=s.month.strftime("%Y-%m"), sent_at=s.sent_at)
        for s in _own_usage_summaries(subject).order_by("month")
    ]
    return {
        "meetings_hosted": hosted,
        "sittings_hosted": sittings,
        "invitations": invitations,
        "attendance": attendance,
        "meeting_reminders": reminders,
        "usage_summaries": summaries_sent,
    }


def erase_for(subject: Subject, *, dry_run: bool) -> list[ErasureLine]:
    hosted = _hosted(subject)
    sessions = _own_sessions(subject).filter(_not_hosted(subject))
    invitations = _own_invitations(subject)
    if subject.user is not None:
        invitations = invitations.exclude(meeting__host=subject.user)
    lines = [
        ErasureLine(APP, "Meetings they host", hosted.count(), "deleted"),
        ErasureLine(
            APP,
            "Sittings of the meetings they host",
            Occurrence.objects.filter(meeting__in=hosted).count(),
            "deleted",
        ),
        ErasureLine(
            APP,
            "Invitations to the meetings they host",
            Invitation.objects.filter(meeting__in=hosted).count(),
            "deleted",
        ),
        ErasureLine(
            APP,
            "Attendance rows in the meetings they host (everyone's)",
            ParticipantSession.objects.filter(occurrence__meeting__in=hosted).count(),
            "deleted",
        ),
        ErasureLine(
            APP,
            f"Their attendance rows in other hosts' meetings: name becomes “{REMOVED_NAME}”, "
            "the address a stand-in; times stay so the host's counts and minutes stay right",
            sessions.count(),
            "anonymised",
        ),
        ErasureLine(
            APP,
            "Invitations they received from other hosts: the address becomes a stand-in",
            invitations.count(),
            "anonymised",
        ),
        ErasureLine(
            APP, "Meeting reminders sent or due to them", _own_reminders(subject).count(), "deleted"
        ),
        ErasureLine(
            APP,
            "Monthly usage summaries sent to them",
            _own_usage_summaries(subject).count(),
            "deleted",
        ),
    ]
    if dry_run:
        return lines_with_rows(lines)
    with transaction.atomic():
        # Before the invitations: a reminder row names the address its invitation had.
        _own_reminders(subject).delete()
        _own_usage_summaries(subject).delete()
        _anonymise_sessions(sessions)
        for invitation_pk in list(invitations.values_list("pk", flat=True)):
            Invitation.objects.filter(pk=invitation_pk).update(email=placeholder_email())
        # Occurrences, invitations and attendance rows go with their meeting (CASCADE).
        # Recordings of these meetings are deleted by recordings' own erase, files too.
        hosted.delete()
    return lines_with_rows(lines)


def _anonymise_sessions(sessions: QuerySet[ParticipantSession]) -> None:
    # One stand-in per sitting and original address: a guest is counted by address, so two
    # sessions of one guest stay one person and two guests stay two; a new stand-in in
    # every sitting keeps the rows of different meetings from being linked to each other.
    groups: dict[tuple[int, str], list[int]] = defaultdict(list)
    for pk, occurrence_id, email in sessions.values_list("pk", "occurrence_id", "email"):
        groups[(occurrence_id, email.lower())].append(pk)
    for pks in groups.values():
        ParticipantSession.objects.filter(pk__in=pks).update(
            email=placeholder_email(), display_name=REMOVED_NAME
        )
