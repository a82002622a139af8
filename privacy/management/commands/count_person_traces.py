from collections import Counter
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from privacy.traces import find_traces


class Command(BaseCommand):
    help = (
        "Count the rows (per model and column) and stored files that still hold any of the "
        "given addresses or names, in any letter case."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("terms", nargs="+", help="Email addresses and full names.")

    def handle(self, *args: Any, **options: Any) -> None:
        terms = [str(term) for term in options["terms"]]
        try:
            traces = find_traces(terms)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        for place, count in sorted(Counter(t.qualified_column for t in traces).items()):
            self.stdout.write(f"{count:6d}  {place}")
        self.stdout.write(f"{len(traces)} traces")
