"""Running a contest's draw once, notifying its winners, and purging entries on time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from privacy import audit, mailer
from privacy.email_categories import Category

from . import draw
from .eligibility import purge_due_at
from .models import Contest, ContestEntry
from .services import stale_pending_entries

DRAW_ACTION = "contest.draw"


class AlreadyDrawn(Exception):
    message = "This contest's draw has already taken place; a contest is drawn only once."


class DrawNotDue(Exception):
    message = "Entries are still open: the draw can run only after the contest's end."


def drawn_entry_ids(contest: Contest) -> list[str]:
    """The ordered list the draw hashed, as it stands now (erased entries are gone)."""
    ids = (
        ContestEntry.objects.filter(contest=contest, draw_position__isnull=False)
        .order_by("draw_position")
        .values_list("public_id", flat=True)
    )
    return [str(public_id) for public_id in ids]


def run_draw(*, contest: Contest, actor: Any) -> draw.DrawRecord:
    """Pick the winners among the confirmed entries, once, and write the audit entry.

    The claim is a conditional UPDATE on `drawn_at`: a second draw, however it arrives,
    finds the contest drawn and is refused. The ordered entry list is the confirmed
    entries sorted by their random public id, so no one's place depends on when or how
    they entered; each entry keeps its place (draw_position) for verification.
    """
    now = timezone.now()
    with transaction.atomic():
        claimed = Contest.objects.filter(
            pk=contest.pk, drawn_at__isnull=True, ends_at__lte=now
        ).update(drawn_at=now, drawn_by=actor)
        if not claimed:
            contest.refresh_from_db()
            raise AlreadyDrawn() if contest.drawn_at else DrawNotDue()
        rows = sorted(
            (str(public_id), pk)
            for public_id, pk in ContestEntry.objects.filter(
                contest=contest, verified_at__isnull=False
            ).values_list("public_id", "pk")
        )
        entry_ids = [public_id for public_id, _ in rows]
        record = draw.draw(entry_ids=entry_ids, count=contest.winners_count)
        entries = [ContestEntry(pk=pk, draw_position=index) for index, (_, pk) in enumerate(rows)]
        ContestEntry.objects.bulk_update(entries, ["draw_position"], batch_size=1000)
        for rank, public_id in enumerate(record.winners, start=1):
            ContestEntry.objects.filter(contest=contest, public_id=public_id).update(
                winner_rank=rank
            )
        entry = audit.record(
            actor=actor,
            action=DRAW_ACTION,
            target_type="contest",
            target_id=str(contest.pk),
            purpose="Draw a contest's winners; the seed and list hash let anyone redo it",
            details=record.as_details(),
        )
        Contest.objects.filter(pk=contest.pk).update(draw_audit_entry_id=entry.pk)
        contest.refresh_from_db()
        _notify_winners(contest)
    return record


def _notify_winners(contest: Contest) -> None:
    """A transactional message to each winner; it leaves once the draw commits."""
    page = settings.SITE_URL + reverse("contests:detail", args=[contest.slug])
    for winner in contest.entries.filter(winner_rank__isnull=False).order_by("winner_rank"):
        context = {
            "contest": contest,
            "first_name": winner.first_name,
            "url": page,
            "site_name": settings.SITE_NAME,
            "postal_address": settings.COMPANY_POSTAL_ADDRESS,
        }
        mailer.send_email(
            to=winner.email,
            subject=f"You won: {contest.title}",
            text=render_to_string("contests/email/winner.txt", context),
            html=render_to_string("contests/email/winner.html", context),
            category=Category.TRANSACTIONAL,
        )


def recorded_draw(contest: Contest) -> dict[str, Any] | None:
    """The details of the contest's draw entry in the audit log, if it was drawn."""
    if contest.draw_audit_entry_id is None:
        return None
    for entry in audit.entries_for(target_type="contest", target_id=str(contest.pk)):
        if entry.pk == contest.draw_audit_entry_id and entry.action == DRAW_ACTION:
            return dict(entry.details)
    return None


def verify_recorded_draw(contest: Contest) -> draw.Verification | None:
    """Redo the draw from its audit entry over the entries as stored; None if undrawn."""
    details = recorded_draw(contest)
    if details is None:
        return None
    return draw.verify(details=details, entry_ids=drawn_entry_ids(contest))


def purge_expired_entries(*, now: datetime | None = None) -> int:
    """Delete every entry of contests past their retention, and expired unconfirmed ones.

    Returns how many entries went. Safe to run twice: a purged contest is marked.
    """
    now = now or timezone.now()
    deleted = 0
    for contest in Contest.objects.filter(entries_purged_at__isnull=True, ends_at__lte=now):
        if purge_due_at(contest) > now:
            continue
        with transaction.atomic():
            marked = Contest.objects.filter(pk=contest.pk, entries_purged_at__isnull=True).update(
                entries_purged_at=now
            )
            if not marked:
                continue
            count, _ = ContestEntry.objects.filter(contest=contest).delete()
            audit.record(
                actor=None,
                action="contest.entries_purged",
                target_type="contest",
                target_id=str(contest.pk),
                purpose="Delete a contest's entries once the retention in its rules has passed",
                details={"entries": count, "retention_months": contest.retention_months},
            )
            deleted += count
    stale, _ = stale_pending_entries(now=now).delete()
    return deleted + stale
