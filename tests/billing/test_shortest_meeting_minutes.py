"""billing.entitlements.shortest_meeting_minutes: what the time-limit sweep asks billing."""

import pytest

from billing.entitlements import FREE_PLAN, shortest_meeting_minutes
from billing.models import Plan

pytestmark = pytest.mark.django_db


def test_it_is_the_shortest_limit_of_any_plan():
    assert shortest_meeting_minutes() == min(
        Plan.objects.values_list("max_meeting_minutes", flat=True)
    )

    Plan.objects.filter(slug="pro-monthly").update(max_meeting_minutes=25)

    assert shortest_meeting_minutes() == 25


def test_without_any_plan_it_is_the_free_plans_fallback():
    Plan.objects.all().delete()

    assert shortest_meeting_minutes() == FREE_PLAN.max_meeting_minutes
