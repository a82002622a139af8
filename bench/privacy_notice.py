"""The California "Shine the Light" notice for one customer, over a large disclosure ledger.

The ledger is filled in one INSERT ... SELECT over a number series (PostgreSQL's
generate_series, a recursive CTE on SQLite), not through the ORM: 10 million rows on
PostgreSQL, 1 million on SQLite. The mix, over the three calendar years before the
request's year:

- SUBJECTS people, three in four with an account (the row names the account and the
  subject key), the rest known only by the subject key; HEAVY of them are heavy users who
  together get 2% of the rows (about 10,000 each on PostgreSQL), the rest share the others;
- purposes: 97% service (email delivery, payments, hosting), 1% legal, 1.5% non-personal
  aggregate (no person), 0.5% direct marketing to a fixture marketing partner. The guard
  in privacy/disclosures.py refuses marketing rows, so they are written straight into the
  table, as the tests' fixture partner is.

Timed: `compose_notice` (the ledger query plus the notice's text) as the request task calls
it, for a typical account holder with a marketing row in the covered year, a person
without an account, and the heaviest customer. "cold" is the first query for each of
COLD different customers on a fresh connection; "warm" repeats one customer WARM times.
"""

import time
from datetime import UTC, datetime

from . import Report, Result, django_test_database

SIZES = {"postgresql": 10_000_000, "sqlite": 1_000_000}
SUBJECTS = 200_000
HEAVY = 20
COLD = 10
WARM = 20
REQUEST_YEAR = 2026
FIRST_YEAR = REQUEST_YEAR - 3
SECONDS_IN_3_YEARS = 3 * 365 * 86_400
USER_ID_BASE = 1_000_000


def subject_key(s: int) -> str:
    """The bench's stand-in for a person's key: 64 characters, like the real keyed hash."""
    return f"{s:064d}"


def accounts() -> int:
    return SUBJECTS * 3 // 4


def run() -> Report:
    with django_test_database("privacy_notice") as vendor:
        rows = SIZES[vendor]
        fill_s = _fill(vendor, rows)
        results = _measure(vendor)
        from privacy.models import Disclosure

        counted = Disclosure.objects.count()
        marketing = Disclosure.objects.filter(purpose="direct_marketing").count()
        indexes = _indexes(vendor)
        return Report(
            results=results,
            context={
                "database": vendor,
                "ledger_rows": counted,
                "direct_marketing_rows": marketing,
                "subjects": SUBJECTS,
                "accounts": accounts(),
                "heavy_subjects": HEAVY,
                "fill_seconds": round(fill_s, 1),
                "disclosure_indexes": indexes,
                "note": (
                    "10 million ledger rows on PostgreSQL"
                    if vendor == "postgresql"
                    else "SQLite (no DATABASE_URL): a 1 million-row ledger, not 10 million"
                ),
            },
        )


# --- Filling -----------------------------------------------------------------------------


def _series(vendor: str, count: int) -> str:
    if vendor == "postgresql":
        return f"generate_series(1::bigint, {count}) AS s(n)"
    return (
        "(WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s "
        f"WHERE n < {count}) SELECT n FROM s) AS s"
    )


def _fill(vendor: str, rows: int) -> float:
    from django.db import connection

    from privacy.models import Disclosure, ThirdParty

    started = time.perf_counter()
    partner = ThirdParty.objects.create(
        slug="bench-marketing-partner",
        name="Bench Marketing Partner",
        postal_address="1 Market Street\nSan Francisco, CA 94105",
        role=ThirdParty.Role.MARKETING_PARTNER,
        business="Sends offers for office furniture",
        purpose="Direct marketing (bench fixture)",
        categories=["email", "name_address"],
        confidentiality_agreement=False,
    )
    service = list(
        ThirdParty.objects.filter(slug__in=["stripe", "aws-hosting", "amazon-ses"])
        .order_by("slug")
        .values_list("pk", flat=True)
    )
    if len(service) != 3:
        raise RuntimeError("the seeded third parties are missing")
    pg = vendor == "postgresql"
    # Literals, not parameters: the SQL is full of % (modulo), which parameters would eat.
    start = f"'{FIRST_YEAR}-01-01 00:00:00+00'::timestamptz" if pg else f"'{FIRST_YEAR}-01-01'"
    users = accounts()
    table = Disclosure._meta.db_table
    # Deterministic mixing: the row number times a large odd number modulo a prime near
    # 2^32 scrambles it; three different ones pick who, what and when independently.
    who = "((n * 2654435761) % 4294967291)"
    what = "((n * 2246822519) % 4294967279)"
    when = "((n * 3266489917) % 4294967231)"
    subject = (
        f"(CASE WHEN {who} % 100 < 2 THEN ({who} / 100) % {HEAVY} "
        f"ELSE {HEAVY} + ({who} / 100) % {SUBJECTS - HEAVY} END)"
    )
    bucket = f"({what} % 1000)"  # <5 marketing, <15 legal, <30 aggregate, else service
    aggregate = f"{bucket} BETWEEN 15 AND 29"
    key = f"lpad({subject}::text, 64, '0')" if pg else f"printf('%064d', {subject})"
    offset = f"({when} % {SECONDS_IN_3_YEARS})"
    at = (
        f"{start} + {offset} * interval '1 second'"
        if pg
        else f"strftime('%Y-%m-%d %H:%M:%S', {start}, '+' || {offset} || ' seconds')"
    )
    categories = (
        f'CASE WHEN {bucket} < 5 THEN \'["email", "name_address"]\' '
        f"WHEN {aggregate} THEN '[]' ELSE '[\"email\"]' END" + ("::jsonb" if pg else "")
    )
    columns = [
        (
            "third_party_id",
            f"CASE WHEN {bucket} < 5 THEN {partner.pk} WHEN ({what} / 1000) % 3 = 0 "
            f"THEN {service[0]} WHEN ({what} / 1000) % 3 = 1 THEN {service[1]} "
            f"ELSE {service[2]} END",
        ),
        (
            "user_id",
            f"CASE WHEN {aggregate} OR {subject} >= {users} THEN NULL "
            f"ELSE {USER_ID_BASE} + 1 + {subject} END",
        ),
        ("subject_key", f"CASE WHEN {aggregate} THEN '' ELSE {key} END"),
        ("personal", f"NOT ({aggregate})"),
        ("categories", categories),
        (
            "purpose",
            f"CASE WHEN {bucket} < 5 THEN 'direct_marketing' WHEN {bucket} < 15 THEN 'legal' "
            f"WHEN {aggregate} THEN 'aggregate' ELSE 'service' END",
        ),
        (
            "description",
            f"CASE WHEN {bucket} < 5 THEN 'Customer list shared for offers (bench fixture)' "
            f"WHEN {aggregate} THEN 'Monthly usage totals' ELSE 'Delivered an email' END",
        ),
        ("reference", f"CASE WHEN {bucket} BETWEEN 5 AND 14 THEN 'Subpoena ' || n ELSE '' END"),
        ("at", at),
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO accounts_user (id, password, is_superuser, email, full_name, "
            "time_zone, how_heard, how_heard_other, company, job_title, is_active, is_staff, "
            f"date_joined) SELECT {USER_ID_BASE} + n, '!', {_false(pg)}, "
            "'bench-' || n || '@bench.example', '', 'UTC', '', '', '', '', "
            f"{_true(pg)}, {_false(pg)}, {start} FROM {_series(vendor, users)}"
        )
        saved = _drop_indexes(cursor, table) if pg else []
        cursor.execute(
            f"INSERT INTO {table} ({', '.join(name for name, _ in columns)}) "
            f"SELECT {', '.join(expression for _, expression in columns)} "
            f"FROM {_series(vendor, rows)}"
        )
        _restore_indexes(cursor, saved)
        cursor.execute(f"ANALYZE {table}" if pg else "ANALYZE")
    return time.perf_counter() - started


def _true(pg: bool) -> str:
    return "true" if pg else "1"


def _false(pg: bool) -> str:
    return "false" if pg else "0"


def _drop_indexes(cursor, table: str) -> list[str]:  # type: ignore[no-untyped-def]
    """Drop the table's secondary indexes and foreign keys for the load (a bulk load builds
    an index once, faster than row by row); returns the statements that bring them back."""
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND contype = 'f'",
        [table],
    )
    constraints = cursor.fetchall()
    cursor.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s "
        "AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)",
        [table, table],
    )
    indexes = cursor.fetchall()
    for name, _ in constraints:
        cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _ in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
    return [definition for _, definition in indexes] + [
        f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'
        for name, definition in constraints
    ]


def _restore_indexes(cursor, statements: list[str]) -> None:  # type: ignore[no-untyped-def]
    if statements:
        cursor.execute("SET maintenance_work_mem = '512MB'")
    for statement in statements:
        cursor.execute(statement)


def _indexes(vendor: str) -> list[str]:
    from django.db import connection

    from privacy.models import Disclosure

    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, Disclosure._meta.db_table)
    return sorted(
        ",".join(c["columns"]) for c in constraints.values() if c["index"] and not c["primary_key"]
    )


# --- Measuring ---------------------------------------------------------------------------


def _customers() -> tuple[list[int], list[int], list[int]]:
    """(typical account holders with a marketing row in the covered year, people without
    an account, the heaviest account holders), picked from the ledger itself."""
    from privacy.models import Disclosure

    covered = (
        datetime(REQUEST_YEAR - 1, 1, 1, tzinfo=UTC),
        datetime(REQUEST_YEAR, 1, 1, tzinfo=UTC),
    )
    marketing = Disclosure.objects.filter(
        purpose="direct_marketing", at__gte=covered[0], at__lt=covered[1]
    )
    typical = list(
        marketing.filter(user_id__gt=USER_ID_BASE + HEAVY)
        .order_by("user_id")
        .values_list("user_id", flat=True)
        .distinct()[: COLD + 1]
    )
    # Subjects without an account are numbered from accounts() up; the key is the number.
    keyless = [accounts() + 1 + i * 97 for i in range(COLD + 1)]
    heavy = [USER_ID_BASE + 1 + i for i in range(min(HEAVY, COLD + 1))]
    return [u for u in typical if u is not None], keyless, heavy


def _notice_for(*, user_id: int | None, s: int) -> int:
    from privacy.requests.shine_the_light import compose_notice

    content = compose_notice(
        name="Bench Customer",
        user_id=user_id,
        subject_key=subject_key(s),
        request_year=REQUEST_YEAR,
    )
    return len(content.third_parties)


def _time(name: str, calls: list[tuple[int | None, int]], *, fresh: bool) -> Result:
    from django.db import connection

    timings: list[int] = []
    found = 0
    started = time.perf_counter()
    for user_id, s in calls:
        if fresh:
            connection.close()  # a new connection: no cached plan, no session state
            connection.ensure_connection()
        t0 = time.perf_counter_ns()
        found += _notice_for(user_id=user_id, s=s)
        timings.append(time.perf_counter_ns() - t0)
    total = time.perf_counter() - started
    return Result.from_timings(f"{name} ({found} partner hits)", timings, total)


def _measure(vendor: str) -> list[Result]:
    typical, keyless, heavy = _customers()
    if len(typical) < COLD + 1:
        raise RuntimeError("too few customers with a marketing row in the covered year")

    def account(user_id: int) -> tuple[int, int]:
        return user_id, user_id - USER_ID_BASE - 1

    # Untimed: the first notice of the process loads and compiles the notice's template.
    _notice_for(user_id=None, s=accounts() + 5)
    results = [
        _time(
            "notice, account holder, cold (different customers)",
            [account(u) for u in typical[1:]],
            fresh=True,
        ),
        _time(
            "notice, account holder, warm (same customer)",
            [account(typical[0])] * WARM,
            fresh=False,
        ),
        _time(
            "notice, no account (key only), cold",
            [(None, s) for s in keyless[1:]],
            fresh=True,
        ),
        _time("notice, no account (key only), warm", [(None, keyless[0])] * WARM, fresh=False),
        _time("notice, heaviest customers, cold", [account(u) for u in heavy[1:]], fresh=True),
        _time("notice, heaviest customer, warm", [account(heavy[0])] * WARM, fresh=False),
    ]
    return results
