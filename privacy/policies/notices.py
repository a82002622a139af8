"""Writes for material policy changes: the announcement, the emails, the acknowledgements.

A material version is announced once (a unique row per version); its email goes to
every account that existed before the version took effect, in batches, and a
PolicyNotice row per person makes a retried or duplicated batch send nothing twice.
"""

import logging
from datetime import UTC, datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from privacy.email_categories import Category
from privacy.mailer import send_email
from privacy.models import PolicyAcknowledgement, PolicyAnnouncement, PolicyDocument, PolicyNotice

from .documents import PolicyVersion, all_versions, current_version

logger = logging.getLogger(__name__)

BATCH_SIZE = 500
# An announcement still unfinished after this long lost a batch: send the rest again.
RESUME_AFTER = timedelta(hours=1)

POLICY_URL_NAMES = {
    PolicyDocument.PRIVACY: "privacy:policy",
    PolicyDocument.COOKIES: "privacy:cookie_policy",
}


def policy_url(document: str) -> str:
    return reverse(POLICY_URL_NAMES[PolicyDocument(document)])


def _version(document: str, version: int) -> PolicyVersion:
    for item in all_versions(document):
        if item.version == version:
            return item
    raise LookupError(f"No {document} policy v{version}.")


def recipients(*, version: PolicyVersion) -> QuerySet[User]:
    """Accounts to tell: active, not deleted, joined before the version took effect,
    not told yet."""
    told = PolicyNotice.objects.filter(
        user=OuterRef("pk"), document=version.document, version=version.version
    )
    return User.objects.filter(
        is_active=True, deleted_at__isnull=True, date_joined__lt=version.effective_start
    ).exclude(Exists(told))


def announce_policy_changes(*, now: datetime | None = None) -> list[int]:
    """Start the notice of every current material version not announced yet, and
    resume an announcement that stalled. Returns the announcement ids with batches."""
    now = now or timezone.now()
    started = []
    for document in PolicyDocument:
        version = current_version(document, today=now.astimezone(UTC).date())
        if version is None or not version.material:
            continue
        announcement = _claim_announcement(version=version, now=now)
        if announcement is None:
            announcement = PolicyAnnouncement.objects.filter(
                document=version.document,
                version=version.version,
                finished_at__isnull=True,
                started_at__lt=now - RESUME_AFTER,
            ).first()
            if announcement is None:
                continue
            logger.warning("Resuming the stalled notice of %s", announcement)
        _enqueue_batches(announcement=announcement, version=version)
        started.append(announcement.pk)
    return started


def _claim_announcement(*, version: PolicyVersion, now: datetime) -> PolicyAnnouncement | None:
    """The new announcement row, or None when another caller made it first."""
    try:
        with transaction.atomic():
            return PolicyAnnouncement.objects.create(
                document=version.document, version=version.version, started_at=now
            )
    except IntegrityError:
        return None


def _enqueue_batches(*, announcement: PolicyAnnouncement, version: PolicyVersion) -> None:
    from .tasks import send_policy_notice_batch

    user_ids = list(recipients(version=version).order_by("pk").values_list("pk", flat=True))
    if not user_ids:
        finish_if_done(announcement_id=announcement.pk)
        return
    for start in range(0, len(user_ids), BATCH_SIZE):
        batch = user_ids[start : start + BATCH_SIZE]
        transaction.on_commit(partial(send_policy_notice_batch.delay, announcement.pk, batch))


def send_policy_notices(*, announcement_id: int, user_ids: list[int]) -> int:
    """Email each user of a batch who has not been told yet; returns how many were."""
    announcement = PolicyAnnouncement.objects.get(pk=announcement_id)
    version = _version(announcement.document, announcement.version)
    sent = 0
    for user in recipients(version=version).filter(pk__in=user_ids).order_by("pk"):
        with transaction.atomic():
            _, created = PolicyNotice.objects.get_or_create(
                user=user,
                document=version.document,
                version=version.version,
                defaults={"sent_at": timezone.now()},
            )
            if created:
                _send_notice_email(user=user, version=version)
                sent += 1
    finish_if_done(announcement_id=announcement_id)
    return sent


def finish_if_done(*, announcement_id: int) -> None:
    """Count who was told; mark the announcement finished once nobody is left."""
    announcement = PolicyAnnouncement.objects.get(pk=announcement_id)
    version = _version(announcement.document, announcement.version)
    told = PolicyNotice.objects.filter(document=version.document, version=version.version)
    PolicyAnnouncement.objects.filter(pk=announcement_id).update(recipients=told.count())
    if not recipients(version=version).exists():
        PolicyAnnouncement.objects.filter(pk=announcement_id, finished_at__isnull=True).update(
            finished_at=timezone.now()
        )


def _send_notice_email(*, user: User, version: PolicyVersion) -> None:
    context = {
        "user": user,
        "version": version,
        "policy_url": settings.SITE_URL + policy_url(version.document),
        "site_name": settings.SITE_NAME,
        "postal_address": settings.COMPANY_POSTAL_ADDRESS,
        "contact_email": settings.PRIVACY_CONTACT_EMAIL,
    }
    send_email(
        to=user.email,
        subject=f"We updated our {version.title.lower()}",
        text=render_to_string("privacy/policies/email/change_notice.txt", context),
        category=Category.TRANSACTIONAL,
    )


def acknowledge(*, user: User, document: str, version: int) -> bool:
    """Record that the user has seen a version; True the first time."""
    _, created = PolicyAcknowledgement.objects.get_or_create(
        user=user,
        document=PolicyDocument(document),
        version=version,
        defaults={"seen_at": timezone.now()},
    )
    return created
