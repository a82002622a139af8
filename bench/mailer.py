"""The privacy mailer: queueing, delivery, and the suppression check.

- send_email: 2,000 subscription messages queued inside one transaction, which is then
  rolled back, so the on_commit delivery callbacks never run. Measures the outbox row
  plus the send-time suppression check plus the on_commit registration.
- deliver: 2,000 queued rows (bulk-created) delivered one by one in autocommit, as a
  worker does: claim, re-check suppression, build the message with its unsubscribe
  link and headers, send through the locmem backend, mark sent.
- may_send: lookups against 10,000 preference rows, half for addresses that have rows
  and half for addresses that fall back to the category default.
"""

import contextlib
import random
import time

from . import Report, Result, django_test_database

MESSAGES = 2_000
PREFERENCE_ROWS = 10_000
LOOKUPS = 10_000


class _Rollback(Exception):
    """Raised at the end of the queueing transaction to throw it away."""


def run() -> Report:
    with django_test_database("mailer") as vendor:
        from django.conf import settings

        from conferencing.celery import app as celery_app

        # Nothing should reach a broker; nothing does, but if it did it would run here.
        previous_eager = celery_app.conf.task_always_eager
        celery_app.conf.task_always_eager = True
        try:
            people = _create_preferences()
            results = [_bench_send_email(), _bench_deliver(), _bench_may_send(people)]
        finally:
            celery_app.conf.task_always_eager = previous_eager
        return Report(
            results=results,
            context={
                "database": vendor,
                "email_backend": settings.EMAIL_BACKEND,
                "preference_rows": PREFERENCE_ROWS,
            },
        )


def _create_preferences() -> list[str]:
    """PREFERENCE_ROWS rows: every subscription category for a set of addresses."""
    from privacy.email_categories import SUBSCRIPTIONS
    from privacy.models import EmailPreference

    per_person = len(SUBSCRIPTIONS)
    people = [f"person{i}@bench.example" for i in range(PREFERENCE_ROWS // per_person)]
    EmailPreference.objects.bulk_create(
        [
            EmailPreference(
                email=email,
                category=sub.category,
                subscribed=(i + k) % 3 != 0,
                source=EmailPreference.Source.PREFERENCES,
            )
            for i, email in enumerate(people)
            for k, sub in enumerate(SUBSCRIPTIONS)
        ],
        batch_size=1_000,
    )
    return people


def _bench_send_email() -> Result:
    from django.db import transaction

    from privacy.email_categories import Category
    from privacy.mailer import send_email
    from privacy.models import OutgoingEmail

    timings: list[int] = []
    with contextlib.suppress(_Rollback), transaction.atomic():
        started = time.perf_counter()
        for i in range(MESSAGES):
            t0 = time.perf_counter_ns()
            send_email(
                to=f"recipient{i}@bench.example",
                subject="Your meeting starts in 15 minutes",
                text="Weekly sync starts at 10:00. Join: https://example.invalid/j/abc",
                category=Category.MEETING_REMINDERS,
            )
            timings.append(time.perf_counter_ns() - t0)
        total = time.perf_counter() - started
        raise _Rollback
    if OutgoingEmail.objects.exists():
        raise RuntimeError("the queueing transaction was not rolled back")
    return Result.from_timings("send_email (queue, rolled back)", timings, total)


def _bench_deliver() -> Result:
    from django.core import mail

    from privacy.email_categories import Category
    from privacy.mailer import deliver
    from privacy.models import OutgoingEmail

    OutgoingEmail.objects.bulk_create(
        [
            OutgoingEmail(
                to=f"recipient{i}@bench.example",
                category=Category.MEETING_REMINDERS,
                subject="Your meeting starts in 15 minutes",
                text_body="Weekly sync starts at 10:00. Join: https://example.invalid/j/abc",
                html_body="<html><body><p>Weekly sync starts at 10:00.</p></body></html>",
            )
            for i in range(MESSAGES)
        ],
        batch_size=500,
    )
    ids = list(OutgoingEmail.objects.order_by("pk").values_list("pk", flat=True))
    mail.outbox = []

    timings: list[int] = []
    statuses = set()
    started = time.perf_counter()
    for outgoing_id in ids:
        t0 = time.perf_counter_ns()
        statuses.add(deliver(outgoing_id))
        timings.append(time.perf_counter_ns() - t0)
    total = time.perf_counter() - started

    if statuses != {OutgoingEmail.Status.SENT} or len(mail.outbox) != len(ids):
        raise RuntimeError(f"deliver did not send every message: {statuses}")
    mail.outbox = []
    return Result.from_timings("deliver", timings, total)


def _bench_may_send(people: list[str]) -> Result:
    from privacy.email_categories import SUBSCRIPTIONS
    from privacy.selectors import may_send

    rng = random.Random(0)
    categories = [sub.category for sub in SUBSCRIPTIONS]
    queries = [
        (
            rng.choice(people) if i % 2 == 0 else f"nobody{i}@bench.example",
            rng.choice(categories),
        )
        for i in range(LOOKUPS)
    ]
    timings: list[int] = []
    started = time.perf_counter()
    for email, category in queries:
        t0 = time.perf_counter_ns()
        may_send(email=email, category=category)
        timings.append(time.perf_counter_ns() - t0)
    total = time.perf_counter() - started
    return Result.from_timings(f"may_send ({PREFERENCE_ROWS:,} rows)", timings, total)
