import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models

from accounts.timezones import validate_time_zone

# How long after its scheduled end a sitting that never started still takes joiners.
LATE_JOIN_GRACE = timedelta(minutes=30)


class Recurrence(models.TextChoices):
    NONE = "none", "Does not repeat"
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly on chosen days"
    MONTHLY = "monthly", "Monthly on the same date"


class Meeting(models.Model):
    """A meeting series as the host scheduled it; a one-off meeting has one occurrence.

    Start date and wall-clock time are kept in the host's time zone, so a weekly meeting
    stays at 09:00 local across daylight-saving changes; occurrences carry UTC instants.
    """

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        CANCELLED = "cancelled", "Cancelled"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    host = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="hosted_meetings"
    )
    title = models.CharField(max_length=200)
    agenda = models.TextField(blank=True, max_length=5000)
    time_zone = models.CharField(max_length=64, validators=[validate_time_zone])
    starts_on = models.DateField()
    start_time = models.TimeField()
    duration_minutes = models.PositiveIntegerField()
    recurrence = models.CharField(max_length=16, choices=Recurrence.choices, default="none")
    recurrence_interval = models.PositiveSmallIntegerField(default=1)
    # ISO weekday numbers, Monday = 0, for weekly series.
    recurrence_weekdays = models.JSONField(default=list, blank=True)
    recurrence_until = models.DateField(null=True, blank=True)
    recurrence_count = models.PositiveSmallIntegerField(null=True, blank=True)
    join_token = models.CharField(max_length=64, unique=True)
    passcode = models.CharField(max_length=16, blank=True)
    lobby_enabled = models.BooleanField(default=True)
    recording_allowed = models.BooleanField(default=False)
    is_instant = models.BooleanField(default=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SCHEDULED)
    # The iCalendar SEQUENCE: grows with every change that invitees are sent.
    sequence = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["host", "status"])]

    def __str__(self) -> str:
        return self.title

    @property
    def is_recurring(self) -> bool:
        return self.recurrence != Recurrence.NONE


class Occurrence(models.Model):
    """One sitting of a meeting: when it happens, and what happened."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        LIVE = "live", "In progress"
        ENDED = "ended", "Ended"
        CANCELLED = "cancelled", "Cancelled"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="occurrences")
    # Where the series rule put it: the iCalendar RECURRENCE-ID of an override.
    original_start = models.DateTimeField()
    starts_at = models.DateTimeField()
    duration_minutes = models.PositiveIntegerField()
    is_override = models.BooleanField(default=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SCHEDULED)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    # The host locked the room: nobody new gets in, not even to the lobby.
    locked = models.BooleanField(default=False)
    # The host muted everyone and locked unmuting: only hosts may turn their microphone on.
    unmute_locked = models.BooleanField(default=False)
    # The media engine this sitting runs on, chosen once when its media first starts
    # (meetings.room.engine); empty until then. A running sitting never switches.
    media_engine = models.CharField(max_length=8, blank=True, default="")
    # Its Janus VideoRoom while it runs on Janus: room id, secret, pin, publishers. Kept
    # here so that every process uses the same room and can recreate it after a restart.
    janus_room = models.JSONField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["meeting", "original_start"], name="occurrence_unique_slot"
            )
        ]
        indexes = [
            models.Index(fields=["meeting", "starts_at"]),
            # The reminder scan: sittings still to come, by start.
            models.Index(
                fields=["starts_at"],
                name="occurrence_scheduled_start",
                condition=models.Q(status="scheduled"),
            ),
        ]
        ordering = ["starts_at"]

    def __str__(self) -> str:
        return f"{self.meeting} at {self.starts_at:%Y-%m-%d %H:%M} UTC"

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + timedelta(minutes=self.duration_minutes)

    def is_open(self, now: datetime) -> bool:
        """Whether the sitting takes joiners: live, or scheduled and not past its end by
        more than the late-join grace. Cancelled and ended sittings never are."""
        return self.status == self.Status.LIVE or (
            self.status == self.Status.SCHEDULED and self.ends_at + LATE_JOIN_GRACE > now
        )


class Invitation(models.Model):
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(max_length=254)
    created_at = models.DateTimeField(auto_now_add=True)
    last_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["meeting", "email"], name="invitation_unique_email")
        ]
        ordering = ["email"]

    def __str__(self) -> str:
        return f"{self.email} to {self.meeting}"


class ParticipantSession(models.Model):
    """One join: from the lobby request to leaving. A rejoin is a new session."""

    class State(models.TextChoices):
        WAITING = "waiting", "Waiting in the lobby"
        ADMITTED = "admitted", "In the meeting"
        DENIED = "denied", "Denied entry"
        LEFT = "left", "Left"

    class LeaveReason(models.TextChoices):
        LEFT = "left", "Left"
        REMOVED = "removed", "Removed by the host"
        TIMEOUT = "timeout", "Connection lost"
        ENDED = "ended", "Meeting ended"
        GAVE_UP = "gave_up", "Left the lobby"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    occurrence = models.ForeignKey(Occurrence, on_delete=models.CASCADE, related_name="sessions")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="participant_sessions",
    )
    email = models.EmailField(max_length=254)
    display_name = models.CharField(max_length=80)
    invitation = models.ForeignKey(
        Invitation, null=True, blank=True, on_delete=models.SET_NULL, related_name="sessions"
    )
    is_host = models.BooleanField(default=False)
    state = models.CharField(max_length=16, choices=State.choices, default=State.WAITING)
    requested_at = models.DateTimeField()
    admitted_at = models.DateTimeField(null=True, blank=True)
    left_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField()
    leave_reason = models.CharField(max_length=16, choices=LeaveReason.choices, blank=True)
    # What the room shows about this participant.
    audio_muted = models.BooleanField(default=False)
    video_off = models.BooleanField(default=False)
    hand_raised = models.BooleanField(default=False)
    screen_sharing = models.BooleanField(default=False)

    class Meta:
        indexes = [
            models.Index(fields=["occurrence", "state"]),
            models.Index(fields=["state", "last_seen_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.display_name} in {self.occurrence_id} ({self.state})"


class RoomAction(models.Model):
    """The audit trail of the room's moderation: who admitted, removed, muted, locked,
    ended or recorded, from which door, and to whom. Names and addresses stay on the
    sessions (erased with them); this keeps only references."""

    occurrence = models.ForeignKey(Occurrence, on_delete=models.CASCADE, related_name="actions")
    action = models.CharField(max_length=32)
    door = models.CharField(max_length=16)  # room, page, api, task
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_session = models.ForeignKey(
        ParticipantSession, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    target = models.ForeignKey(
        ParticipantSession, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    details = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["occurrence", "at"])]

    def __str__(self) -> str:
        return f"{self.action} in {self.occurrence_id} by {self.door}"


class ReminderDelivery(models.Model):
    """One reminder to one person for one sitting at one start time: the claim that makes
    it go out once. The beat scan inserts it (pending); a worker sends it in the same
    transaction that marks it sent, so a worker killed halfway leaves it pending and whole.

    The key holds the start it was armed for: a rescheduled sitting gets fresh rows for its
    new time, while the rows of the old time stay as the record of what was sent.
    """

    class Kind(models.TextChoices):
        DAY_BEFORE = "24h", "24 hours before"
        SOON = "10m", "10 minutes before"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        SENT = "sent", "Sent"
        SKIPPED = "skipped", "Not sent"

    occurrence = models.ForeignKey(Occurrence, on_delete=models.CASCADE, related_name="+")
    starts_at = models.DateTimeField()
    kind = models.CharField(max_length=8, choices=Kind.choices)
    email = models.EmailField(max_length=254)
    # The invitee's row, for their personal link; null for the host.
    invitation = models.ForeignKey(
        Invitation, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    skip_reason = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # When a worker was last handed it; the scan hands it out again after a lease.
    dispatched_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["occurrence", "kind", "starts_at", "email"], name="reminder_once"
            )
        ]
        indexes = [
            # The scan's re-dispatch of claims a dead worker left behind.
            models.Index(
                fields=["dispatched_at"],
                name="reminder_pending",
                condition=models.Q(status="pending"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} reminder of {self.occurrence_id} to {self.email} ({self.status})"


class UsageSummaryDelivery(models.Model):
    """The monthly usage summary of one host for one month: unique, so it goes once."""

    host = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    month = models.DateField()  # the first day of the month summarised
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["host", "month"], name="usage_summary_once")]

    def __str__(self) -> str:
        return f"usage summary of {self.month:%Y-%m} to {self.host_id}"
