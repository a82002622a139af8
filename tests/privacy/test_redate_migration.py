"""The migration that re-dates open requests from the California day of receipt."""

import importlib
from datetime import UTC, date, datetime

from django.apps import apps

from privacy.models import PrivacyRequest
from tests.privacy.request_helpers import submit

migration = importlib.import_module("privacy.migrations.0015_open_requests_on_the_california_day")

# 17:30 on Wednesday 9 December 2026 in California: already the 10th in UTC.
EVENING = datetime(2026, 12, 10, 1, 30, tzinfo=UTC)


def _dated_from_the_utc_day(**fields):
    request = submit(received_at=EVENING, **fields)
    # What the old code stored: clocks counted from 10 December.
    PrivacyRequest.objects.filter(pk=request.pk).update(
        due_on=date(2027, 1, 24), confirm_due_on=date(2026, 12, 24)
    )
    return request


def test_open_requests_are_re_dated_and_closed_ones_are_not(db):
    open_one = _dated_from_the_utc_day(kind="access", email="open@example.com")
    closed = _dated_from_the_utc_day(kind="delete", email="closed@example.com")
    PrivacyRequest.objects.filter(pk=closed.pk).update(state=PrivacyRequest.State.COMPLETED)

    migration.redate_open_requests(apps, None)

    open_one.refresh_from_db()
    closed.refresh_from_db()
    assert (open_one.due_on, open_one.confirm_due_on) == (date(2027, 1, 23), date(2026, 12, 23))
    assert (closed.due_on, closed.confirm_due_on) == (date(2027, 1, 24), date(2026, 12, 24))


def test_an_extended_request_keeps_its_ninety_days_from_the_california_day(db):
    request = _dated_from_the_utc_day(kind="correct", email="ext@example.com")
    PrivacyRequest.objects.filter(pk=request.pk).update(extended_at=EVENING)

    migration.redate_open_requests(apps, None)

    request.refresh_from_db()
    assert request.due_on == date(2027, 3, 9)  # 90 days after 9 December
