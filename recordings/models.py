"""Recordings, the consent receipts kept with them, and their share links.

A recording's files live under ``settings.RECORDINGS_ROOT / <public_id>/``: ``tracks/`` (what
the media server wrote: one WebM per track and ``journal.jsonl``), then ``composed.mp4`` and
``thumbnail.jpg`` once processed. The originals are removed once the composed file is
verified.
"""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.db import models


class Recording(models.Model):
    class State(models.TextChoices):
        RECORDING = "recording", "Recording"
        PROCESSING = "processing", "Processing"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    meeting = models.ForeignKey(
        "meetings.Meeting", on_delete=models.CASCADE, related_name="recordings"
    )
    occurrence = models.ForeignKey(
        "meetings.Occurrence", on_delete=models.CASCADE, related_name="recordings"
    )
    host = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="recordings"
    )
    title = models.CharField(max_length=200)
    state = models.CharField(max_length=16, choices=State.choices, default=State.RECORDING)
    # processing
    progress = models.PositiveSmallIntegerField(default=0)  # percent, while processing
    failure_reason = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    lease_token = models.CharField(max_length=32, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    # what was recorded, and what came out
    started_at = models.DateTimeField()
    stopped_at = models.DateTimeField(null=True, blank=True)
    recorded_seconds = models.FloatField(null=True, blank=True)
    duration_seconds = models.FloatField(null=True, blank=True)
    size_bytes = models.BigIntegerField(null=True, blank=True)
    has_thumbnail = models.BooleanField(default=False)
    # retention and quality assurance
    retention_days = models.PositiveIntegerField()
    expires_at = models.DateTimeField(null=True, blank=True)
    trashed_at = models.DateTimeField(null=True, blank=True)
    qa_use_allowed = models.BooleanField(default=True)
    qa_use_changed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [
            models.Index(fields=["host", "-started_at"]),
            models.Index(fields=["state", "lease_until"]),
            models.Index(fields=["expires_at"]),
            models.Index(fields=["trashed_at"]),
        ]
        constraints = [
            # One recording at a time per sitting.
            models.UniqueConstraint(
                fields=["occurrence"],
                condition=models.Q(state="recording"),
                name="one_running_recording_per_occurrence",
            ),
        ]
        permissions = [("access_for_qa", "Open recordings the host allowed for quality assurance")]

    def __str__(self) -> str:
        return self.title


class ConsentReceipt(models.Model):
    """One participant's choice about one recording; every choice is kept."""

    class Decision(models.TextChoices):
        ACCEPTED = "accepted", "Accepted"
        DECLINED = "declined", "Declined"

    class Context(models.TextChoices):
        STARTED = "started", "Started the recording"
        IN_MEETING = "in_meeting", "Asked when the recording started"
        ON_JOIN = "on_join", "Asked on joining while recording"

    recording = models.ForeignKey(Recording, on_delete=models.CASCADE, related_name="consents")
    session = models.ForeignKey(
        "meetings.ParticipantSession",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="recording_consents",
    )
    participant_id = models.UUIDField()  # the participant session's public id
    display_name = models.CharField(max_length=80)
    email = models.EmailField(max_length=254, blank=True)
    decision = models.CharField(max_length=16, choices=Decision.choices)
    context = models.CharField(max_length=16, choices=Context.choices)
    decided_at = models.DateTimeField()

    class Meta:
        ordering = ["decided_at", "pk"]
        indexes = [models.Index(fields=["recording", "participant_id", "-decided_at"])]

    def __str__(self) -> str:
        return f"{self.display_name} {self.decision} {self.recording_id}"


def new_share_token() -> str:
    return secrets.token_urlsafe(24)


class ShareLink(models.Model):
    """A link through which someone without the host's account may watch a recording."""

    recording = models.ForeignKey(Recording, on_delete=models.CASCADE, related_name="share_links")
    token = models.CharField(max_length=64, unique=True, default=new_share_token)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    passcode_hash = models.CharField(max_length=128, blank=True)
    allow_download = models.BooleanField(default=False)
    revoked_at = models.DateTimeField(null=True, blank=True)
    views = models.PositiveIntegerField(default=0)
    last_viewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"share link of {self.recording_id}"

    @property
    def has_passcode(self) -> bool:
        return bool(self.passcode_hash)
