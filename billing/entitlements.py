"""What an account may do, as one frozen value.

Meetings and recordings ask `entitlements_for(account)` and never look at plans or
Stripe objects. Until subscriptions exist every account is on the free plan.
"""

from dataclasses import dataclass

from accounts.models import User


@dataclass(frozen=True)
class Entitlements:
    plan_name: str
    max_participants: int
    max_meeting_minutes: int
    recording_allowed: bool
    recording_retention_days: int


FREE_PLAN = Entitlements(
    plan_name="Free",
    max_participants=100,
    max_meeting_minutes=40,
    recording_allowed=True,
    recording_retention_days=7,
)

# Every plan on sale. Paid plans arrive with subscriptions.
PLANS: tuple[Entitlements, ...] = (FREE_PLAN,)


def entitlements_for(account: User) -> Entitlements:
    """The limits that apply to meetings hosted by `account`."""
    return FREE_PLAN
