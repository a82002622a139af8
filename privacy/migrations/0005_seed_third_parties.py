from django.db import migrations

# The service providers this product sends personal information to.
THIRD_PARTIES = [
    {
        "slug": "stripe",
        "name": "Stripe, Inc.",
        "postal_address": "354 Oyster Point Blvd, South San Francisco, CA 94080, USA",
        "role": "service_provider",
        "business": "Online payment processing",
        "purpose": "Takes card payments for paid plans and keeps the card; we never see it.",
        "categories": ["name_address", "email", "product_purchased", "payment_history"],
        "confidentiality_agreement": True,
        "privacy_policy_url": "https://stripe.com/privacy",
    },
    {
        "slug": "aws-hosting",
        "name": "Amazon Web Services, Inc.",
        "postal_address": "410 Terry Avenue North, Seattle, WA 98109-5210, USA",
        "role": "service_provider",
        "business": "Cloud hosting (data centers)",
        "purpose": "Runs our servers, databases and recording storage.",
        "categories": ["name_address", "email", "service_provided", "payment_history"],
        "confidentiality_agreement": True,
        "privacy_policy_url": "https://aws.amazon.com/privacy/",
    },
    {
        "slug": "amazon-ses",
        "name": "Amazon Web Services, Inc. (Amazon SES)",
        "postal_address": "410 Terry Avenue North, Seattle, WA 98109-5210, USA",
        "role": "service_provider",
        "business": "Email delivery",
        "purpose": "Delivers the emails we send: invitations, account messages, newsletters.",
        "categories": ["name_address", "email"],
        "confidentiality_agreement": True,
        "privacy_policy_url": "https://aws.amazon.com/privacy/",
    },
]


def seed(apps, schema_editor):
    ThirdParty = apps.get_model("privacy", "ThirdParty")
    for row in THIRD_PARTIES:
        ThirdParty.objects.update_or_create(slug=row["slug"], defaults=row)


def unseed(apps, schema_editor):
    slugs = [row["slug"] for row in THIRD_PARTIES]
    apps.get_model("privacy", "ThirdParty").objects.filter(slug__in=slugs).delete()


class Migration(migrations.Migration):
    dependencies = [("privacy", "0004_consent_policy_newsletter_third_parties")]

    operations = [migrations.RunPython(seed, unseed)]
