from django.conf import settings
from django.db import models

from conferencing.references import short_reference


def new_reference() -> str:
    """A ticket's reference, e.g. "C-7KQ2-9XWD"."""
    return short_reference("C")


class Topic(models.TextChoices):
    PRIVACY = "privacy", "Privacy"
    BILLING = "billing", "Billing"
    SUPPORT = "support", "Technical support"
    OTHER = "other", "Something else"


class Ticket(models.Model):
    """A message sent through the contact form, and the queue state staff move it through."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ANSWERED = "answered", "Answered"
        CLOSED = "closed", "Closed"

    reference = models.CharField(max_length=16, unique=True, default=new_reference)
    name = models.CharField(max_length=150)
    email = models.EmailField(max_length=254)
    topic = models.CharField(max_length=16, choices=Topic.choices)
    message = models.TextField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "topic", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.reference} {self.topic} from {self.email}"


class TicketReply(models.Model):
    """A staff answer, emailed to the person who wrote, or an internal note."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="replies")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    author_label = models.CharField(max_length=254)
    body = models.TextField()
    internal = models.BooleanField(default=False)  # a note for staff, not sent
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name_plural = "ticket replies"

    def __str__(self) -> str:
        return f"reply to {self.ticket_id} by {self.author_label}"
