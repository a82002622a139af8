from django.db import models

from ..email_categories import Category


class EmailPreference(models.Model):
    """One person's choice for one subscription category.

    A row with `subscribed=False` is an entry on the suppression list: the mailer checks
    it at send time. Without a row the category's default applies.
    """

    class Source(models.TextChoices):
        SIGNUP = "signup", "Sign-up form"
        PREFERENCES = "preferences", "Preferences page"
        UNSUBSCRIBE_LINK = "unsubscribe_link", "Unsubscribe link in an email"
        ONE_CLICK = "one_click", "One-click unsubscribe (RFC 8058)"
        DOUBLE_OPT_IN = "double_opt_in", "Newsletter sign-up, confirmed by email"
        CONTEST_ENTRY = "contest_entry", "Contest entry form, address confirmed"
        STAFF = "staff", "Staff"

    email = models.EmailField(max_length=254)
    category = models.CharField(max_length=32, choices=Category.choices)
    subscribed = models.BooleanField()
    source = models.CharField(max_length=32, choices=Source.choices)
    changed_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["email", "category"], name="email_pref_unique")
        ]
        indexes = [models.Index(fields=["subscribed", "-changed_at"])]

    def __str__(self) -> str:
        state = "subscribed" if self.subscribed else "suppressed"
        return f"{self.email} {self.category} {state}"


class OutgoingEmail(models.Model):
    """The outbox and send log. The body is dropped once the message is out.

    A worker claims a queued row for `lease_until` (see `privacy.mailer`): past that, its
    worker is taken for dead and the outbox sweep sends the row again, under the same
    `message_id`, so that a provider that already accepted it can tell.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        SUPPRESSED = "suppressed", "Not sent: the recipient unsubscribed"
        FAILED = "failed", "Failed"

    to = models.EmailField(max_length=254)
    category = models.CharField(max_length=32, choices=Category.choices)
    subject = models.CharField(max_length=255)
    text_body = models.TextField(blank=True)
    html_body = models.TextField(blank=True)
    # Text files sent with the message: [{"filename", "content", "mimetype"}, ...].
    attachments = models.JSONField(default=list, blank=True)
    # An iCalendar invitation (iTIP), sent both inline and as invite.ics.
    calendar = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    # Once sent, blank the address too: the last message to someone whose data was erased.
    forget_recipient = models.BooleanField(default=False)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Our Message-ID header, fixed when the row is queued and the same on every attempt.
    message_id = models.CharField(max_length=255, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    # The current claim: who holds it (each attempt draws a new token) and until when.
    claim_token = models.UUIDField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    # A queued row the sweep (re)sends from this time on: the backoff after a failure, or
    # a safety net for a row whose task never ran.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # What the provider answered on accepting the message: its own id when it gives one
    # (API providers), else our Message-ID.
    provider_message_id = models.CharField(max_length=255, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["status", "created_at"]),
            models.Index(fields=["status", "next_attempt_at"], name="outbox_due"),
            models.Index(fields=["status", "lease_until"], name="outbox_lease"),
        ]

    def __str__(self) -> str:
        return f"{self.category} to {self.to}: {self.subject}"


class EmailConsentEvent(models.Model):
    """The consent log: every subscribe and unsubscribe, append-only, with its source.

    `EmailPreference` holds the current choice the mailer checks; this holds the history
    that shows when and how each choice was made.
    """

    email = models.EmailField(max_length=254)
    category = models.CharField(max_length=32, choices=Category.choices)
    subscribed = models.BooleanField()
    source = models.CharField(max_length=32, choices=EmailPreference.Source.choices)
    at = models.DateTimeField()

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["email", "-at"])]

    def __str__(self) -> str:
        state = "subscribed" if self.subscribed else "unsubscribed"
        return f"{self.at:%Y-%m-%d %H:%M} {self.email} {self.category} {state}"
