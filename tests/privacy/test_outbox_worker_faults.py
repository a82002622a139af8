"""Real Celery workers on Redis, SIGKILLed in the middle of sending one message: before
the provider accepted it, after it accepted it, and after the outbox recorded it but
before the broker heard the task was done. A second worker, with beat running the outbox
sweep, finishes the job, and Redis hands it the dead worker's task again as well. Each
time the provider delivers the message exactly once and the row ends "sent".

Needs PostgreSQL and Redis (CI has both): the workers share the test database and the
broker. The provider is `outbox_provider`, a directory the workers write to."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from privacy import mailer
from privacy.models import OutgoingEmail
from tests.celery_workers import NEEDS_REAL_WORKERS, Worker, wait_for

from . import outbox_provider

LEASE_SECONDS = 3
SHORT_VISIBILITY = 4

pytestmark = NEEDS_REAL_WORKERS


@pytest.fixture
def provider_dir(tmp_path, monkeypatch):
    directory = tmp_path / "provider"
    directory.mkdir()
    monkeypatch.setenv(outbox_provider.DIRECTORY, str(directory))
    return directory


class OutboxWorker(Worker):
    """A worker that delivers through `outbox_provider`, pausing at `pause` until killed."""

    def __init__(
        self,
        tmp_path: Path,
        name: str,
        *,
        visibility_timeout: int,
        pause: str = "",
        beat: bool = False,
    ):
        super().__init__(
            tmp_path,
            name,
            settings_module="tests.privacy.outbox_worker_settings",
            env={
                "CELERY_VISIBILITY_TIMEOUT": str(visibility_timeout),
                "EMAIL_OUTBOX_LEASE_SECONDS": str(LEASE_SECONDS),
                "EMAIL_OUTBOX_SWEEP_SECONDS": "1",
                outbox_provider.DIRECTORY: str(tmp_path / "provider"),
                outbox_provider.PAUSE: pause,
            },
            beat=beat,
        )


def _row(pk: int) -> OutgoingEmail:
    return OutgoingEmail.objects.get(pk=pk)


@pytest.mark.parametrize(
    ("point", "recovery", "accepted"),
    [
        # Nothing reached the provider: the message goes out once, on the takeover, be it
        # the sweep's (Redis keeps the dead worker's task for hours, as in production)...
        ("before_acceptance", "sweep", 1),
        # ...or the dead worker's own task, which Redis hands out again.
        ("before_acceptance", "redelivery", 1),
        # The provider has it, the outbox does not know: the sweep sends it again under
        # the same Message-ID, and the provider delivers it once.
        ("after_acceptance", "sweep", 2),
        # The outbox knows: the task Redis hands out again finds nothing to send.
        ("after_task", "redelivery", 1),
    ],
)
def test_a_worker_killed_mid_send_delivers_exactly_once(
    broker, provider_dir, tmp_path, point, recovery, accepted
):
    visibility_timeout = SHORT_VISIBILITY if recovery == "redelivery" else 3600
    first = OutboxWorker(tmp_path, "first", pause=point, visibility_timeout=visibility_timeout)
    try:
        outgoing = mailer.send_email(
            to="someone@example.com",
            subject="Your meeting starts soon",
            text="The weekly sync starts in 15 minutes.",
            category="transactional",
        )  # autocommit: its task is on the broker now
        [task_id] = {
            line.split("deliver_email[", 1)[1].split("]", 1)[0]
            for line in _waited_for_receipt(first)
            if "privacy.tasks.deliver_email[" in line
        }
        wait_for(
            lambda: (provider_dir / f"paused-{point}").exists(),
            timeout=15,
            message=f"the first worker never reached {point}:\n{first.output()}",
        )
        handed_out = time.monotonic()
    finally:
        first.kill()

    expected_row = OutgoingEmail.Status.SENT if point == "after_task" else "sending"
    assert _row(outgoing.pk).status == expected_row
    if recovery == "redelivery":  # Redis hands the task out again only after this
        time.sleep(max(0.0, handed_out + SHORT_VISIBILITY + 0.5 - time.monotonic()))

    second = OutboxWorker(tmp_path, "second", beat=True, visibility_timeout=visibility_timeout)
    redelivered = f"deliver_email[{task_id}] succeeded"
    swept = re.compile(r"sweep_outbox\[[-0-9a-f]+\] succeeded in [0-9.e-]+s: 1$", re.M)
    recovered = {
        "sweep": lambda: swept.search(second.output()),
        "redelivery": lambda: redelivered in second.output(),
    }[recovery]
    try:
        wait_for(
            lambda: _row(outgoing.pk).status == OutgoingEmail.Status.SENT and recovered(),
            timeout=20,
            message=f"the second worker did not finish:\n{second.output()}",
        )
        time.sleep(1.5)  # another sweep or two: nothing more goes out
    finally:
        second.stop()

    row = _row(outgoing.pk)
    assert row.status == OutgoingEmail.Status.SENT
    assert (row.claim_token, row.lease_until) == (None, None)
    assert row.provider_message_id == row.message_id
    [delivered] = outbox_provider.delivered()
    assert f"Message-ID: {row.message_id}" in delivered.read_text()
    assert outbox_provider.acceptances() == [row.message_id] * accepted
    if recovery == "sweep":
        assert task_id not in second.output()  # the sweep did it alone


def test_a_worker_killed_mid_batch_leaves_the_sweep_exactly_the_unsent(
    broker, provider_dir, tmp_path
):
    first = OutboxWorker(tmp_path, "first", pause="mid_batch", visibility_timeout=3600)
    try:
        rows = mailer.send_emails(
            [
                mailer.Draft(f"person{i}@example.com", f"Update {i}", "News.", "transactional")
                for i in range(3)
            ]
        )  # autocommit: one batch task is on the broker now
        wait_for(
            lambda: (provider_dir / "paused-mid_batch").exists(),
            timeout=20,
            message=f"the first worker never reached the second message:\n{first.output()}",
        )
    finally:
        first.kill()

    sent, *unsent = rows
    assert _row(sent.pk).status == OutgoingEmail.Status.SENT  # recorded as it was accepted
    assert [_row(row.pk).status for row in unsent] == ["sending", "sending"]

    second = OutboxWorker(tmp_path, "second", beat=True, visibility_timeout=3600)
    swept = re.compile(r"sweep_outbox\[[-0-9a-f]+\] succeeded in [0-9.e-]+s: 2$", re.M)
    try:
        wait_for(
            lambda: (
                all(_row(row.pk).status == OutgoingEmail.Status.SENT for row in rows)
                and swept.search(second.output())
            ),
            timeout=20,
            message=f"the second worker did not finish:\n{second.output()}",
        )
        time.sleep(1.5)  # another sweep or two: nothing more goes out
    finally:
        second.stop()

    # Each message reached the provider once: the sweep took exactly the two unsent.
    assert sorted(outbox_provider.acceptances()) == sorted(row.message_id for row in rows)
    assert len(outbox_provider.delivered()) == 3


def _waited_for_receipt(worker: Worker) -> list[str]:
    wait_for(
        lambda: "privacy.tasks.deliver_email[" in worker.output(),
        timeout=20,
        message=f"the first worker never received the task:\n{worker.output()}",
    )
    return worker.output().splitlines()
