"""Redo a contest's draw from its audit entry and say whether it matches."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from contests import draws, selectors


class Command(BaseCommand):
    help = (
        "Redo a contest's draw from the seed and list hash in its audit entry over the "
        "stored ordered entry list; exits non-zero if the list or the winners differ."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")

    def handle(self, *args: Any, **options: Any) -> None:
        contest = selectors.contest_by_slug(options["slug"])
        if contest is None:
            raise CommandError(f"No contest {options['slug']!r}.")
        details = draws.recorded_draw(contest)
        verification = draws.verify_recorded_draw(contest)
        if details is None or verification is None:
            raise CommandError(f"{contest.title!r} has not been drawn.")
        for key in ("algorithm", "seed", "entries_sha256", "entry_count", "winners"):
            self.stdout.write(f"{key}: {details[key]}")
        if not verification.ok:
            raise CommandError(f"Does not verify: {verification.problem}")
        self.stdout.write(self.style.SUCCESS("Verified: same list, same winners."))
