"""Whether this deployment can reach Janus with its settings (exit 1 with the reason if not).

For operators: `docker compose exec web python manage.py janus_status` checks the URL,
the admin secret, the VideoRoom plugin and token_auth in one go.
"""

import asyncio

from django.core.management.base import BaseCommand, CommandError

from meetings.janus.health import janus_health


class Command(BaseCommand):
    help = "Check that Janus answers its admin API with the VideoRoom plugin and token_auth."

    def handle(self, *args: object, **options: object) -> None:
        health = asyncio.run(janus_health())
        if not health.up:
            raise CommandError(health.reason)
        self.stdout.write(health.reason)
