"""Settings for the Celery workers of the outbox fault tests: the project's, with the
stand-in provider, and a pause after a delivery task has run but before it is acked."""

from celery.signals import task_postrun

from conferencing.settings import *  # noqa: F403

EMAIL_BACKEND = "tests.privacy.outbox_provider.EmailBackend"


@task_postrun.connect
def _pause_before_the_ack(sender=None, **kwargs):  # type: ignore[no-untyped-def]
    # task_postrun runs inside the task's trace, before an acks_late task is acknowledged.
    if sender is not None and sender.name == "privacy.tasks.deliver_email":
        from tests.privacy.outbox_provider import pause_once

        pause_once("after_task")
