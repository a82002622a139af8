"""A privacy-topic ticket becomes a privacy request in one click, its clock from receipt."""

from datetime import UTC, datetime

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from privacy.models import PrivacyRequest
from support.models import Ticket, TicketReply, Topic

Kind = PrivacyRequest.Kind


@pytest.fixture
def privacy_ticket(make_ticket):
    with time_machine.travel(datetime(2026, 11, 2, 15, 0, tzinfo=UTC)):
        return make_ticket(
            topic=Topic.PRIVACY, email="cal@example.com", message="Please send my notice."
        )


def _url(ticket: Ticket) -> str:
    return reverse("support:staff_ticket_to_request", args=[ticket.reference])


def test_a_privacy_admin_sees_the_button_on_a_privacy_ticket(client, privacy_admin, privacy_ticket):
    client.force_login(privacy_admin)
    page = client.get(reverse("support:staff_ticket", args=[privacy_ticket.reference]))
    assert "Turn into a privacy request" in page.content.decode()


def test_support_staff_see_no_button_and_cannot_post(client, support_agent, privacy_ticket):
    client.force_login(support_agent)
    page = client.get(reverse("support:staff_ticket", args=[privacy_ticket.reference]))
    assert "Turn into a privacy request" not in page.content.decode()

    response = client.post(_url(privacy_ticket), {"kind": Kind.ACCESS})

    assert response.status_code == 403
    assert not PrivacyRequest.objects.exists()


def test_anonymous_visitors_are_sent_to_sign_in(client, privacy_ticket):
    response = client.post(_url(privacy_ticket), {"kind": Kind.ACCESS})
    assert response.status_code == 302 and reverse("account_login") in response.url
    assert not PrivacyRequest.objects.exists()


def test_a_ticket_of_another_topic_is_not_found(client, privacy_admin, make_ticket):
    billing = make_ticket(topic=Topic.BILLING)
    client.force_login(privacy_admin)
    assert client.post(_url(billing), {"kind": Kind.ACCESS}).status_code == 404


@time_machine.travel(datetime(2026, 11, 10, 9, 0, tzinfo=UTC))
def test_turning_a_ticket_opens_an_unverified_request_dated_from_the_ticket(
    client, privacy_admin, privacy_ticket, django_capture_on_commit_callbacks
):
    client.force_login(privacy_admin)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            _url(privacy_ticket),
            {"kind": Kind.SHINE_THE_LIGHT, "california_resident": "on"},
        )

    request = PrivacyRequest.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("privacy:staff_request", args=[request.reference])
    assert request.state == PrivacyRequest.State.UNVERIFIED
    assert request.email == "cal@example.com"
    # The clock runs from when the message arrived, not from the click: 30 days.
    assert request.received_at == privacy_ticket.created_at
    assert str(request.due_on) == "2026-12-02"
    assert request.details == {"from_ticket": privacy_ticket.reference}
    assert [m.to for m in mail.outbox] == [["cal@example.com"]]
    assert "Confirm your privacy request" in mail.outbox[0].subject
    note = TicketReply.objects.get(ticket=privacy_ticket)
    assert note.internal and request.reference in note.body
    privacy_ticket.refresh_from_db()
    assert privacy_ticket.status == Ticket.Status.CLOSED


def test_a_ticket_becomes_a_request_only_once(client, privacy_admin, privacy_ticket):
    client.force_login(privacy_admin)
    client.post(_url(privacy_ticket), {"kind": Kind.ACCESS})

    again = client.post(_url(privacy_ticket), {"kind": Kind.DELETE}, follow=True)

    assert PrivacyRequest.objects.count() == 1
    assert "already privacy request" in again.content.decode()


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({}, "Choose the kind of request"),
        ({"kind": "sell_everything"}, "Select a valid choice"),
        ({"kind": Kind.SHINE_THE_LIGHT}, "for California residents"),
    ],
)
def test_bad_input_is_a_form_error(client, privacy_admin, privacy_ticket, data, error):
    client.force_login(privacy_admin)

    response = client.post(_url(privacy_ticket), data)

    assert response.status_code == 400
    assert error in response.content.decode()
    assert not PrivacyRequest.objects.exists()
