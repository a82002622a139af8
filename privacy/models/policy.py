from django.db import models


class PolicyDocument(models.TextChoices):
    PRIVACY = "privacy", "Privacy policy"
    COOKIES = "cookies", "Cookie policy"


class PolicyAnnouncement(models.Model):
    """That a material version's change notice went out; one row per version, ever."""

    document = models.CharField(max_length=16, choices=PolicyDocument.choices)
    version = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    recipients = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["document", "version"], name="policy_announce_once")
        ]

    def __str__(self) -> str:
        return f"{self.document} v{self.version} announced"


class PolicyNotice(models.Model):
    """One account told by email of one material change; the row makes it exactly once."""

    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="+")
    document = models.CharField(max_length=16, choices=PolicyDocument.choices)
    version = models.PositiveIntegerField()
    sent_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "document", "version"], name="policy_notice_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.document} v{self.version} notice to user {self.user_id}"


class PolicyAcknowledgement(models.Model):
    """An account has seen a material change (banner dismissed or the policy opened)."""

    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="+")
    document = models.CharField(max_length=16, choices=PolicyDocument.choices)
    version = models.PositiveIntegerField()
    seen_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "document", "version"], name="policy_seen_once")
        ]

    def __str__(self) -> str:
        return f"{self.document} v{self.version} seen by user {self.user_id}"
