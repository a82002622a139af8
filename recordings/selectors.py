"""Reads for the recordings library, the share pages and the QA console."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import User

from .models import ConsentReceipt, Recording, ShareLink

State = Recording.State


def _as_uuid(value: object) -> uuid.UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def library_for(*, host: User, trashed: bool = False) -> QuerySet[Recording]:
    """The host's recordings, newest first: those in the library, or those in the trash."""
    return (
        Recording.objects.filter(host=host, trashed_at__isnull=not trashed)
        .select_related("meeting", "occurrence")
        .order_by("-trashed_at" if trashed else "-started_at", "-pk")
    )


def recording_of_host(*, host: User, public_id: object) -> Recording | None:
    """The host's own recording (trashed or not). Anyone else's is None, like a missing one."""
    key = _as_uuid(public_id)
    if key is None or not host.is_authenticated:
        return None
    return (
        Recording.objects.select_related("meeting", "occurrence")
        .filter(host=host, public_id=key)
        .first()
    )


def recordings_of_host(*, host: User, public_ids: list[str]) -> list[Recording]:
    keys = [key for key in map(_as_uuid, public_ids) if key is not None]
    return list(Recording.objects.filter(host=host, public_id__in=keys))


@dataclass(frozen=True)
class Consents:
    latest: list[ConsentReceipt]  # each participant's most recent decision
    history: list[ConsentReceipt]  # every decision, oldest first


def consents_for(*, recording: Recording) -> Consents:
    history = list(recording.consents.order_by("decided_at", "pk"))
    latest: dict[uuid.UUID, ConsentReceipt] = {}
    for receipt in history:
        latest[receipt.participant_id] = receipt  # later receipts replace earlier ones
    return Consents(
        latest=sorted(latest.values(), key=lambda r: (r.decided_at, r.pk)), history=history
    )


def share_links_for(*, recording: Recording) -> QuerySet[ShareLink]:
    return recording.share_links.order_by("-created_at", "-pk")


class ShareProblem(Enum):
    """Why a share token leads nowhere, in the words the visitor sees."""

    UNKNOWN = "This link doesn't lead to a recording. Check that it was copied whole."
    REVOKED = "This link was turned off by the person who shared it."
    EXPIRED = "This link has expired."
    UNAVAILABLE = "This recording is no longer available."


def _link_usable(now: datetime) -> Q:
    return (
        Q(revoked_at__isnull=True, expires_at__gt=now)
        & Q(recording__state=State.READY, recording__trashed_at__isnull=True)
        & (Q(recording__expires_at__isnull=True) | Q(recording__expires_at__gt=now))
    )


def share_link_by_token(*, token: str, now: datetime | None = None) -> ShareLink | None:
    """The link if it may be used now: not revoked or expired, its recording ready and kept."""
    now = now or timezone.now()
    return (
        ShareLink.objects.select_related("recording").filter(_link_usable(now), token=token).first()
    )


def share_problem(*, token: str, now: datetime | None = None) -> ShareProblem:
    """Why `share_link_by_token` found nothing for this token."""
    now = now or timezone.now()
    link = ShareLink.objects.select_related("recording").filter(token=token).first()
    if link is None:
        return ShareProblem.UNKNOWN
    if link.revoked_at is not None:
        return ShareProblem.REVOKED
    if link.expires_at <= now:
        return ShareProblem.EXPIRED
    return ShareProblem.UNAVAILABLE


def qa_candidates() -> QuerySet[Recording]:
    """Recordings staff may open for quality assurance (who took part stays out of it)."""
    return (
        Recording.objects.filter(state=State.READY, trashed_at__isnull=True, qa_use_allowed=True)
        .only("public_id", "title", "started_at", "duration_seconds")
        .order_by("-started_at")
    )
