"""Answers to the room's end-screen survey, "How was the call?".

One row per participant session (a sitting's participant: the unique constraint is the
"one answer per sitting" rule). Beside the answer, the technical context the room knew,
and only that: the browser's family and major version parsed server-side (never the
user-agent string), the media worker, whether the client relayed through TURN, and a
summary of its own getStats figures. No IP address is stored.
"""

from django.db import models


class Reason(models.TextChoices):
    AUDIO = "audio", "Audio"
    VIDEO = "video", "Video"
    SCREEN_SHARE = "screen_share", "Screen share"
    CONNECTION = "connection", "Connection"
    OTHER = "other", "Something else"


COMMENT_MAX_LENGTH = 1000


class CallRating(models.Model):
    participant = models.OneToOneField(
        "meetings.ParticipantSession", on_delete=models.CASCADE, related_name="call_rating"
    )
    occurrence = models.ForeignKey(
        "meetings.Occurrence", on_delete=models.CASCADE, related_name="call_ratings"
    )
    stars = models.PositiveSmallIntegerField()
    reasons = models.JSONField(default=list, blank=True)  # Reason values, no duplicates
    comment = models.TextField(max_length=COMMENT_MAX_LENGTH, blank=True)
    browser_family = models.CharField(max_length=24, blank=True)
    browser_major = models.PositiveSmallIntegerField(null=True, blank=True)
    media_worker = models.CharField(max_length=80, blank=True)
    used_turn = models.BooleanField(null=True, blank=True)
    packet_loss_pct = models.FloatField(null=True, blank=True)  # mean inbound loss, 0-100
    rtt_ms = models.PositiveIntegerField(null=True, blank=True)  # median round-trip time
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(stars__gte=1, stars__lte=5), name="call_rating_stars_1_to_5"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.stars}/5 for sitting {self.occurrence_id}"
