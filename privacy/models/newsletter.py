from django.conf import settings
from django.db import models
from django.db.models.functions import Lower

from .email import OutgoingEmail


class NewsletterSignup(models.Model):
    """A newsletter sign-up waiting for, or past, its email confirmation (double opt-in).

    Until `confirmed_at` is set the address receives nothing but the confirmation link;
    confirming subscribes it through the email preferences, where the mailer looks.
    """

    email = models.EmailField(max_length=254)
    requested_at = models.DateTimeField()
    confirmations_sent = models.PositiveSmallIntegerField(default=0)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(Lower("email"), name="newsletter_signup_email")]

    def __str__(self) -> str:
        state = "confirmed" if self.confirmed_at else "pending"
        return f"{self.email} ({state})"


class Newsletter(models.Model):
    """One issue of the newsletter, written in Markdown by staff and sent in batches."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"

    subject = models.CharField(max_length=200)
    body_markdown = models.TextField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    send_started_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    recipients = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.subject


class NewsletterDelivery(models.Model):
    """The send log: one row per newsletter and recipient, frozen when sending starts."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for its batch"
        QUEUED = "queued", "Handed to the mailer"
        SUPPRESSED = "suppressed", "Skipped: unsubscribed"

    newsletter = models.ForeignKey(Newsletter, on_delete=models.CASCADE, related_name="deliveries")
    email = models.EmailField(max_length=254)
    batch = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    # The outbox row carries the message's own fate (sent, failed, suppressed at send time).
    outgoing = models.ForeignKey(
        OutgoingEmail, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["newsletter", "email"], name="newsletter_once_each")
        ]
        indexes = [models.Index(fields=["newsletter", "batch", "status"])]
        verbose_name_plural = "newsletter deliveries"

    def __str__(self) -> str:
        return f"{self.newsletter_id} to {self.email}: {self.status}"
