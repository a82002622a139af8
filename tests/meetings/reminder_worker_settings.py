"""Settings for the Celery workers of the reminder fault test: the project's, with mail
kept in memory, and (with REMINDER_PAUSE_AFTER=n) a worker that stops for good inside
the transaction of its n-th reminder, after the email row is written but before the
commit: the moment at which the test kills it."""

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
    from django.db.models.signals import post_save

    def pause(sender, instance, created, **kwargs):  # type: ignore[no-untyped-def]
        if not created or instance.category != "meeting_reminders":
            return
        _written.append(instance.pk)
        if len(_written) == _PAUSE_AFTER:
            Path(_MARKER).touch()
            time.sleep(120)  # killed here

    post_save.connect(pause, sender="privacy.OutgoingEmail", weak=False)
