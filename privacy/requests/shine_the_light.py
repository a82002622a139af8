"""The California Privacy Rights Notice (Cal. Civ. Code 1798.83), computed from the ledger.

The notice covers the calendar year before the request: the categories of the
customer's personal information disclosed to third parties for their direct marketing,
and those third parties' names, addresses and business. Nothing in it is typed.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db.models import Q
from django.template.loader import render_to_string

from privacy.deadlines import legal_year
from privacy.models import Disclosure

from ..pi_categories import PersonalInfoCategory


@dataclass(frozen=True)
class NoticeContent:
    covered_year: int
    categories: list[dict[str, str]]
    third_parties: list[dict[str, str]]
    text: str


def marketing_disclosures(*, user_id: int | None, subject_key: str, year: int) -> list[Disclosure]:
    """The customer's personal information that went to third parties for their marketing.

    The guard in privacy/disclosures.py refuses to record such rows, so in practice this
    is empty; the notice still reads the ledger rather than assuming.
    """
    whose = Q(subject_key=subject_key)
    if user_id is not None:
        whose |= Q(user_id=user_id)
    # The covered year is a California calendar year, like the request year.
    start, end = legal_year(year)
    return list(
        Disclosure.objects.filter(
            whose,
            personal=True,
            purpose=Disclosure.Purpose.DIRECT_MARKETING,
            at__gte=start,
            at__lt=end,
        ).select_related("third_party")
    )


def compose_notice(
    *, name: str, user_id: int | None, subject_key: str, request_year: int
) -> NoticeContent:
    covered_year = request_year - 1
    rows = marketing_disclosures(user_id=user_id, subject_key=subject_key, year=covered_year)
    category_values = sorted({category for row in rows for category in row.categories})
    categories = [
        {"category": value, "label": PersonalInfoCategory(value).label} for value in category_values
    ]
    parties: dict[int, dict[str, str]] = {}
    for row in rows:
        party = row.third_party
        parties.setdefault(
            party.pk,
            {
                "name": party.name,
                "postal_address": party.postal_address,
                # Examples of what they market, for a name that does not say.
                "business": party.business,
            },
        )
    third_parties = sorted(parties.values(), key=lambda party: party["name"])
    text = render_to_string(
        "privacy/requests/shine_the_light_notice.txt",
        {
            "name": name,
            "covered_year": covered_year,
            "categories": categories,
            "third_parties": third_parties,
            "company": settings.SITE_NAME,
            "postal_address": settings.COMPANY_POSTAL_ADDRESS,
            "contact_email": settings.PRIVACY_CONTACT_EMAIL,
        },
    )
    return NoticeContent(covered_year, categories, third_parties, text)
