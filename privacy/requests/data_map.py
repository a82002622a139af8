"""Where a person's data lives: every app's privacy module, in the order they run.

Each app reads and erases only its own tables through its ``privacy_data`` module. The
export follows ``APPS``; erasure follows ``ERASE_ORDER``: recordings before meetings
(deleting a meeting would take its recordings' rows without their files), and the
account last (the others may still look the person up through it).
"""

from __future__ import annotations

from django.db import transaction

from accounts import privacy_data as accounts_data
from billing import privacy_data as billing_data
from contests import privacy_data as contests_data
from feedback import privacy_data as feedback_data
from meetings import privacy_data as meetings_data
from privacy import privacy_data as privacy_own_data
from privacy.subjects import AppData, ErasureLine, PrivacyModule, Subject
from recordings import privacy_data as recordings_data
from support import privacy_data as support_data

APPS: tuple[PrivacyModule, ...] = (
    accounts_data,
    meetings_data,
    recordings_data,
    support_data,
    billing_data,
    contests_data,
    feedback_data,
    privacy_own_data,
)
ERASE_ORDER: tuple[PrivacyModule, ...] = (
    recordings_data,
    feedback_data,  # finds answers through sessions that meetings then anonymises
    meetings_data,
    support_data,
    billing_data,
    contests_data,
    privacy_own_data,
    accounts_data,
)


def export_person(subject: Subject) -> dict[str, AppData]:
    """Everything about the person: app name to its sections, each a list of rows."""
    return {module.APP: module.export_for(subject) for module in APPS}


def erase_person(subject: Subject, *, dry_run: bool) -> list[ErasureLine]:
    """What erasure does (dry run: would do) to the person's data, app by app.

    A real run is one transaction: all of it happens, or none. Files (recordings) are
    removed only once it has committed.
    """
    if dry_run:
        return [line for module in ERASE_ORDER for line in module.erase_for(subject, dry_run=True)]
    with transaction.atomic():
        return [line for module in ERASE_ORDER for line in module.erase_for(subject, dry_run=False)]
