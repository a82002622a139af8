from django.db import models

from .third_parties import ThirdParty


class Disclosure(models.Model):
    """One time personal (or aggregate) information left for a third party: the ledger.

    Written by the code that sends the data. The California notice is computed from
    these rows, never typed.
    """

    class Purpose(models.TextChoices):
        SERVICE = "service", "Performing a service for us"
        LEGAL = "legal", "Legal compliance"
        BUSINESS_TRANSFER = "business_transfer", "Business transfer"
        DIRECT_MARKETING = "direct_marketing", "The third party's direct marketing"
        AGGREGATE = "aggregate", "Non-personal aggregate information"

    third_party = models.ForeignKey(ThirdParty, on_delete=models.PROTECT, related_name="+")
    # Whose data: an account, or a keyed hash of the email for people without one.
    user = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    subject_key = models.CharField(max_length=64, blank=True, db_index=True)
    personal = models.BooleanField()
    # PersonalInfoCategory values; empty for non-personal exports.
    categories = models.JSONField(default=list)
    purpose = models.CharField(max_length=32, choices=Purpose.choices)
    description = models.CharField(max_length=300)
    # A legal request's own reference (subpoena, court order), when there is one.
    reference = models.CharField(max_length=200, blank=True)
    recorded_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["purpose", "at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d} {self.purpose} to {self.third_party_id}"
