"""Batched delivery: one claim and one connection for many messages, with every
guarantee of the single-message path kept per message (a failure, a withdrawn consent,
a forgotten recipient, a worker that dies mid-batch)."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from privacy import mailer, services
from privacy.models import OutgoingEmail

from .test_outbox import ScriptedBackend, _refusing_port

Status = OutgoingEmail.Status


class CountingBackend(ScriptedBackend):
    """The scripted provider, counting the connections a worker opens."""

    opened = 0

    def open(self):
        CountingBackend.opened += 1
        return True

    def close(self):
        pass


class WorkerDied(BaseException):
    """What SIGKILL looks like from inside: nothing after it runs, no handler catches it."""


@pytest.fixture
def provider(settings):
    settings.EMAIL_BACKEND = f"{__name__}.CountingBackend"
    ScriptedBackend.during_send, ScriptedBackend.refuse = None, None
    ScriptedBackend.attempts, CountingBackend.opened = [], 0
    yield ScriptedBackend
    ScriptedBackend.during_send, ScriptedBackend.refuse = None, None


def queue_many(count, **overrides):
    drafts = [
        mailer.Draft(
            **(
                {
                    "to": f"person{i}@example.com",
                    "subject": f"Message {i}",
                    "text": f"Message {i}.",
                    "category": "transactional",
                }
                | overrides
            )
        )
        for i in range(count)
    ]
    return mailer.send_emails(drafts)


def statuses(rows):
    return [OutgoingEmail.objects.get(pk=row.pk).status for row in rows]


def fail_on(message_ids, exc):
    """During the send of each of `message_ids`, the provider refuses it."""

    def during_send():
        ScriptedBackend.refuse = exc if ScriptedBackend.attempts[-1] in message_ids else None

    return during_send


def test_a_batch_goes_out_over_one_connection(db, provider):
    rows = queue_many(3)

    results = mailer.deliver_batch([row.pk for row in rows])

    assert results == dict.fromkeys([row.pk for row in rows], Status.SENT)
    assert statuses(rows) == [Status.SENT] * 3
    assert CountingBackend.opened == 1
    assert sorted(m.to[0] for m in mail.outbox) == [row.to for row in rows]


def test_one_failing_message_neither_loses_nor_repeats_the_others(db, provider):
    first, failing, last = queue_many(3)
    provider.during_send = fail_on({failing.message_id}, OSError("mailbox unavailable"))

    results = mailer.deliver_batch([first.pk, failing.pk, last.pk])

    assert results == {first.pk: Status.SENT, failing.pk: Status.QUEUED, last.pk: Status.SENT}
    failing.refresh_from_db()
    assert failing.last_error == "mailbox unavailable"
    assert failing.claim_token is None and failing.next_attempt_at > timezone.now()

    provider.during_send = None
    assert mailer.deliver_batch([first.pk, failing.pk, last.pk]) == {
        first.pk: None,  # sent already: not claimed, not sent again
        failing.pk: Status.SENT,
        last.pk: None,
    }
    assert sorted(m.subject for m in mail.outbox) == ["Message 0", "Message 1", "Message 2"]
    assert provider.attempts.count(first.message_id) == 1
    assert provider.attempts.count(last.message_id) == 1


def test_a_header_that_cannot_be_written_fails_only_its_own_message(db, provider):
    good, bad = queue_many(1)[0], queue_many(1, subject="Hi\nBcc: everyone@example.com")[0]

    results = mailer.deliver_batch([good.pk, bad.pk])

    assert results == {good.pk: Status.SENT, bad.pk: Status.FAILED}
    assert [m.to for m in mail.outbox] == [[good.to]]


def test_a_batch_that_cannot_reach_the_provider_waits_whole(db, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", _refusing_port()
    rows = queue_many(2)

    results = mailer.deliver_batch([row.pk for row in rows])

    assert results == dict.fromkeys([row.pk for row in rows], Status.QUEUED)
    for row in rows:
        row.refresh_from_db()
        assert row.attempts == 1 and row.claim_token is None
        assert "refused" in row.last_error.lower()


def test_preferences_are_read_at_send_time_for_each_message(db, provider):
    staying, leaving = queue_many(2, category="meeting_reminders")
    services.unsubscribe(email=leaving.to, category="meeting_reminders", source="one_click")

    results = mailer.deliver_batch([staying.pk, leaving.pk])

    assert results == {staying.pk: Status.SENT, leaving.pk: Status.SUPPRESSED}
    leaving.refresh_from_db()
    assert (leaving.text_body, leaving.claim_token) == ("", None)
    assert [m.to for m in mail.outbox] == [[staying.to]]


def test_a_forgotten_recipient_is_blanked_only_on_its_own_row(db, provider):
    kept = queue_many(1)[0]
    forgotten = queue_many(1, to="erased@example.com", forget_recipient=True)[0]

    mailer.deliver_batch([kept.pk, forgotten.pk])

    kept.refresh_from_db()
    forgotten.refresh_from_db()
    assert (kept.status, kept.to) == (Status.SENT, "person0@example.com")
    assert (forgotten.status, forgotten.to) == (Status.SENT, "")
    assert sorted(m.to[0] for m in mail.outbox) == ["erased@example.com", "person0@example.com"]


def test_a_worker_dying_mid_batch_leaves_the_sweep_exactly_the_unsent(db, provider, settings):
    rows = queue_many(5)
    in_flight = rows[2]

    def dies_in_the_third_send():
        if provider.attempts[-1] == in_flight.message_id:
            raise WorkerDied

    provider.during_send = dies_in_the_third_send
    with pytest.raises(WorkerDied):
        mailer.deliver_batch([row.pk for row in rows])

    # Each acceptance was recorded as it came: the first two are sent, the rest claimed.
    assert statuses(rows) == [Status.SENT] * 2 + [Status.SENDING] * 3
    provider.during_send = None
    assert mailer.sweep() == []  # the dead worker's lease still holds them
    after_the_lease = timezone.now() + timedelta(seconds=settings.EMAIL_OUTBOX_LEASE_SECONDS + 1)

    assert sorted(mailer.sweep(now=after_the_lease)) == [row.pk for row in rows[2:]]

    assert statuses(rows) == [Status.SENT] * 5
    assert sorted(m.subject for m in mail.outbox) == [f"Message {i}" for i in range(5)]
    # Only the message the provider held when the worker died was offered twice.
    assert [provider.attempts.count(row.message_id) for row in rows] == [1, 1, 2, 1, 1]


def test_a_batch_out_of_time_hands_back_what_it_has_not_tried(db, provider, monkeypatch):
    rows = queue_many(3)
    now = [0.0]
    monkeypatch.setattr(mailer, "_clock", lambda: now[0])

    def a_slow_provider():
        now[0] += mailer.lease_duration().total_seconds() / 4 + 1

    provider.during_send = a_slow_provider

    results = mailer.deliver_batch([row.pk for row in rows])

    assert list(results.values()) == [Status.SENT, Status.QUEUED, Status.QUEUED]
    for row in rows[1:]:
        row.refresh_from_db()
        assert (row.attempts, row.claim_token, row.next_attempt_at) == (0, None, None)
    provider.during_send = None
    assert sorted(mailer.sweep()) == [row.pk for row in rows[1:]]
    assert statuses(rows) == [Status.SENT] * 3
    assert [provider.attempts.count(row.message_id) for row in rows] == [1, 1, 1]


def test_queueing_many_hands_them_to_workers_in_batches(
    db, provider, monkeypatch, django_capture_on_commit_callbacks
):
    handed = []
    monkeypatch.setattr(mailer, "DELIVERY_BATCH", 2)
    monkeypatch.setattr(mailer, "_dispatch_batch", handed.append)
    monkeypatch.setattr(mailer, "_dispatch", lambda pk: handed.append([pk]))

    with django_capture_on_commit_callbacks(execute=True):
        rows = queue_many(5)

    pks = [row.pk for row in rows]
    assert handed == [pks[0:2], pks[2:4], pks[4:]]


def test_the_batch_task_reports_what_it_sent(db, provider):
    from privacy.tasks import deliver_emails

    rows = queue_many(3, category="meeting_reminders")
    services.unsubscribe(email=rows[1].to, category="meeting_reminders", source="one_click")

    assert deliver_emails.delay([row.pk for row in rows]).get() == 2
    assert statuses(rows) == [Status.SENT, Status.SUPPRESSED, Status.SENT]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("pooled", [False, True])
def test_commits_skip_the_disk_flush_only_on_a_connection_of_our_own(settings, pooled):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from privacy.outbox_session import commits_without_flush

    if connection.vendor != "postgresql":
        pytest.skip("synchronous_commit is PostgreSQL's")
    settings.DB_TRANSACTION_POOLING = pooled
    with CaptureQueriesContext(connection) as queries, commits_without_flush():
        OutgoingEmail.objects.count()
    sets = [q["sql"] for q in queries.captured_queries if "synchronous_commit" in q["sql"]]
    # Behind a transaction pooler a session SET would leak to other clients' transactions.
    assert sets == ([] if pooled else ["SET synchronous_commit TO OFF", "RESET synchronous_commit"])
