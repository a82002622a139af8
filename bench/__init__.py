"""Benchmarks: `python -m bench` (`make bench`) runs each module listed in bench/__main__.py.

A benchmark module has a `run() -> Report`; the runner prints the report's results as a
table and writes the report to var/bench/<module>.json. Nothing here asserts on timings:
the numbers are for reading and for comparing runs.

Benchmarks that need the database run inside `django_test_database()`: a throwaway
SQLite file by default, or, when DATABASE_URL is set, a separate database that Django's
test runner machinery creates and drops on that server. Real data is never touched.
"""

import json
import math
import os
import platform
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUTPUT_DIR = ROOT / "var" / "bench"


@dataclass(frozen=True)
class Result:
    name: str
    count: int
    total_s: float
    per_second: float
    p50_ms: float
    p99_ms: float

    @classmethod
    def from_timings(cls, name: str, timings_ns: Sequence[int], total_s: float) -> "Result":
        """`timings_ns` holds one duration per call; `total_s` is the loop's wall time."""
        ordered = sorted(timings_ns)
        return cls(
            name=name,
            count=len(ordered),
            total_s=total_s,
            per_second=len(ordered) / total_s if total_s else math.inf,
            p50_ms=percentile(ordered, 50) / 1e6,
            p99_ms=percentile(ordered, 99) / 1e6,
        )


@dataclass(frozen=True)
class Report:
    results: list[Result]
    # What the numbers depend on besides the code: database vendor, sizes, settings.
    context: dict[str, object] = field(default_factory=dict)


def percentile(ordered: Sequence[int], p: float) -> float:
    """Nearest-rank percentile of an already sorted, non-empty sequence."""
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return float(ordered[rank - 1])


def format_table(results: Sequence[Result]) -> str:
    headers = ("name", "count", "total s", "per second", "p50 ms", "p99 ms")
    rows = [
        (
            r.name,
            f"{r.count:,}",
            f"{r.total_s:.3f}",
            f"{r.per_second:,.0f}",
            f"{r.p50_ms:.3f}",
            f"{r.p99_ms:.3f}",
        )
        for r in results
    ]
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        first, *rest = cells
        return "  ".join(
            [first.ljust(widths[0])] + [c.rjust(w) for c, w in zip(rest, widths[1:], strict=True)]
        )

    return "\n".join([line(headers), line(["-" * w for w in widths]), *map(line, rows)])


def write_json(name: str, report: Report) -> Path:
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUTPUT_DIR / f"{name}.json"
    document = {
        "benchmark": name,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": platform.machine(),
        **report.context,
        "results": [asdict(r) for r in report.results],
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "conferencing.settings")
    import django

    django.setup()


@contextmanager
def django_test_database(label: str) -> Iterator[str]:
    """Run the body against a fresh, migrated database; yields the database vendor.

    As in the test suite: locmem email, DEBUG off (no query log), and the database is
    created here and destroyed on the way out.
    """
    setup_django()
    from django.db import connections
    from django.test.utils import (
        setup_databases,
        setup_test_environment,
        teardown_databases,
        teardown_test_environment,
    )

    connection = connections["default"]
    scratch = None
    if connection.vendor == "sqlite":
        # A file rather than :memory:, so that commits cost what they cost in `make run`.
        scratch = tempfile.mkdtemp(prefix=f"bench-{label}-")
        connection.settings_dict["TEST"]["NAME"] = str(Path(scratch) / "bench.sqlite3")
    else:
        # Apart from the test suite's test_<name>, so a concurrent test run is left alone.
        connection.settings_dict["TEST"]["NAME"] = (
            f"test_{connection.settings_dict['NAME']}_bench_{label}"
        )

    setup_test_environment(debug=False)
    try:
        old_config = setup_databases(
            verbosity=0, interactive=False, aliases={"default"}, serialized_aliases=set()
        )
        try:
            yield connection.vendor
        finally:
            teardown_databases(old_config, verbosity=0)
    finally:
        teardown_test_environment()
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)
