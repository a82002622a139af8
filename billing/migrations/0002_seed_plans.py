from django.db import migrations

PLANS = [
    {
        "slug": "free",
        "name": "Free",
        "description": "Meetings up to 40 minutes with up to 100 people.",
        "interval": "",
        "amount_cents": 0,
        "per_seat": False,
        "max_participants": 100,
        "max_meeting_minutes": 40,
        "recording_allowed": True,
        "recording_retention_days": 7,
        "sort_order": 0,
    },
    {
        "slug": "pro-monthly",
        "name": "Pro (monthly)",
        "description": "Meetings up to 24 hours with up to 300 people; recordings kept 90 days.",
        "interval": "month",
        "amount_cents": 1500,
        "per_seat": False,
        "max_participants": 300,
        "max_meeting_minutes": 1440,
        "recording_allowed": True,
        "recording_retention_days": 90,
        "sort_order": 10,
    },
    {
        "slug": "pro-yearly",
        "name": "Pro (yearly)",
        "description": "Pro, paid yearly: two months free.",
        "interval": "year",
        "amount_cents": 15000,
        "per_seat": False,
        "max_participants": 300,
        "max_meeting_minutes": 1440,
        "recording_allowed": True,
        "recording_retention_days": 90,
        "sort_order": 11,
    },
    {
        "slug": "business-monthly",
        "name": "Business (per seat, monthly)",
        "description": "For teams: up to 500 people per meeting; recordings kept a year.",
        "interval": "month",
        "amount_cents": 2000,
        "per_seat": True,
        "max_participants": 500,
        "max_meeting_minutes": 1440,
        "recording_allowed": True,
        "recording_retention_days": 365,
        "sort_order": 20,
    },
]


def seed(apps, schema_editor):
    Plan = apps.get_model("billing", "Plan")
    for row in PLANS:
        Plan.objects.update_or_create(slug=row["slug"], defaults=row)


def unseed(apps, schema_editor):
    apps.get_model("billing", "Plan").objects.filter(slug__in=[p["slug"] for p in PLANS]).delete()


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_billing_mirror")]

    operations = [migrations.RunPython(seed, unseed)]
