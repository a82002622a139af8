from django.db import models


class AuditEntry(models.Model):
    """One access to or change of someone's personal data, chained by hash (see audit.py)."""

    at = models.DateTimeField()
    actor = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=254)  # who it was, kept if the account goes
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64)
    target_id = models.CharField(max_length=64)
    purpose = models.TextField()
    details = models.JSONField(default=dict, blank=True)
    previous_hash = models.CharField(max_length=64)
    entry_hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["pk"]
        indexes = [models.Index(fields=["target_type", "target_id"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action}"


class AuditHead(models.Model):
    """The chain's last hash: one row, locked by every writer so entries never fork."""

    last_hash = models.CharField(max_length=64)
    entries = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"audit head after {self.entries} entries"
