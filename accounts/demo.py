"""Demo data for `make run`: a host who can sign in at once."""

from allauth.account.models import EmailAddress
from django.db import transaction
from django.utils import timezone

from .models import HowHeard, UiPreferences, User

DEMO_EMAIL = "host@demo.example"
DEMO_PASSWORD = "demo-host-password"


@transaction.atomic
def ensure_demo_host() -> User:
    user, created = User.objects.get_or_create(
        email=DEMO_EMAIL,
        defaults={
            "full_name": "Dana Demo",
            "time_zone": "America/Los_Angeles",
            "how_heard": HowHeard.COLLEAGUE,
            "age_screen_passed_at": timezone.now(),
        },
    )
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
    EmailAddress.objects.update_or_create(
        user=user, email=DEMO_EMAIL, defaults={"verified": True, "primary": True}
    )
    UiPreferences.objects.get_or_create(user=user)
    return user
