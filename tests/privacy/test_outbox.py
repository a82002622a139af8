"""The outbox's claim, lease and sweep: every move is a conditional UPDATE, a message
goes out under one Message-ID however often it is tried, and a mail server that is down
never breaks the request that queued a message."""

import shutil
import socket
import subprocess
import sys
import threading
import uuid
from datetime import timedelta
from email import message_from_bytes
from pathlib import Path

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from privacy import mailer
from privacy.models import OutgoingEmail
from privacy.tasks import sweep_outbox

Status = OutgoingEmail.Status
ROOT = Path(__file__).resolve().parents[2]


class ScriptedBackend:
    """A provider whose answer a test scripts: `during_send` runs while the message is
    with it (another worker, a sweep...), then it accepts, or raises `refuse`."""

    during_send = None
    refuse: Exception | None = None
    attempts: list = []

    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        for message in messages:
            ScriptedBackend.attempts.append(message.message()["Message-ID"])
            if ScriptedBackend.during_send:
                ScriptedBackend.during_send()
            if ScriptedBackend.refuse:
                raise ScriptedBackend.refuse
        mail.outbox.extend(messages)
        return len(messages)


@pytest.fixture
def provider(settings):
    settings.EMAIL_BACKEND = f"{__name__}.ScriptedBackend"
    ScriptedBackend.during_send, ScriptedBackend.refuse = None, None
    ScriptedBackend.attempts = []
    yield ScriptedBackend
    ScriptedBackend.during_send, ScriptedBackend.refuse = None, None


def queue(**overrides):
    fields = {"to": "someone@example.com", "subject": "Soon", "text": "Soon."}
    return mailer.send_email(category="transactional", **(fields | overrides))


def row(outgoing):
    outgoing.refresh_from_db()
    return outgoing


def later(seconds):
    return timezone.now() + timedelta(seconds=seconds)


def test_a_queued_message_has_a_message_id_of_its_own(db):
    first, second = queue(), queue()

    assert first.message_id.startswith("<") and first.message_id.endswith(">")
    assert first.message_id != second.message_id


def test_every_attempt_carries_the_same_message_id(db, provider):
    outgoing = queue()
    provider.refuse = OSError("smtp down")
    mailer.deliver(outgoing.pk)
    provider.refuse = None

    mailer.deliver(outgoing.pk)

    assert provider.attempts == [outgoing.message_id, outgoing.message_id]
    assert len(mail.outbox) == 1


def test_the_sent_row_keeps_the_providers_answer_and_no_claim(db, provider):
    outgoing = queue()

    assert mailer.deliver(outgoing.pk) == Status.SENT

    outgoing = row(outgoing)
    assert outgoing.status == Status.SENT
    assert outgoing.provider_message_id == outgoing.message_id
    assert (outgoing.claim_token, outgoing.lease_until, outgoing.next_attempt_at) == (
        None,
        None,
        None,
    )


def test_a_claim_holds_the_message_for_its_lease(db, provider, settings):
    settings.EMAIL_OUTBOX_LEASE_SECONDS = 120
    outgoing = queue()
    seen = {}

    def look():
        seen["row"] = OutgoingEmail.objects.get(pk=outgoing.pk)
        seen["second worker"] = mailer.deliver(outgoing.pk)

    provider.during_send = look

    mailer.deliver(outgoing.pk)

    claimed = seen["row"]
    assert claimed.status == Status.SENDING
    assert claimed.claim_token is not None
    assert later(110) < claimed.lease_until < later(121)
    assert seen["second worker"] is None
    assert provider.attempts == [outgoing.message_id]


def test_a_worker_whose_claim_was_taken_over_cannot_requeue_the_message(db, provider):
    outgoing = queue()

    def dies_slowly():
        provider.during_send = None
        provider.refuse = None
        OutgoingEmail.objects.filter(pk=outgoing.pk).update(lease_until=later(-1))
        mailer.sweep()  # takes the row over and sends it (eager)
        provider.refuse = OSError("the slow worker's connection drops")

    provider.during_send = dies_slowly

    result = mailer.deliver(outgoing.pk)

    outgoing = row(outgoing)
    assert result == Status.QUEUED  # what the slow worker believes
    assert outgoing.status == Status.SENT  # what stays: its failure write found no claim
    assert outgoing.attempts == 2
    assert len(mail.outbox) == 1


def test_an_acceptance_is_recorded_once(db, provider):
    outgoing = queue()

    def another_worker_sends_it_meanwhile():
        provider.during_send = None
        OutgoingEmail.objects.filter(pk=outgoing.pk).update(lease_until=later(-1))
        mailer.deliver(outgoing.pk)

    provider.during_send = another_worker_sends_it_meanwhile

    assert mailer.deliver(outgoing.pk) == Status.SENT

    outgoing = row(outgoing)
    assert outgoing.status == Status.SENT
    assert provider.attempts == [outgoing.message_id, outgoing.message_id]


def test_the_sweep_releases_an_expired_claim_and_sends_it(db, provider):
    outgoing = queue()
    OutgoingEmail.objects.filter(pk=outgoing.pk).update(
        status=Status.SENDING, lease_until=later(-1), attempts=1
    )

    assert mailer.sweep() == [outgoing.pk]

    outgoing = row(outgoing)
    assert outgoing.status == Status.SENT
    assert outgoing.attempts == 2
    assert provider.attempts == [outgoing.message_id]


def test_the_sweep_leaves_a_live_claim_alone(db, provider):
    outgoing = queue()
    OutgoingEmail.objects.filter(pk=outgoing.pk).update(
        status=Status.SENDING, lease_until=later(60), attempts=1
    )

    assert mailer.sweep() == []

    assert row(outgoing).status == Status.SENDING
    assert provider.attempts == []


def test_the_sweep_waits_for_the_backoff(db, provider):
    outgoing = queue()
    provider.refuse = OSError("smtp down")
    mailer.deliver(outgoing.pk)
    provider.refuse = None

    assert mailer.sweep() == []
    assert mailer.sweep(now=later(31)) == [outgoing.pk]

    assert row(outgoing).status == Status.SENT


def test_the_sweep_sends_a_message_whose_task_never_ran(db, provider, settings):
    outgoing = queue()  # inside the test's transaction: its commit hook never runs

    assert mailer.sweep() == []
    assert mailer.sweep(now=later(settings.EMAIL_OUTBOX_LEASE_SECONDS + 1)) == [outgoing.pk]

    assert row(outgoing).status == Status.SENT


def test_a_message_is_dispatched_once_per_lease(db, provider, settings, monkeypatch):
    outgoing = queue()
    dispatched = []
    monkeypatch.setattr(mailer, "_dispatch", dispatched.append)  # a broker nobody reads
    now = later(settings.EMAIL_OUTBOX_LEASE_SECONDS + 1)

    first = mailer.sweep(now=now)
    second = mailer.sweep(now=now)
    after_the_lease = mailer.sweep(now=now + timedelta(seconds=301))

    assert (first, second, after_the_lease) == ([outgoing.pk], [], [outgoing.pk])
    assert dispatched == [outgoing.pk, outgoing.pk]
    assert row(outgoing).status == Status.QUEUED


def test_the_last_failed_attempt_marks_the_message_failed(db, provider):
    outgoing = queue()
    provider.refuse = OSError("smtp down")

    results = [mailer.deliver(outgoing.pk) for _ in range(mailer.MAX_ATTEMPTS)]

    assert results == [Status.QUEUED] * (mailer.MAX_ATTEMPTS - 1) + [Status.FAILED]
    outgoing = row(outgoing)
    assert outgoing.status == Status.FAILED
    assert outgoing.text_body == ""
    assert mailer.sweep(now=later(3600)) == []


def test_a_header_that_cannot_be_written_fails_at_once(db, provider):
    outgoing = queue(subject="Soon\nBcc: everyone@example.com")

    assert mailer.deliver(outgoing.pk) == Status.FAILED

    outgoing = row(outgoing)
    assert outgoing.status == Status.FAILED
    assert "newline" in outgoing.last_error.lower()
    assert mail.outbox == []


def test_give_up_leaves_a_sent_message_sent(db, provider):
    outgoing = queue()
    mailer.deliver(outgoing.pk)

    mailer.give_up(outgoing.pk, "too late")

    assert row(outgoing).status == Status.SENT


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="racing claims need PostgreSQL")
def test_racing_workers_send_once(provider):
    outgoing = OutgoingEmail.objects.create(
        to="someone@example.com",
        category="transactional",
        subject="Soon",
        text_body="Soon.",
        message_id=mailer.new_message_id(),
    )
    start = threading.Barrier(8)
    results = []

    def worker():
        start.wait()
        try:
            results.append(mailer.deliver(outgoing.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(map(str, results)) == ["None"] * 7 + [Status.SENT]
    assert len(provider.attempts) == 1


def test_the_sweep_is_on_the_beat_schedule(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["sweep-email-outbox"]

    assert entry["task"] == sweep_outbox.name
    assert entry["schedule"] <= settings.EMAIL_OUTBOX_LEASE_SECONDS


def test_redis_redelivers_only_after_the_longest_task(settings):
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]

    assert visibility == settings.CELERY_VISIBILITY_TIMEOUT
    assert visibility > 60 * 2**7  # billing's last webhook retry countdown
    assert visibility > settings.EMAIL_OUTBOX_LEASE_SECONDS


def _refusing_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again: connections to it are refused


@pytest.mark.django_db(transaction=True)
def test_a_refusing_mail_server_does_not_break_the_request(settings, provider):
    # Eager Celery, the embedded default: the message is sent inside the request.
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", _refusing_port()

    response = Client().post(reverse("newsletter:signup"), {"email": "reader@example.com"})

    assert response.status_code == 302
    [outgoing] = OutgoingEmail.objects.all()
    assert outgoing.status == Status.QUEUED
    assert outgoing.attempts == 1
    assert "refused" in outgoing.last_error.lower()

    settings.EMAIL_BACKEND = f"{__name__}.ScriptedBackend"  # the server is back
    assert sweep_outbox.delay().get() == 0  # not before its backoff
    assert mailer.sweep(now=later(31)) == [outgoing.pk]

    assert row(outgoing).status == Status.SENT
    [message] = mail.outbox
    assert message.to == ["reader@example.com"]


@pytest.mark.parametrize("where", ["absolute", "relative"])
def test_filemail_writes_the_message_to_the_directory(tmp_path, where):
    if where == "absolute":
        directory = tmp_path / "mail"
        url = f"filemail://{directory}"
    else:
        name = f"test-filemail-{uuid.uuid4().hex}"
        directory = ROOT / "var" / name
        url = f"filemail://var/{name}"

    try:
        result = subprocess.run(
            [sys.executable, "manage.py", "sendtestemail", "someone@example.com"],
            cwd=ROOT,
            env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "EMAIL_URL": url},
            capture_output=True,
            text=True,
            timeout=60,
        )

        assert result.returncode == 0, result.stderr
        [written] = directory.iterdir()
        assert message_from_bytes(written.read_bytes())["To"] == "someone@example.com"
    finally:
        shutil.rmtree(directory, ignore_errors=True)
