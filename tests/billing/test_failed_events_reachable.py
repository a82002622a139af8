"""Finance reaches the failed-webhook page from its console's navigation and from /staff/."""

import pytest
from django.urls import reverse

from accounts.roles import FINANCE
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
FAILED_EVENTS = reverse("billing:staff_failed_events")


@pytest.fixture
def finance(client):
    client.force_login(UserFactory(roles=[FINANCE]))
    return client


def link(url: str, text: str) -> str:
    return f'<a href="{url}">{text}</a>'


@pytest.mark.parametrize(
    "page", ["finance:overview", "finance:subscriptions", "finance:failed_payments"]
)
def test_the_finance_navigation_links_to_the_failed_events(finance, page):
    html = finance.get(reverse(page)).content.decode()

    assert link(FAILED_EVENTS, "Failed Stripe events") in html


def test_the_staff_console_list_links_to_the_failed_events(finance):
    html = finance.get(reverse("staff")).content.decode()

    assert link(FAILED_EVENTS, "Failed Stripe events") in html


def test_the_failed_events_page_carries_the_finance_navigation_marked_current(finance):
    html = finance.get(FAILED_EVENTS).content.decode()

    assert f'<a href="{FAILED_EVENTS}" aria-current="page">Failed Stripe events</a>' in html
    assert link(reverse("finance:overview"), "Metrics") in html
