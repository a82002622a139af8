"""The disclosure ledger: every time information leaves for a third party, a row.

The policy's limit lives here: personal information never goes to a third party for its
own direct marketing. Recording such a disclosure raises, whoever asks, so the code
that would perform one fails before any data leaves.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from accounts.models import User

from . import audit
from .keys import subject_key
from .models import Disclosure, ThirdParty
from .pi_categories import PersonalInfoCategory

Purpose = Disclosure.Purpose
__all__ = ["DisclosureRefused", "Purpose", "check_allowed", "record_disclosure", "subject_key"]


class DisclosureRefused(Exception):
    """A disclosure the privacy policy forbids, or one described badly enough to refuse."""


def check_allowed(*, third_party: ThirdParty, personal: bool, purpose: str) -> None:
    if not personal:
        if purpose != Purpose.AGGREGATE:
            raise DisclosureRefused("Non-personal information is disclosed as an aggregate.")
        return
    if purpose == Purpose.DIRECT_MARKETING or third_party.role == ThirdParty.Role.MARKETING_PARTNER:
        raise DisclosureRefused(
            "Personal information is never shared with third parties for their own "
            "marketing (privacy policy, “Who we share it with”)."
        )
    if purpose == Purpose.AGGREGATE:
        raise DisclosureRefused("Personal information is not an aggregate.")


def record_disclosure(
    *,
    third_party: ThirdParty | str,
    purpose: str,
    description: str,
    categories: Iterable[str] = (),
    personal: bool = True,
    user: User | None = None,
    email: str = "",
    key: str = "",
    reference: str = "",
    recorded_by: User | None = None,
) -> Disclosure:
    """Write one ledger row, or raise DisclosureRefused before anything is written.

    `key`: the keyed hash of the address (`subject_key`), for a person whose address is
    already erased (a direction to delete, recorded after the erasure).
    """
    if isinstance(third_party, str):
        third_party = ThirdParty.objects.get(slug=third_party)
    purpose = Purpose(purpose)
    check_allowed(third_party=third_party, personal=personal, purpose=purpose)
    chosen = sorted({PersonalInfoCategory(category).value for category in categories})
    if personal and not chosen:
        raise DisclosureRefused("Say which categories of personal information were disclosed.")
    if not personal and (chosen or user or email or key):
        raise DisclosureRefused("A non-personal disclosure names no person and no category.")
    if personal and not (user or email or key):
        raise DisclosureRefused("Say whose personal information was disclosed.")
    if purpose == Purpose.LEGAL and not reference.strip():
        raise DisclosureRefused("A legal disclosure needs the request's reference.")
    whose = email or (user.email if user else "")
    with transaction.atomic():
        row = Disclosure.objects.create(
            third_party=third_party,
            user=user,
            subject_key=key or (subject_key(whose) if whose else ""),
            personal=personal,
            categories=chosen,
            purpose=purpose,
            description=description[:300],
            reference=reference.strip()[:200],
            recorded_by=recorded_by,
            at=timezone.now(),
        )
        audit.record(
            actor=recorded_by,
            action="disclosure.recorded",
            target_type="disclosure",
            target_id=str(row.pk),
            purpose=Purpose(purpose).label,
            details={
                "third_party": third_party.slug,
                "personal": personal,
                "categories": chosen,
                "subject_key": row.subject_key,
            },
        )
    return row
