"""``manage.py media_worker``: host media rooms for web processes (needs ``REDIS_URL``).

Run as many as the load needs; each meeting is pinned to one of them by a lease in Redis
(see ``meetings.media_workers``). SIGTERM or SIGINT stops it cleanly: its rooms are
handed over to the other workers. It never opens a database connection.
"""

import asyncio

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Run a media worker: hosts the meetings' media rooms whose Redis lease it holds."
    # No system checks: they are the web's business, and this process needs no database.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser):
        parser.add_argument(
            "--lease-ttl",
            type=float,
            default=None,
            help="Lease time-to-live in seconds (default: settings.MEDIA_LEASE_TTL_SECONDS "
            "or 10). A dead worker's rooms move to another worker after about 1.3 x this.",
        )

    def handle(self, *args, **options):
        if not settings.REDIS_URL:
            raise CommandError("media workers need REDIS_URL (the Redis channel layer)")
        backend = settings.CHANNEL_LAYERS.get("default", {}).get("BACKEND", "")
        if "redis" not in backend.lower():
            raise CommandError(f"media workers need a Redis channel layer, not {backend!r}")
        lease_ttl = options["lease_ttl"]
        if lease_ttl is not None and lease_ttl <= 0:
            raise CommandError("--lease-ttl must be positive")

        from meetings.media_workers.worker import run_worker

        asyncio.run(run_worker(lease_ttl=lease_ttl))
