"""Celery entry points: load by id, call the service."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task

from recordings import processing, retention, services

MAX_RETRIES = 4
NOT_READY_RETRY_SECONDS = 5
# A recording still processing with no live lease this long after the stop is re-enqueued.
STALLED_AFTER = timedelta(minutes=2)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None)
def process_recording(self, recording_id: int, failures: int = 0) -> str:  # type: ignore[no-untyped-def]
    """Compose one recording. A failed attempt is retried with backoff (``failures`` counts
    them; waiting for the media server to close its files does not count), then the
    recording is marked failed with the reason."""
    try:
        return processing.process(recording_id).value
    except processing.NotReadyYet as exc:
        if self.request.is_eager:
            # Eager (no broker) a retry would run at once, in a loop: the sweep comes back.
            return "waiting"
        raise self.retry(exc=exc, countdown=NOT_READY_RETRY_SECONDS) from exc
    except processing.LeaseLost:
        return processing.Outcome.BUSY.value
    except Exception as exc:
        if self.request.is_eager or failures >= MAX_RETRIES:
            # Eager (no broker: the embedded default) there is no backoff to wait
            # through; the host sees the reason and may retry.
            processing.fail(recording_id, _reason(exc))
            if self.request.is_eager:
                return "failed"
            raise
        raise self.retry(
            exc=exc,
            args=(recording_id,),
            kwargs={"failures": failures + 1},
            countdown=10 * 2**failures,
        ) from exc


def _reason(exc: Exception) -> str:
    from recordings.compose import CompositionError

    if isinstance(exc, CompositionError):
        return str(exc)
    return f"Processing failed unexpectedly ({type(exc).__name__}). Retry, or contact support."


@shared_task
def requeue_stalled_processing() -> int:
    return len(services.requeue_stalled(stale_after=STALLED_AFTER))


@shared_task
def stop_abandoned_recordings() -> int:
    """Recordings of sittings nobody is in any more (the room emptied without an end)."""
    from meetings.room.actions import recording

    return recording.stop_abandoned()


@shared_task
def apply_retention() -> dict[str, int]:
    return {"trashed": retention.trash_expired(), "purged": retention.purge_trash()}
