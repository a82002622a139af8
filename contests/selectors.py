"""Contest reads: the public page's contest and winners, and the staff lists."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, F, Q, QuerySet

from .eligibility import where_label
from .models import Contest, ContestEntry


def contest_by_slug(slug: str) -> Contest | None:
    return Contest.objects.filter(slug=slug).first()


@dataclass(frozen=True)
class PublicWinner:
    """All the winners list shows of a winner: first name, and state (or country)."""

    rank: int
    first_name: str
    where: str


def public_winners(contest: Contest) -> list[PublicWinner]:
    winners = ContestEntry.objects.filter(contest=contest, winner_rank__isnull=False).order_by(
        "winner_rank"
    )
    return [
        PublicWinner(w.winner_rank or 0, w.first_name, where_label(w.country, w.us_state))
        for w in winners.only("winner_rank", "name", "country", "us_state")
    ]


def contests_with_counts() -> QuerySet[Contest]:
    return Contest.objects.annotate(
        entry_count=Count("entries", filter=Q(entries__verified_at__isnull=False)),
        pending_count=Count("entries", filter=Q(entries__verified_at__isnull=True)),
    ).order_by("-starts_at")


def entry_counts(contest: Contest) -> dict[str, int]:
    entries = ContestEntry.objects.filter(contest=contest)
    return {
        "confirmed": entries.filter(verified_at__isnull=False).count(),
        "pending": entries.filter(verified_at__isnull=True).count(),
        "winners": entries.filter(winner_rank__isnull=False).count(),
    }


def entrants(contest: Contest) -> QuerySet[ContestEntry]:
    """Every entry, winners first, then in the order they arrived."""
    return ContestEntry.objects.filter(contest=contest).order_by(
        F("winner_rank").asc(nulls_last=True), "created_at", "pk"
    )
