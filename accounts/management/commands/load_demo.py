from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.demo import DEMO_EMAIL, DEMO_PASSWORD, ensure_demo_host, ensure_demo_meeting
from meetings.links import join_url


class Command(BaseCommand):
    help = "Create the demo host and their meeting (idempotent); print how to sign in and join."

    def handle(self, *args: object, **options: object) -> None:
        if settings.PRODUCTION:
            raise CommandError("Demo data is for development only.")
        host = ensure_demo_host()
        meeting = ensure_demo_meeting(host)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo host ready: sign in at {settings.SITE_URL}/accounts/login/ "
                f"as {DEMO_EMAIL} with password {DEMO_PASSWORD}"
            )
        )
        passcode = f" (passcode {meeting.passcode})" if meeting.passcode else ""
        self.stdout.write(
            self.style.SUCCESS(f"Demo meeting “{meeting.title}”: {join_url(meeting)}{passcode}")
        )
