from django.db import models


class ThirdParty(models.Model):
    """A company that receives personal information from us, and on what terms.

    The policy's "who we share it with" section is generated from these rows.
    """

    class Role(models.TextChoices):
        SERVICE_PROVIDER = "service_provider", "Service provider"
        LEGAL = "legal", "Legal compliance"
        BUSINESS_TRANSFER = "business_transfer", "Business transfer"
        MARKETING_PARTNER = "marketing_partner", "Marketing partner"

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    postal_address = models.TextField()
    role = models.CharField(max_length=32, choices=Role.choices)
    business = models.CharField("what their business is", max_length=300)
    purpose = models.CharField("what they do for us", max_length=300)
    # PersonalInfoCategory values.
    categories = models.JSONField(default=list)
    confidentiality_agreement = models.BooleanField("confidentiality agreement on file")
    privacy_policy_url = models.URLField(blank=True)
    active = models.BooleanField(default=True)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "third parties"

    def __str__(self) -> str:
        return self.name
