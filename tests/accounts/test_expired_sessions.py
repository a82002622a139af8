"""Expired browser sessions are deleted: daily by a task, and by an erasure at once."""

from datetime import timedelta

from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from accounts import privacy_data
from accounts.tasks import clear_expired_sessions
from privacy.subjects import Subject


def _session(data: dict, *, expires_in: timedelta) -> str:
    store = SessionStore()
    store.update(data)
    store.create()
    Session.objects.filter(session_key=store.session_key).update(
        expire_date=timezone.now() + expires_in
    )
    return store.session_key


def test_the_daily_task_deletes_only_expired_sessions(db):
    expired = _session({"guest": "x"}, expires_in=-timedelta(seconds=1))
    live = _session({"guest": "y"}, expires_in=timedelta(days=1))

    assert clear_expired_sessions() == 1
    assert set(Session.objects.values_list("session_key", flat=True)) == {live}
    assert expired != live


def test_an_erasure_deletes_an_expired_session_naming_the_person(db):
    data = {"join": {"name": "Quentin Quill", "email": "quentin@example.com"}}
    _session(data, expires_in=-timedelta(hours=1))
    named_live = _session(data, expires_in=timedelta(hours=1))
    other = _session({"join": {"email": "someone@example.com"}}, expires_in=timedelta(hours=1))
    subject = Subject.for_email("quentin@example.com")

    preview = privacy_data.erase_for(subject, dry_run=True)
    assert [line.count for line in preview if "Browser sessions" in line.what] == [1]

    privacy_data.erase_for(subject, dry_run=False)
    assert set(Session.objects.values_list("session_key", flat=True)) == {other}
    assert named_live != other
