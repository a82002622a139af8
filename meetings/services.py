"""Every write to meetings, occurrences and invitations goes through here."""

import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from billing.entitlements import entitlements_for

from . import invitations as invitation_mail
from . import occurrences
from .models import Invitation, Meeting, Occurrence, Recurrence
from .schedule import Schedule, occurrence_starts, schedule_of, validate

JOIN_TOKEN_BYTES = 24  # 192 random bits; the issue asks for at least 128
PASSCODE_DIGITS = 8
MAX_INVITEES_PER_REQUEST = 200
INSTANT_MEETING_TITLE = "Instant meeting"


def new_join_token() -> str:
    return secrets.token_urlsafe(JOIN_TOKEN_BYTES)


def new_passcode() -> str:
    return "".join(secrets.choice("0123456789") for _ in range(PASSCODE_DIGITS))


def normalise_emails(emails: Iterable[str]) -> list[str]:
    """Lower-cased, de-duplicated, validated addresses; raises on the first bad one."""
    seen: dict[str, None] = {}
    for raw in emails:
        if not isinstance(raw, str):
            raise ValidationError({"invitees": ["Give each invitee as an email address."]})
        email = raw.strip().lower()
        if not email:
            continue
        try:
            validate_email(email)
        except ValidationError as exc:
            raise ValidationError(
                {"invitees": [f"“{raw.strip()}” is not a valid email address."]}
            ) from exc
        seen[email] = None
    if len(seen) > MAX_INVITEES_PER_REQUEST:
        raise ValidationError(
            {"invitees": [f"Invite at most {MAX_INVITEES_PER_REQUEST} people at a time."]}
        )
    return list(seen)


def check_plan_limits(*, host: User, duration_minutes: int, invitee_count: int) -> None:
    plan = entitlements_for(host)
    errors: dict[str, list[str]] = {}
    if duration_minutes > plan.max_meeting_minutes:
        errors["duration_minutes"] = [
            f"Your {plan.plan_name} plan allows meetings of up to "
            f"{plan.max_meeting_minutes} minutes."
        ]
    if invitee_count + 1 > plan.max_participants:
        errors["invitees"] = [
            f"Your {plan.plan_name} plan allows up to {plan.max_participants} participants, "
            "including you."
        ]
    if errors:
        raise ValidationError(errors)


def check_schedule(
    *, host: User, schedule: Schedule, invitee_count: int, allow_past: bool = False
) -> None:
    """The schedule's own rules and the plan's limits, all reported at once."""
    errors: dict[str, list[str]] = {}
    checks = (
        lambda: validate(schedule, allow_past=allow_past),
        lambda: check_plan_limits(
            host=host, duration_minutes=schedule.duration_minutes, invitee_count=invitee_count
        ),
    )
    for check in checks:
        try:
            check()
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)


def _apply_schedule(meeting: Meeting, schedule: Schedule) -> None:
    meeting.time_zone = schedule.time_zone
    meeting.starts_on = schedule.starts_on
    meeting.start_time = schedule.start_time
    meeting.duration_minutes = schedule.duration_minutes
    meeting.recurrence = schedule.recurrence
    meeting.recurrence_interval = schedule.interval if schedule.recurrence != "none" else 1
    meeting.recurrence_weekdays = (
        sorted(schedule.weekdays) if schedule.recurrence == Recurrence.WEEKLY else []
    )
    meeting.recurrence_until = schedule.until if schedule.recurrence != "none" else None
    meeting.recurrence_count = schedule.count if schedule.recurrence != "none" else None


def _create_occurrences(meeting: Meeting, *, after: datetime | None = None) -> None:
    taken = set(meeting.occurrences.values_list("original_start", flat=True))
    Occurrence.objects.bulk_create(
        Occurrence(
            meeting=meeting,
            original_start=start,
            starts_at=start,
            duration_minutes=meeting.duration_minutes,
        )
        for start in occurrence_starts(schedule_of(meeting))
        if start not in taken and (after is None or start > after)
    )


@transaction.atomic
def schedule_meeting(
    *,
    host: User,
    title: str,
    schedule: Schedule,
    agenda: str = "",
    invitees: Iterable[str] = (),
    passcode_required: bool = True,
    lobby_enabled: bool = True,
    recording_allowed: bool = False,
) -> Meeting:
    emails = normalise_emails(invitees)
    check_schedule(host=host, schedule=schedule, invitee_count=len(emails))
    meeting = Meeting(
        host=host,
        title=title.strip(),
        agenda=agenda.strip(),
        join_token=new_join_token(),
        passcode=new_passcode() if passcode_required else "",
        lobby_enabled=lobby_enabled,
        recording_allowed=recording_allowed,
    )
    _apply_schedule(meeting, schedule)
    meeting.full_clean()
    meeting.save()
    _create_occurrences(meeting)
    created = Invitation.objects.bulk_create(Invitation(meeting=meeting, email=e) for e in emails)
    invitation_mail.send_request(meeting=meeting, invitations=created)
    return meeting


@transaction.atomic
def start_instant_meeting(*, host: User) -> Meeting:
    """'Meet now': a one-off meeting that starts this minute, as long as the plan allows."""
    zone = host.time_zone or "UTC"
    local_now = timezone.now().astimezone(ZoneInfo(zone))
    schedule = Schedule(
        time_zone=zone,
        starts_on=local_now.date(),
        start_time=local_now.time().replace(second=0, microsecond=0),
        duration_minutes=min(60, entitlements_for(host).max_meeting_minutes),
    )
    meeting = Meeting(
        host=host,
        title=INSTANT_MEETING_TITLE,
        join_token=new_join_token(),
        passcode=new_passcode(),
        is_instant=True,
    )
    _apply_schedule(meeting, schedule)
    meeting.save()
    _create_occurrences(meeting)
    return meeting


@transaction.atomic
def update_meeting(
    *,
    meeting: Meeting,
    title: str | None = None,
    agenda: str | None = None,
    schedule: Schedule | None = None,
    passcode_required: bool | None = None,
    lobby_enabled: bool | None = None,
    recording_allowed: bool | None = None,
) -> Meeting:
    """Edit the series. A new timing replaces the future occurrences (and their
    one-off changes); past and running ones keep their history."""
    meeting = Meeting.objects.select_for_update().get(pk=meeting.pk)
    _require_scheduled(meeting)
    # What invitees see in their calendars; only a change to these sends them an update.
    visible_before = (meeting.title, meeting.agenda, meeting.passcode)
    if title is not None:
        meeting.title = title.strip()
    if agenda is not None:
        meeting.agenda = agenda.strip()
    if passcode_required is not None and passcode_required != bool(meeting.passcode):
        meeting.passcode = new_passcode() if passcode_required else ""
    if lobby_enabled is not None:
        meeting.lobby_enabled = lobby_enabled
    if recording_allowed is not None:
        meeting.recording_allowed = recording_allowed
    timing_changed = schedule is not None and schedule != schedule_of(meeting)
    if schedule is not None and timing_changed:
        # An ongoing series keeps its first date; only future sittings are re-created.
        check_schedule(
            host=meeting.host,
            schedule=schedule,
            invitee_count=meeting.invitations.count(),
            allow_past=schedule.starts_on == meeting.starts_on,
        )
        _apply_schedule(meeting, schedule)
    notify = timing_changed or visible_before != (meeting.title, meeting.agenda, meeting.passcode)
    if notify:
        meeting.sequence += 1
    meeting.full_clean()
    meeting.save()
    if timing_changed:
        now = timezone.now()
        meeting.occurrences.filter(
            starts_at__gt=now, status=Occurrence.Status.SCHEDULED, sessions__isnull=True
        ).delete()
        _create_occurrences(meeting, after=now)
    if notify:
        invitation_mail.send_request(meeting=meeting, invitations=list(meeting.invitations.all()))
    return meeting


@transaction.atomic
def cancel_meeting(*, meeting: Meeting) -> Meeting:
    meeting = Meeting.objects.select_for_update().get(pk=meeting.pk)
    _require_scheduled(meeting)
    now = timezone.now()
    meeting.status = Meeting.Status.CANCELLED
    meeting.cancelled_at = now
    meeting.sequence += 1
    meeting.save(update_fields=["status", "cancelled_at", "sequence", "updated_at"])
    occurrences.cancel_all_scheduled(meeting.occurrences.all())
    invitation_mail.send_cancel(meeting=meeting, invitations=list(meeting.invitations.all()))
    return meeting


@transaction.atomic
def reschedule_occurrence(
    *, occurrence: Occurrence, starts_at: datetime, duration_minutes: int
) -> Occurrence:
    """Move one sitting of a series; invitees get an update for that date only."""
    occurrence = (
        Occurrence.objects.select_for_update().select_related("meeting").get(pk=occurrence.pk)
    )
    meeting = occurrence.meeting
    _require_scheduled(meeting)
    if occurrence.status != Occurrence.Status.SCHEDULED:
        raise ValidationError({"starts_at": ["Only a meeting that has not started can be moved."]})
    if starts_at < timezone.now() - timedelta(minutes=10):
        raise ValidationError({"starts_at": ["The new start time is in the past."]})
    if not 5 <= duration_minutes <= 24 * 60:
        raise ValidationError(
            {"duration_minutes": ["A meeting lasts between 5 minutes and 24 hours."]}
        )
    check_plan_limits(
        host=meeting.host,
        duration_minutes=duration_minutes,
        invitee_count=meeting.invitations.count(),
    )
    occurrence.starts_at = starts_at
    occurrence.duration_minutes = duration_minutes
    occurrence.is_override = True
    occurrence.save(update_fields=["starts_at", "duration_minutes", "is_override"])
    _bump_sequence(meeting)
    invitation_mail.send_request(meeting=meeting, invitations=list(meeting.invitations.all()))
    return occurrence


@transaction.atomic
def cancel_occurrence(*, occurrence: Occurrence) -> Occurrence:
    occurrence = (
        Occurrence.objects.select_for_update().select_related("meeting").get(pk=occurrence.pk)
    )
    meeting = occurrence.meeting
    _require_scheduled(meeting)
    if occurrence.status != Occurrence.Status.SCHEDULED:
        raise ValidationError({"status": ["Only a meeting that has not started can be cancelled."]})
    if (
        not meeting.occurrences.exclude(pk=occurrence.pk)
        .filter(status=Occurrence.Status.SCHEDULED)
        .exists()
    ):
        # The last sitting left: cancelling it is cancelling the meeting.
        cancel_meeting(meeting=meeting)
        occurrence.refresh_from_db()
        return occurrence
    occurrences.cancel(occurrence_id=occurrence.pk)
    occurrence.refresh_from_db()
    _bump_sequence(meeting)
    invitation_mail.send_cancel(
        meeting=meeting, invitations=list(meeting.invitations.all()), occurrence=occurrence
    )
    return occurrence


@transaction.atomic
def add_invitations(*, meeting: Meeting, emails: Iterable[str]) -> list[Invitation]:
    # The lock makes two concurrent additions of the same address queue up, not collide.
    meeting = Meeting.objects.select_for_update().get(pk=meeting.pk)
    _require_scheduled(meeting)
    wanted = normalise_emails(emails)
    existing = set(meeting.invitations.values_list("email", flat=True))
    new = [email for email in wanted if email not in existing]
    check_plan_limits(
        host=meeting.host,
        duration_minutes=meeting.duration_minutes,
        invitee_count=len(existing) + len(new),
    )
    created = Invitation.objects.bulk_create(Invitation(meeting=meeting, email=e) for e in new)
    invitation_mail.send_request(meeting=meeting, invitations=created)
    return created


@transaction.atomic
def remove_invitation(*, invitation: Invitation) -> None:
    """Uninvite: the person's calendar gets a cancellation, and their link stops working."""
    meeting = Meeting.objects.select_for_update().get(pk=invitation.meeting_id)
    _require_scheduled(meeting)
    _bump_sequence(meeting)
    invitation_mail.send_cancel(meeting=meeting, invitations=[invitation])
    invitation.delete()


def resend_invitation(*, invitation: Invitation) -> None:
    _require_scheduled(invitation.meeting)
    invitation_mail.send_request(meeting=invitation.meeting, invitations=[invitation])


def _bump_sequence(meeting: Meeting) -> None:
    meeting.sequence += 1
    meeting.save(update_fields=["sequence", "updated_at"])


def _require_scheduled(meeting: Meeting) -> None:
    if meeting.status == Meeting.Status.CANCELLED:
        raise ValidationError({"status": ["This meeting is cancelled and can't be changed."]})
