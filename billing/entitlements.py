"""What an account may do, as one frozen value.

Meetings and recordings ask `entitlements_for(account)` and never look at plans or
Stripe objects. The answer is the plan of the account's subscription while it is
active, trialing or past due (past due keeps the paid plan through the grace period;
the mirror ends the subscription after it), else the Free plan.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Case, Min, Q, When

from accounts.models import User

from .models import Plan, Subscription

FREE_SLUG = "free"

# Statuses in which a subscription's plan applies.
ENTITLED_STATUSES = (
    Subscription.Status.ACTIVE,
    Subscription.Status.TRIALING,
    Subscription.Status.PAST_DUE,
)


@dataclass(frozen=True)
class Entitlements:
    plan_name: str
    max_participants: int
    max_meeting_minutes: int
    recording_allowed: bool
    recording_retention_days: int
    # False on the free plan: pages offer an upgrade only when there is one to offer.
    is_paid: bool = False


# The seeded Free plan's limits (billing/migrations/0002): used only when its row is
# missing, so that a meeting never fails for want of a plan.
FREE_PLAN = Entitlements(
    plan_name="Free",
    max_participants=100,
    max_meeting_minutes=40,
    recording_allowed=True,
    recording_retention_days=7,
)


def from_plan(plan: Plan) -> Entitlements:
    return Entitlements(
        plan_name=plan.name,
        max_participants=plan.max_participants,
        max_meeting_minutes=plan.max_meeting_minutes,
        recording_allowed=plan.recording_allowed,
        recording_retention_days=plan.recording_retention_days,
        is_paid=not plan.is_free,
    )


def free_plan() -> Entitlements:
    plan = Plan.objects.filter(slug=FREE_SLUG).first()
    return from_plan(plan) if plan is not None else FREE_PLAN


def entitlements_for(account: User) -> Entitlements:
    """The limits that apply to meetings hosted by `account`: one query, whichever plan."""
    if account.pk is None:
        return free_plan()
    entitled = Q(
        subscriptions__customer__user_id=account.pk,
        subscriptions__status__in=ENTITLED_STATUSES,
    )
    plan = (
        Plan.objects.filter(entitled | Q(slug=FREE_SLUG))
        # The subscription's plan before Free; should Stripe leave two running for a
        # moment, the richer plan applies.
        .annotate(is_fallback=Case(When(entitled, then=0), default=1))
        .order_by("is_fallback", "-max_participants", "-amount_cents", "-pk")
        .first()
    )
    return from_plan(plan) if plan is not None else FREE_PLAN


def plan_catalogue() -> list[Plan]:
    """The plans on sale, cheapest first, for the staff catalogue and the pricing page."""
    return list(Plan.objects.filter(is_active=True).order_by("sort_order", "amount_cents"))


def shortest_meeting_minutes() -> int:
    """The shortest sitting any plan allows: before it nobody's time limit can be near."""
    shortest = Plan.objects.aggregate(m=Min("max_meeting_minutes"))["m"]
    return FREE_PLAN.max_meeting_minutes if shortest is None else int(shortest)
