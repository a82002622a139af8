"""`python -m bench [name ...]`: run the benchmarks below (all of them by default)."""

import importlib
import sys

from . import format_table, write_json

# Each name is a module in bench/ with a `run() -> bench.Report`.
BENCHMARKS: tuple[str, ...] = (
    "mailer",
    "media_forwarding",
    "signalling_fanout",
    "join_to_first_frame",
    "recording_compose",
    "recording_cpu",
    "billing_webhooks",
    "privacy_notice",
    "privacy_export",
    "db_connections",
    "reminders",
)


def main(argv: list[str]) -> int:
    names = argv or list(BENCHMARKS)
    unknown = sorted(set(names) - set(BENCHMARKS))
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
        return 2
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        print(f"== {name}", flush=True)
        report = module.run()
        print(format_table(report.results))
        path = write_json(name, report)
        print(f"-> {path}\n", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
