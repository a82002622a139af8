import uuid

from django.db import models


class CookieConsent(models.Model):
    """A consent receipt: one row for every choice made in the cookie banner or settings.

    The same `consent_id` (also in the browser's consent cookie) runs through every
    choice that browser made. No IP address is kept.
    """

    class Action(models.TextChoices):
        ACCEPT_ALL = "accept_all", "Accepted all"
        REJECT_ALL = "reject_all", "Rejected all"
        CUSTOM = "custom", "Chose categories"
        WITHDRAW = "withdraw", "Withdrew consent"

    consent_id = models.UUIDField(default=uuid.uuid4, db_index=True)
    user = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=16, choices=Action.choices)
    preferences = models.BooleanField()
    analytics = models.BooleanField()
    marketing = models.BooleanField()
    banner_version = models.CharField(max_length=32)
    # A Global Privacy Control signal came with the choice; marketing was held off for it.
    gpc = models.BooleanField(default=False)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["user", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.consent_id} {self.action} at {self.created_at:%Y-%m-%d %H:%M}"


class SaleSharingOptOut(models.Model):
    """An account's opt-out of the sale or sharing of its personal information.

    Once made it stands: a later request without the signal does not undo it.
    """

    class Source(models.TextChoices):
        GPC = "gpc", "Global Privacy Control signal"
        SETTINGS = "settings", "Privacy settings"
        REQUEST = "request", "Opt-out request"

    user = models.OneToOneField(
        "accounts.User", on_delete=models.CASCADE, related_name="sale_sharing_opt_out"
    )
    source = models.CharField(max_length=16, choices=Source.choices)
    opted_out_at = models.DateTimeField()
    # The most recent request that carried the signal.
    last_signal_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"opt-out of user {self.user_id} ({self.source})"
