from datetime import UTC, datetime

import pytest
from django.conf import settings
from django.urls import reverse

from privacy.models import OutgoingEmail
from support.models import Ticket, Topic
from tests.factories import UserFactory

URL = reverse("support:contact")
SENT_URL = reverse("support:contact_sent")
# The middle of a ten-minute window of the rate-limit counters (see meetings.ratelimit).
MID_WINDOW = datetime(2027, 3, 1, 12, 5, 0, tzinfo=UTC)

pytestmark = pytest.mark.django_db


def form_data(**overrides: str) -> dict[str, str]:
    return {
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "topic": "billing",
        "message": "Why was I charged twice in March?",
    } | overrides


@pytest.fixture
def send(client, django_capture_on_commit_callbacks):
    def post(data: dict[str, str] | None = None, **extra: str):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(URL, data or form_data(), **extra)

    return post


def test_the_form_says_what_happens_to_the_message(client, db):
    response = client.get(URL)

    page = response.content.decode()
    assert response.status_code == 200
    assert "we keep it, with your name and address" in page
    assert reverse("privacy:policy") in page
    assert 'name="csrfmiddlewaretoken"' in page


def test_the_footer_links_to_the_contact_form(client, db):
    response = client.get(reverse("home"))

    assert f'href="{URL}"' in response.content.decode()


def test_a_message_is_stored_and_acknowledged(send, db, mailoutbox):
    response = send()

    assert response.status_code == 302
    assert response.url == SENT_URL
    ticket = Ticket.objects.get()
    assert (ticket.name, ticket.email, ticket.topic) == (
        "Ada Lovelace",
        "ada@example.com",
        "billing",
    )
    assert ticket.message == "Why was I charged twice in March?"
    assert ticket.status == Ticket.Status.OPEN
    assert ticket.user is None
    acks = [m for m in mailoutbox if m.to == ["ada@example.com"]]
    assert len(acks) == 1
    assert ticket.reference in acks[0].subject
    assert ticket.reference in acks[0].body
    assert "charged twice" not in acks[0].body  # the message is not echoed to the address


def test_staff_who_handle_the_topic_are_notified(send, db, mailoutbox):
    support = UserFactory(roles=["support"], email="support@example.com")
    finance = UserFactory(roles=["finance"], email="finance@example.com")
    UserFactory(roles=["privacy_admin"], email="privacy@example.com")
    UserFactory(roles=["finance"], email="former@example.com", is_active=False)
    UserFactory(email="customer@example.com")

    send(form_data(topic="billing"))

    ticket = Ticket.objects.get()
    notified = sorted(m.to[0] for m in mailoutbox if m.to != ["ada@example.com"])
    assert notified == [finance.email, support.email]
    note = next(m for m in mailoutbox if m.to == [finance.email])
    assert ticket.reference in note.subject
    assert "Billing" in note.subject
    assert settings.SITE_URL + reverse("support:staff_ticket", args=[ticket.reference]) in note.body
    assert "charged twice" not in note.body
    assert "ada@example.com" not in note.body


@pytest.mark.parametrize(
    ("topic", "expected"),
    [
        ("privacy", ["privacy@example.com", "support@example.com"]),
        ("support", ["support@example.com"]),
        ("other", ["support@example.com"]),
    ],
)
def test_each_topic_reaches_its_role(send, db, mailoutbox, topic, expected):
    UserFactory(roles=["support"], email="support@example.com")
    UserFactory(roles=["privacy_admin"], email="privacy@example.com")
    UserFactory(roles=["finance"], email="finance@example.com")

    send(form_data(topic=topic))

    assert sorted(m.to[0] for m in mailoutbox if m.to != ["ada@example.com"]) == expected


def test_a_signed_in_person_finds_the_form_filled_and_the_ticket_linked(client, send, db):
    person = UserFactory(full_name="Grace Hopper", email="grace@example.com")
    client.force_login(person)

    page = client.get(URL).content.decode()
    send(form_data(name="Grace Hopper", email="grace@example.com"))

    assert 'value="Grace Hopper"' in page
    assert 'value="grace@example.com"' in page
    assert Ticket.objects.get().user == person


def test_a_topic_in_the_link_is_preselected(client, db):
    page = client.get(URL, {"topic": "privacy"}).content.decode()

    assert '<option value="privacy" selected>' in page


def test_an_unknown_topic_in_the_link_is_ignored(client, db):
    response = client.get(URL, {"topic": "<b>sales</b>"})

    assert response.status_code == 200
    page = response.content.decode()
    assert '<option value="" selected>Choose a topic</option>' in page
    assert not any(f'value="{topic}" selected' in page for topic in Topic.values)
    assert "&lt;b&gt;sales" not in page


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("name", "", "Enter your name, so we know how to address you."),
        ("name", "n" * 151, "Ensure this value has at most 150 characters"),
        ("email", "", "Enter the email address we should answer."),
        ("email", "not-an-address", "Enter a valid email address, like name@example.com."),
        ("topic", "", "Choose what your message is about."),
        ("topic", "sales", "Choose one of the topics in the list."),
        ("message", "", "Write your message."),
        ("message", "   ", "Write your message."),
        ("message", "m" * 5001, "Ensure this value has at most 5000 characters"),
    ],
)
def test_bad_input_is_refused_field_by_field(send, db, mailoutbox, field, value, error):
    response = send(form_data(**{field: value}))

    assert response.status_code == 400
    assert error in response.context["form"].errors[field][0]
    assert error.split(" (")[0] in response.content.decode()
    assert not Ticket.objects.exists()
    assert mailoutbox == []


def test_the_longest_allowed_message_is_accepted(send, db):
    response = send(form_data(message="m" * 5000))

    assert response.status_code == 302
    assert len(Ticket.objects.get().message) == 5000


def test_the_fifth_message_passes_and_the_sixth_waits(send, db, time_machine, mailoutbox):
    time_machine.move_to(MID_WINDOW, tick=False)

    statuses = [send(form_data(email=f"p{n}@example.com")).status_code for n in range(6)]

    assert statuses == [302, 302, 302, 302, 302, 429]
    assert Ticket.objects.count() == 5
    refused = send(form_data(email="late@example.com"))
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    page = refused.content.decode()
    assert "You have sent several messages in a short time" in page
    assert "Why was I charged twice in March?" in page  # the text is kept for later
    assert not [m for m in mailoutbox if m.to == ["late@example.com"]]


def test_another_connection_is_not_held_back(send, db, time_machine):
    time_machine.move_to(MID_WINDOW, tick=False)
    for _ in range(5):
        send()

    response = send(REMOTE_ADDR="198.51.100.7")

    assert response.status_code == 302


def test_invalid_submissions_do_not_use_up_the_limit(send, db, time_machine):
    time_machine.move_to(MID_WINDOW, tick=False)
    for _ in range(6):
        send(form_data(email="typo"))

    assert send().status_code == 302


def test_an_address_gets_a_limited_number_of_acknowledgements(send, db, mailoutbox):
    # Many connections aiming the acknowledgement at one address: tickets, not mail.
    for n in range(7):
        send(form_data(email="victim@example.com"), REMOTE_ADDR=f"203.0.113.{n}")

    assert Ticket.objects.filter(email="victim@example.com").count() == 7
    assert len([m for m in mailoutbox if m.to == ["victim@example.com"]]) == 5


def test_the_thank_you_page_shows_the_reference_to_the_sender(client, send, db):
    send()

    response = client.get(SENT_URL)

    assert response.status_code == 200
    assert Ticket.objects.get().reference in response.content.decode()


def test_the_thank_you_page_shows_nothing_to_another_visitor(client, send, db):
    from django.test import Client

    send()
    reference = Ticket.objects.get().reference

    response = Client().get(SENT_URL)

    assert response.status_code == 302
    assert response.url == URL
    assert reference not in response.url
    assert reference not in Client().get(SENT_URL, follow=True).content.decode()


def test_the_thank_you_page_without_a_message_sends_to_the_form(client, db):
    response = client.get(SENT_URL)

    assert response.status_code == 302
    assert response.url == URL


def test_the_form_refuses_a_post_without_csrf_token(db):
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post(URL, form_data())

    assert response.status_code == 403
    assert not Ticket.objects.exists()


def test_staff_notification_is_sent_once_even_if_the_task_runs_twice(
    open_ticket_via_service, mailoutbox
):
    from support.tasks import notify_staff_of_ticket

    UserFactory(roles=["support"], email="support@example.com")
    ticket = open_ticket_via_service(topic=Topic.OTHER)

    assert notify_staff_of_ticket.delay(ticket.pk).get() == 0
    assert len([m for m in mailoutbox if m.to == ["support@example.com"]]) == 1
    assert OutgoingEmail.objects.filter(to="support@example.com").count() == 1
