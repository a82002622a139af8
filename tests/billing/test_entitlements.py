"""What an account may do follows its subscription: paid plan while active, trialing or
past due; the Free plan otherwise."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.entitlements import FREE_PLAN, Entitlements, entitlements_for
from billing.models import Plan, Subscription
from meetings import lobby
from meetings.errors import MeetingFull
from tests.factories import UserFactory
from tests.meetings.factories import MeetingFactory

from .factories import CustomerFactory, SubscriptionFactory, plan

pytestmark = pytest.mark.django_db
Status = Subscription.Status


def subscribed(slug: str, status: str = Status.ACTIVE, **fields):
    user = UserFactory()
    SubscriptionFactory(
        customer=CustomerFactory(user=user), plan=plan(slug), status=status, **fields
    )
    return user


def test_an_account_without_a_subscription_is_on_the_free_plan():
    entitled = entitlements_for(UserFactory())

    assert entitled == Entitlements(
        plan_name="Free",
        max_participants=100,
        max_meeting_minutes=40,
        recording_allowed=True,
        recording_retention_days=7,
        is_paid=False,
    )


def test_the_seeded_free_plan_matches_the_fallback_constant():
    assert entitlements_for(UserFactory()) == FREE_PLAN


def test_an_active_pro_subscription_gives_pro():
    entitled = entitlements_for(subscribed("pro-monthly"))

    assert (entitled.plan_name, entitled.max_participants, entitled.max_meeting_minutes) == (
        "Pro (monthly)",
        300,
        1440,
    )
    assert entitled.recording_retention_days == 90
    assert entitled.is_paid


@pytest.mark.parametrize("status", [Status.TRIALING, Status.PAST_DUE])
def test_trialing_and_past_due_keep_the_paid_plan(status):
    assert entitlements_for(subscribed("pro-yearly", status)).plan_name == "Pro (yearly)"


@pytest.mark.parametrize(
    "status",
    [Status.CANCELED, Status.UNPAID, Status.INCOMPLETE, Status.INCOMPLETE_EXPIRED, Status.PAUSED],
)
def test_a_subscription_that_ended_or_never_started_gives_free(status):
    assert entitlements_for(subscribed("pro-monthly", status)) == FREE_PLAN


def test_a_canceled_subscription_beside_an_active_one_does_not_count():
    user = subscribed("business-monthly", Status.CANCELED)
    SubscriptionFactory(customer=user.billing_customer, plan=plan("pro-monthly"))

    assert entitlements_for(user).plan_name == "Pro (monthly)"


def test_another_accounts_subscription_does_not_count():
    subscribed("business-monthly")

    assert entitlements_for(UserFactory()) == FREE_PLAN


def test_business_raises_the_participant_cap():
    entitled = entitlements_for(subscribed("business-monthly", quantity=5))

    assert entitled.max_participants == 500
    assert entitled.recording_retention_days == 365


def test_an_empty_plan_table_falls_back_to_the_free_constant():
    Plan.objects.all().delete()

    assert entitlements_for(UserFactory()) == FREE_PLAN


def test_an_edited_free_plan_row_applies():
    Plan.objects.filter(slug="free").update(max_participants=3, max_meeting_minutes=30)

    entitled = entitlements_for(UserFactory())

    assert (entitled.max_participants, entitled.max_meeting_minutes) == (3, 30)


@pytest.mark.parametrize("slug", [None, "pro-monthly"])
def test_one_query_whichever_the_plan(slug):
    user = subscribed(slug) if slug else UserFactory()

    with CaptureQueriesContext(connection) as queries:
        entitlements_for(user)

    assert len(queries) == 1


# --- The participant cap follows the plan ------------------------------------------------


def fill(occurrence, count):
    for n in range(count):
        lobby.request_entry(
            occurrence=occurrence, display_name=f"Guest {n}", email=f"g{n}@example.com"
        )


def test_a_paid_plans_higher_cap_admits_more_than_free():
    Plan.objects.filter(slug="free").update(max_participants=2)
    Plan.objects.filter(slug="pro-monthly").update(max_participants=4)
    free_host = UserFactory()
    pro_host = subscribed("pro-monthly")
    free_room = MeetingFactory(host=free_host, lobby_enabled=False).occurrences.get()
    pro_room = MeetingFactory(host=pro_host, lobby_enabled=False).occurrences.get()

    fill(pro_room, 4)
    with pytest.raises(MeetingFull, match="allows 4 participants"):
        fill(pro_room, 1)
    fill(free_room, 2)
    with pytest.raises(MeetingFull, match="allows 2 participants"):
        fill(free_room, 1)
