"""A person's survey answers for a privacy request: their export, and erasing them.

Answers are found through the person's participant sessions, so erasure runs before
meetings anonymises those sessions. An erased person's answers are deleted outright
(their comment is personal data, and a rating without it still belongs to the session).
Answers given in meetings the person hosts are other people's; they go with the
meeting when meetings deletes it.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q, QuerySet

from privacy.subjects import AppData, ErasureLine, Subject, lines_with_rows, row

from .models import CallRating
from .selectors import REASON_LABELS

APP = "feedback"


def _own(subject: Subject) -> QuerySet[CallRating]:
    query = subject.email_q("participant__email")
    if subject.user is not None:
        query |= Q(participant__user=subject.user)
    return CallRating.objects.filter(query).select_related("occurrence__meeting")


def _not_hosted(subject: Subject) -> Q:
    return ~Q(occurrence__meeting__host=subject.user) if subject.user is not None else Q()


def export_for(subject: Subject) -> AppData:
    return {
        "call_quality_answers": [
            row(
                meeting=r.occurrence.meeting.title,
                sitting_starts_at=r.occurrence.starts_at,
                stars=r.stars,
                reasons=", ".join(REASON_LABELS.get(k, k) for k in r.reasons),
                comment=r.comment,
                browser=f"{r.browser_family} {r.browser_major or ''}".strip(),
                media_worker=r.media_worker,
                used_turn=r.used_turn,
                packet_loss_pct=r.packet_loss_pct,
                round_trip_ms=r.rtt_ms,
                answered_at=r.created_at,
            )
            for r in _own(subject).order_by("created_at", "pk")
        ]
    }


def erase_for(subject: Subject, *, dry_run: bool) -> list[ErasureLine]:
    own = _own(subject).filter(_not_hosted(subject))
    hosted = (
        CallRating.objects.filter(occurrence__meeting__host=subject.user)
        if subject.user is not None
        else CallRating.objects.none()
    )
    lines = [
        ErasureLine(APP, "Their answers to the call-quality survey", own.count(), "deleted"),
        ErasureLine(
            APP,
            "Survey answers in the meetings they host (everyone's, with the meeting)",
            hosted.count(),
            "deleted",
        ),
    ]
    if not dry_run:
        with transaction.atomic():
            CallRating.objects.filter(pk__in=list(own.values_list("pk", flat=True))).delete()
            hosted.delete()
    return lines_with_rows(lines)
