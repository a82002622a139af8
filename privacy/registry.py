"""Writes to the third-party registry, made by privacy admins on the staff page."""

from __future__ import annotations

from django.db import transaction

from accounts.models import User

from . import audit
from .models import ThirdParty


@transaction.atomic
def save_third_party(*, party: ThirdParty, changed: list[str], actor: User) -> ThirdParty:
    """Save a registry row (new or edited) and log who changed which fields."""
    created = party.pk is None
    party.full_clean()
    party.save()
    audit.record(
        actor=actor,
        action="third_party.created" if created else "third_party.changed",
        target_type="third_party",
        target_id=party.slug,
        purpose="keep the third-party registry",
        details={"fields": sorted(changed)},
    )
    return party
