"""A person's contest entries for a privacy request: their export, and erasing them.

An erased winner's entry goes too: the draw's audit entry keeps only random entry ids,
so the draw stays on record, though it can no longer be redone over the full list.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q, QuerySet

from privacy.subjects import AppData, ErasureLine, Subject, lines_with_rows, row

from .models import ContestEntry

APP = "contests"


def _entries(subject: Subject) -> QuerySet[ContestEntry]:
    query = subject.email_q("email")
    if subject.user is not None:
        query |= Q(user=subject.user)
    return ContestEntry.objects.filter(query).select_related("contest")


def export_for(subject: Subject) -> AppData:
    return {
        "contest_entries": [
            row(
                contest=entry.contest.title,
                name=entry.name,
                email=entry.email,
                date_of_birth=entry.birth_date,
                stated_minimum_age=entry.age_confirmed,
                country=entry.country,
                us_state=entry.us_state,
                accepted_rules=entry.rules_accepted,
                asked_for_marketing_email=entry.marketing_opt_in,
                entered_at=entry.created_at,
                confirmed_at=entry.verified_at,
                winner=entry.winner_rank is not None,
            )
            for entry in _entries(subject).order_by("created_at", "pk")
        ]
    }


def erase_for(subject: Subject, *, dry_run: bool) -> list[ErasureLine]:
    entries = _entries(subject)
    lines = [ErasureLine(APP, "Contest entries", entries.count(), "deleted")]
    if not dry_run:
        with transaction.atomic():
            ContestEntry.objects.filter(pk__in=list(entries.values_list("pk", flat=True))).delete()
    return lines_with_rows(lines)
