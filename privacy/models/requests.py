from django.db import models

from conferencing.references import short_reference


def new_request_reference() -> str:
    """A privacy request's reference, e.g. "PR-7KQ2-9XWD"."""
    return short_reference("PR")


class PrivacyRequest(models.Model):
    """A California privacy request, from receipt to its answer. Moves live in states.py."""

    class Kind(models.TextChoices):
        SHINE_THE_LIGHT = "shine_the_light", "California Privacy Rights Notice (Shine the Light)"
        ACCESS = "access", "Know and access my information"
        DELETE = "delete", "Delete my information"
        CORRECT = "correct", "Correct my information"
        OPT_OUT = "opt_out", "Opt out of sale or sharing"
        LIMIT = "limit", "Limit use of sensitive information"

    class Channel(models.TextChoices):
        WEB_FORM = "web_form", "Web form"
        DESIGNATED_EMAIL = "designated_email", "The designated email address"
        DESIGNATED_POST = "designated_post", "Post to the designated address"
        ELSEWHERE = "elsewhere", "Another address or channel"
        # Settings → Delete account, signed in and with the password entered again.
        ACCOUNT_SETTINGS = "account_settings", "Account settings (signed in, password re-entered)"

    class State(models.TextChoices):
        UNVERIFIED = "unverified", "Waiting for the requester to verify"
        RECEIVED = "received", "Received"
        IN_PROGRESS = "in_progress", "In progress"
        COMPLETED = "completed", "Completed"
        DENIED = "denied", "Denied"
        LAPSED = "lapsed", "Never verified"

    reference = models.CharField(max_length=16, unique=True, default=new_request_reference)
    kind = models.CharField(max_length=24, choices=Kind.choices)
    state = models.CharField(max_length=16, choices=State.choices)
    channel = models.CharField(max_length=24, choices=Channel.choices)
    name = models.CharField(max_length=150)
    email = models.EmailField(max_length=254)
    # The keyed hash of the email (privacy.disclosures.subject_key): it outlives the
    # address, which a completed deletion removes from this row too.
    subject_key = models.CharField(max_length=64, db_index=True)
    postal_address = models.TextField(blank=True)
    california_resident = models.BooleanField()
    user = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    received_at = models.DateTimeField()
    verified_at = models.DateTimeField(null=True, blank=True)
    # The answer's deadline and the clock it comes from (privacy/deadlines.py).
    due_on = models.DateField()
    clock = models.CharField(max_length=64)
    # CCPA: receipt must be confirmed within 10 business days.
    confirm_due_on = models.DateField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    extended_at = models.DateTimeField(null=True, blank=True)
    extension_reason = models.TextField(blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.TextField(blank=True)  # what the requester was told
    # Kind-specific input, e.g. the corrections asked for.
    details = models.JSONField(default=dict, blank=True)
    # Access: the built ZIP, its expiry and the job's progress.
    progress = models.PositiveSmallIntegerField(default=0)
    export_file = models.CharField(max_length=255, blank=True)
    export_expires_at = models.DateTimeField(null=True, blank=True)
    reminders_sent = models.JSONField(default=list, blank=True)  # days-before already sent
    # Access: a requester who proved only a mailbox (no re-authenticated account) gets
    # the link once a privacy admin has looked at the built ZIP (access_export.py).
    release_required = models.BooleanField(default=False)
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["due_on", "received_at"]
        indexes = [
            models.Index(fields=["state", "due_on"]),
            models.Index(fields=["email", "kind", "received_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.kind} ({self.state})"

    @property
    def awaiting_release(self) -> bool:
        """The ZIP is built and waits for a privacy admin before its link goes out."""
        return (
            self.release_required
            and self.released_at is None
            and self.state == self.State.IN_PROGRESS
            and bool(self.export_file)
        )


class PrivacyRequestEvent(models.Model):
    """The request's history: every step, who took it and when."""

    request = models.ForeignKey(PrivacyRequest, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField()
    actor = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=254)
    action = models.CharField(max_length=48)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.request_id} {self.action} at {self.at:%Y-%m-%d %H:%M}"


class ShineTheLightNotice(models.Model):
    """The notice sent for a Shine the Light request, computed from the disclosure ledger.

    One per customer per calendar year: `customer_key` is the keyed hash of their email.
    """

    request = models.OneToOneField(PrivacyRequest, on_delete=models.CASCADE, related_name="notice")
    customer_key = models.CharField(max_length=64)
    request_year = models.PositiveSmallIntegerField()
    covered_year = models.PositiveSmallIntegerField()
    # [{"category": ..., "label": ...}], [{"name", "postal_address", "business", "categories"}]
    categories = models.JSONField(default=list)
    third_parties = models.JSONField(default=list)
    text = models.TextField()
    created_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["customer_key", "request_year"], name="shine_the_light_once_a_year"
            )
        ]

    def __str__(self) -> str:
        return f"Shine the Light notice {self.request_year} for {self.customer_key[:8]}"
