"""Every page shows times in the viewer's zone: activated once, by middleware."""

from datetime import UTC, datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.roles import FINANCE, SUPPORT
from billing.models import WebhookEvent
from support.models import Ticket, Topic
from tests.billing.factories import InvoiceFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

# 23:30 in London is already the next day in Berlin.
LATE = datetime(2026, 1, 15, 23, 30, tzinfo=UTC)


@pytest.fixture
def berlin_staff(client):
    staff = UserFactory(time_zone="Europe/Berlin", roles=[FINANCE, SUPPORT])
    client.force_login(staff)
    return client


@pytest.mark.urls("tests.common.zone_urls")
def test_an_anonymous_visitor_gets_the_default_zone(client, settings):
    assert client.get("/zone/").content.decode() == settings.TIME_ZONE


@pytest.mark.urls("tests.common.zone_urls")
def test_a_visitor_with_a_session_but_not_signed_in_gets_the_default_zone(client, settings):
    client.cookies[settings.SESSION_COOKIE_NAME] = "not-a-session"

    assert client.get("/zone/").content.decode() == settings.TIME_ZONE


@pytest.mark.urls("tests.common.zone_urls")
@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/Los_Angeles", "UTC"])
def test_a_signed_in_person_gets_their_own_zone(client, zone):
    client.force_login(UserFactory(time_zone=zone))

    assert client.get("/zone/").content.decode() == zone


@pytest.mark.urls("tests.common.zone_urls")
def test_a_zone_the_tz_database_no_longer_has_falls_back_to_the_default(client, settings):
    user = UserFactory()
    type(user).objects.filter(pk=user.pk).update(time_zone="Mars/Olympus_Mons")
    client.force_login(user)

    assert client.get("/zone/").content.decode() == settings.TIME_ZONE


@pytest.mark.urls("tests.common.zone_urls")
def test_the_zone_does_not_outlive_the_request(client, settings):
    client.force_login(UserFactory(time_zone="Asia/Tokyo"))

    client.get("/zone/")

    assert timezone.get_current_timezone_name() == settings.TIME_ZONE


def test_the_support_queue_and_ticket_show_berlin_times(berlin_staff):
    ticket = Ticket.objects.create(
        name="Ada", email="ada@example.com", topic=Topic.SUPPORT, message="Hello"
    )
    Ticket.objects.filter(pk=ticket.pk).update(created_at=LATE)

    queue = berlin_staff.get(reverse("support:staff_tickets")).content.decode()
    page = berlin_staff.get(reverse("support:staff_ticket", args=[ticket.reference]))

    assert "Received (Europe/Berlin)" in queue
    assert "2026-01-16 00:30" in queue
    assert "received 2026-01-16 00:30 Europe/Berlin" in page.content.decode()


def test_the_failed_webhook_page_shows_berlin_times(berlin_staff):
    event = WebhookEvent.objects.create(
        stripe_event_id="evt_late",
        type="invoice.paid",
        created=LATE,
        payload={},
        status=WebhookEvent.Status.FAILED,
    )
    WebhookEvent.objects.filter(pk=event.pk).update(received_at=LATE)

    page = berlin_staff.get(reverse("billing:staff_failed_events")).content.decode()

    assert "2026-01-16 00:30" in page
    assert "Europe/Berlin" in page


def test_the_finance_failed_payments_page_shows_berlin_times(berlin_staff):
    InvoiceFactory(status="open", amount_paid=0, attempt_count=1, next_payment_attempt=LATE)

    page = berlin_staff.get(reverse("finance:failed_payments")).content.decode()

    assert "16 Jan 2026, 00:30" in page
    assert "15 Jan 2026, 23:30" not in page


def test_finance_months_stay_utc_calendar_months_west_of_greenwich(client, time_machine):
    time_machine.move_to(datetime(2026, 1, 20, 12, 0, tzinfo=UTC))
    client.force_login(UserFactory(time_zone="America/Los_Angeles", roles=[FINANCE]))

    page = client.get(reverse("finance:overview")).content.decode()

    # Midnight on 1 January UTC is still 31 December in Los Angeles.
    assert '<th scope="row">Jan 2026</th>' in page
    assert '<th scope="row">Jan 2025</th>' not in page


def test_an_email_rendered_during_a_request_is_not_in_the_viewers_zone(
    time_machine, django_capture_on_commit_callbacks, mailoutbox
):
    # Given a request taken in late on the 15th (UTC), while a Berlin viewer's zone is active
    from privacy.requests import services

    time_machine.move_to(LATE)
    with timezone.override("Europe/Berlin"), django_capture_on_commit_callbacks(execute=True):
        services.submit(
            kind="access",
            channel="web_form",
            name="Pat Person",
            email="pat@example.com",
            california_resident=True,
            verified=True,
        )

    # Then the requester's email gives the day on the request's own (UTC) clock
    (received,) = [m.body for m in mailoutbox if "Received:" in m.body]
    assert "Received: 15 January 2026" in received
