"""Settings for the Celery workers of the reminder fault test: the project's, with mail
kept in memory, and (with REMINDER_PAUSE_AFTER=n) a worker that stops for good inside
the transaction of the batch that wrote its n-th reminder email, after the email rows
are written but before the commit: the moment at which the test kills it."""

import os
import time
from pathlib import Path

from celery.signals import worker_ready

from conferencing.settings import *  # noqa: F403

EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
_PAUSE_AFTER = int(os.environ.get("REMINDER_PAUSE_AFTER") or 0)
_MARKER = os.environ.get("REMINDER_PAUSE_MARKER", "")
_written = []


@worker_ready.connect
def _pause_inside_a_claim(**kwargs):  # type: ignore[no-untyped-def]
    if not _PAUSE_AFTER:
        return
    from meetings import reminders

    queue = reminders.send_emails

    def pause(drafts):  # type: ignore[no-untyped-def]
        # A batch's emails are written in one INSERT, still inside its claim's transaction.
        rows = queue(drafts)
        _written.extend(row.pk for row in rows if row.category == "meeting_reminders")
        if len(_written) >= _PAUSE_AFTER:
            Path(_MARKER).touch()
            time.sleep(120)  # killed here
        return rows

    reminders.send_emails = pause
