"""Every periodic task, in one list: what celery beat runs, and how often.

Synced into django-celery-beat's tables when beat starts (``CELERY_BEAT_SCHEDULE``). The
two intervals an operator may tune come from settings.
"""

from __future__ import annotations

from typing import Any

MINUTE = 60.0
HOUR = 3600.0
DAY = 24 * HOUR


def periodic_tasks(*, outbox_sweep_seconds: float, reminder_scan_seconds: float) -> dict[str, Any]:
    every = [
        ("close-stale-participant-sessions", "meetings.tasks.close_stale_sessions", 30.0),
        # Each room connection times its meeting's plan limit; this backs up the rooms
        # nobody is connected to, and those on another web process.
        ("enforce-meeting-time-limits", "meetings.tasks.enforce_time_limits", 30.0),
        ("meeting-reminders", "meetings.tasks.scan_reminders", reminder_scan_seconds),
        # Hourly, so each host's summary leaves early on the 1st in their own zone.
        ("monthly-usage-summaries", "meetings.tasks.send_usage_summaries", HOUR),
        ("stop-abandoned-recordings", "recordings.tasks.stop_abandoned_recordings", MINUTE),
        (
            "requeue-stalled-recording-processing",
            "recordings.tasks.requeue_stalled_processing",
            MINUTE,
        ),
        ("recording-retention", "recordings.tasks.apply_retention", HOUR),
        ("sweep-email-outbox", "privacy.tasks.sweep_outbox", outbox_sweep_seconds),
        ("announce-policy-changes", "privacy.policies.tasks.announce_policy_changes", HOUR),
        (
            "remind-due-privacy-requests",
            "privacy.requests.tasks.remind_due_privacy_requests",
            DAY,
        ),
        (
            "privacy-request-housekeeping",
            "privacy.requests.tasks.privacy_request_housekeeping",
            DAY,
        ),
        ("clear-expired-sessions", "accounts.tasks.clear_expired_sessions", DAY),
        ("purge-expired-contest-entries", "contests.tasks.purge_expired_contest_entries", DAY),
        (
            "billing-requeue-stalled-webhook-events",
            "billing.tasks.requeue_stalled_webhook_events",
            5 * MINUTE,
        ),
        ("billing-end-expired-grace", "billing.tasks.end_expired_grace_periods", HOUR),
        ("billing-purge-expired-invoices", "billing.tasks.purge_expired_invoices", DAY),
        ("billing-reconcile-with-stripe", "billing.tasks.reconcile_with_stripe", DAY),
    ]
    return {name: {"task": task, "schedule": seconds} for name, task, seconds in every}
