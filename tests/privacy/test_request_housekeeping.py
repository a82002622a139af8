"""The request log's scheduled care: reminders before due, lapsed links, the 24-month purge."""

from datetime import UTC, date, datetime, timedelta

import time_machine
from django.core import mail
from django.utils import timezone

from privacy.models import PrivacyRequest
from privacy.requests import housekeeping
from tests.factories import UserFactory
from tests.privacy.request_helpers import submit

State = PrivacyRequest.State


def _due_on(request: PrivacyRequest, day: date) -> None:
    PrivacyRequest.objects.filter(pk=request.pk).update(due_on=day)


@time_machine.travel(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
def test_admins_are_reminded_seven_and_two_days_before_due_once_each(
    db, django_capture_on_commit_callbacks
):
    admin = UserFactory(roles=["privacy_admin"])
    UserFactory()  # a host, who is not told
    seven = submit(email="seven@example.com")
    two = submit(email="two@example.com")
    later = submit(email="later@example.com")
    closed = submit(email="closed@example.com")
    _due_on(seven, date(2026, 12, 8))
    _due_on(two, date(2026, 12, 3))
    _due_on(later, date(2026, 12, 9))
    _due_on(closed, date(2026, 12, 3))
    PrivacyRequest.objects.filter(pk=closed.pk).update(state=State.COMPLETED)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        assert housekeeping.send_due_reminders() == 2
        assert housekeeping.send_due_reminders() == 0  # a second beat run sends nothing

    assert all(m.to == [admin.email] for m in mail.outbox)
    assert {m.subject for m in mail.outbox} == {
        f"Privacy request {seven.reference} is due in 7 days",
        f"Privacy request {two.reference} is due in 2 days",
    }
    assert len(mail.outbox) == 2


def test_an_unverified_request_lapses_after_thirty_days(db):
    old = submit(email="old@example.com", verified=False)
    fresh = submit(email="fresh@example.com", verified=False)
    PrivacyRequest.objects.filter(pk=old.pk).update(received_at=timezone.now() - timedelta(days=31))

    assert housekeeping.lapse_unverified() == 1

    old.refresh_from_db()
    fresh.refresh_from_db()
    assert old.state == State.LAPSED and old.closed_at is not None
    assert fresh.state == State.UNVERIFIED


def test_closed_requests_are_purged_after_24_months_and_open_ones_never(db):
    gone = submit(email="gone@example.com")
    kept = submit(email="kept@example.com")
    still_open = submit(email="open@example.com")
    long_ago = timezone.now() - timedelta(days=731)
    PrivacyRequest.objects.filter(pk=gone.pk).update(state=State.COMPLETED, closed_at=long_ago)
    PrivacyRequest.objects.filter(pk=kept.pk).update(
        state=State.COMPLETED, closed_at=timezone.now() - timedelta(days=700)
    )
    PrivacyRequest.objects.filter(pk=still_open.pk).update(received_at=long_ago)

    assert housekeeping.purge_old_requests() == 1

    left = set(PrivacyRequest.objects.values_list("pk", flat=True))
    assert left == {kept.pk, still_open.pk}


def test_expired_export_files_are_removed(db, settings, tmp_path):
    settings.PRIVACY_EXPORTS_ROOT = tmp_path
    request = submit(email="zip@example.com", kind="delete")
    (tmp_path / "old.zip").write_bytes(b"zip")
    PrivacyRequest.objects.filter(pk=request.pk).update(
        export_file="old.zip", export_expires_at=timezone.now() - timedelta(minutes=1)
    )

    assert housekeeping.remove_expired_exports() == 1

    assert not (tmp_path / "old.zip").exists()
    request.refresh_from_db()
    assert request.export_file == ""


def test_a_refused_correction_leaves_the_request_where_it_was(db):
    import pytest
    from django.core.exceptions import ValidationError

    from privacy.requests import services

    person = UserFactory()
    staff = UserFactory(roles=["privacy_admin"])
    request = submit(kind="correct", email=person.email, user=person)

    with pytest.raises(ValidationError):
        services.correct(request=request, changes={"time_zone": "Mars/Olympus"}, actor=staff)

    request.refresh_from_db()
    assert request.state == State.RECEIVED
    assert not request.events.filter(action="started").exists()
