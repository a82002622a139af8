from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.demo import DEMO_EMAIL, DEMO_PASSWORD, ensure_demo_host


class Command(BaseCommand):
    help = "Create the demo host (idempotent) and print how to sign in."

    def handle(self, *args: object, **options: object) -> None:
        if settings.PRODUCTION:
            raise CommandError("Demo data is for development only.")
        ensure_demo_host()
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo host ready: sign in at {settings.SITE_URL}/accounts/login/ "
                f"as {DEMO_EMAIL} with password {DEMO_PASSWORD}"
            )
        )
