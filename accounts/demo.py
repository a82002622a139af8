"""Demo data for `make run`: a host who can sign in at once, with a meeting tomorrow."""

from datetime import time, timedelta
from zoneinfo import ZoneInfo

from allauth.account.models import EmailAddress
from django.db import transaction
from django.utils import timezone

from meetings import selectors, services
from meetings.errors import NotJoinable
from meetings.models import Meeting
from meetings.schedule import Schedule

from .models import HowHeard, UiPreferences, User

DEMO_EMAIL = "host@demo.example"
DEMO_PASSWORD = "demo-host-password"
DEMO_MEETING_TITLE = "Demo: product walkthrough"


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


@transaction.atomic
def ensure_demo_meeting(host: User) -> Meeting:
    """The demo host's walkthrough meeting: kept while it is still to come, else booked
    again for tomorrow at 10:00 on the host's clock."""
    for meeting in Meeting.objects.filter(
        host=host, title=DEMO_MEETING_TITLE, status=Meeting.Status.SCHEDULED
    ).order_by("-created_at"):
        try:
            selectors.joinable_occurrence(token=meeting.join_token)
        except NotJoinable:  # over: book a new one
            continue
        return meeting
    zone = host.time_zone or "UTC"
    tomorrow = timezone.now().astimezone(ZoneInfo(zone)).date() + timedelta(days=1)
    return services.schedule_meeting(
        host=host,
        title=DEMO_MEETING_TITLE,
        agenda="A tour of scheduling, the lobby, recording and the attendance report.",
        schedule=Schedule(
            time_zone=zone, starts_on=tomorrow, start_time=time(10, 0), duration_minutes=30
        ),
        recording_allowed=True,  # so the walkthrough can show recording and consent
    )
