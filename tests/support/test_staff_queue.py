from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from privacy import audit
from privacy.models import AuditEntry
from support.models import Ticket, TicketReply, Topic
from tests.factories import UserFactory

QUEUE = reverse("support:staff_tickets")

pytestmark = pytest.mark.django_db


def detail(ticket: Ticket) -> str:
    return reverse("support:staff_ticket", args=[ticket.reference])


@pytest.fixture
def as_user(client):
    def sign_in(user):
        client.force_login(user)
        return client

    return sign_in


@pytest.fixture
def privacy_ticket(make_ticket):
    return make_ticket(Topic.PRIVACY, email="priv@example.com", message="Delete my data.")


@pytest.fixture
def billing_ticket(make_ticket):
    return make_ticket(Topic.BILLING, email="bill@example.com", message="Refund please.")


@pytest.fixture
def support_ticket(make_ticket):
    return make_ticket(Topic.SUPPORT, email="help@example.com")


# Who sees what -------------------------------------------------------------------------


def test_anonymous_visitors_go_to_login(client, privacy_ticket):
    for url in (QUEUE, detail(privacy_ticket)):
        response = client.get(url)

        assert response.status_code == 302
        assert response.url.startswith(reverse("account_login"))


@pytest.mark.parametrize("roles", [[], ["marketing"], ["quality_assurance"]])
def test_people_without_a_queue_role_are_forbidden(as_user, privacy_ticket, roles):
    client = as_user(UserFactory(roles=roles))

    assert client.get(QUEUE).status_code == 403
    assert client.get(detail(privacy_ticket)).status_code == 403
    assert client.post(detail(privacy_ticket), {"action": "close"}).status_code == 403
    assert Ticket.objects.get(pk=privacy_ticket.pk).status == Ticket.Status.OPEN


def test_support_sees_every_topic(
    as_user, support_agent, privacy_ticket, billing_ticket, support_ticket
):
    client = as_user(support_agent)

    page = client.get(QUEUE).content.decode()

    for ticket in (privacy_ticket, billing_ticket, support_ticket):
        assert ticket.reference in page
        assert client.get(detail(ticket)).status_code == 200


@pytest.mark.parametrize(
    ("role", "own", "others"),
    [
        ("privacy_admin", "privacy_ticket", ["billing_ticket", "support_ticket"]),
        ("finance", "billing_ticket", ["privacy_ticket", "support_ticket"]),
    ],
)
def test_a_topic_role_sees_only_its_topic(as_user, request, role, own, others):
    client = as_user(UserFactory(roles=[role]))
    mine = request.getfixturevalue(own)
    theirs = [request.getfixturevalue(name) for name in others]

    page = client.get(QUEUE).content.decode()

    assert mine.reference in page
    assert client.get(detail(mine)).status_code == 200
    for ticket in theirs:
        assert ticket.reference not in page
        assert client.get(detail(ticket)).status_code == 404
        assert client.post(detail(ticket), {"action": "close"}).status_code == 404
        assert Ticket.objects.get(pk=ticket.pk).status == Ticket.Status.OPEN


def test_a_topic_role_cannot_filter_its_way_to_another_topic(
    as_user, privacy_admin, billing_ticket
):
    client = as_user(privacy_admin)

    response = client.get(QUEUE, {"topic": "billing"})

    assert response.status_code == 400
    assert "Choose one of the topics in the list." in response.content.decode()
    assert billing_ticket.reference not in response.content.decode()


def test_an_unknown_reference_is_404(as_user, support_agent):
    assert (
        as_user(support_agent)
        .get(reverse("support:staff_ticket", args=["C-NOPE-NOPE"]))
        .status_code
        == 404
    )


def test_a_superuser_sees_the_queue(as_user, privacy_ticket):
    client = as_user(UserFactory(is_superuser=True))

    assert privacy_ticket.reference in client.get(QUEUE).content.decode()


# The queue ----------------------------------------------------------------------------


def test_open_tickets_come_first_the_oldest_at_the_top(
    as_user, support_agent, make_ticket, time_machine
):
    start = datetime(2027, 5, 1, 9, 0, tzinfo=UTC)
    time_machine.move_to(start, tick=False)
    old_answered = make_ticket(status=Ticket.Status.ANSWERED)
    time_machine.move_to(start + timedelta(hours=1), tick=False)
    older_open = make_ticket()
    time_machine.move_to(start + timedelta(hours=2), tick=False)
    newer_open = make_ticket()
    time_machine.move_to(start + timedelta(days=2, hours=2), tick=False)

    page = as_user(support_agent).get(QUEUE).content.decode()

    positions = [page.index(t.reference) for t in (older_open, newer_open, old_answered)]
    assert positions == sorted(positions)
    assert "2\xa0days" in page  # how long the newer one has waited (timesince uses nbsp)


def test_filters_by_status_topic_and_search(as_user, support_agent, make_ticket):
    closed = make_ticket(Topic.BILLING, status=Ticket.Status.CLOSED, email="closed@example.com")
    open_billing = make_ticket(Topic.BILLING, email="open@example.com")
    open_other = make_ticket(Topic.OTHER, email="someone@elsewhere.test")
    client = as_user(support_agent)

    by_status = client.get(QUEUE, {"status": "closed"}).content.decode()
    by_topic = client.get(QUEUE, {"topic": "billing", "status": "open"}).content.decode()
    by_email = client.get(QUEUE, {"q": "ELSEWHERE"}).content.decode()
    by_reference = client.get(QUEUE, {"q": f" {closed.reference.lower()} "}).content.decode()

    assert closed.reference in by_status and open_billing.reference not in by_status
    assert open_billing.reference in by_topic
    assert closed.reference not in by_topic and open_other.reference not in by_topic
    assert open_other.reference in by_email and open_billing.reference not in by_email
    assert closed.reference in by_reference and open_other.reference not in by_reference


def test_a_bad_status_filter_is_a_clear_error(as_user, support_agent, support_ticket):
    response = as_user(support_agent).get(QUEUE, {"status": "lost"})

    assert response.status_code == 400
    assert "Choose one of the statuses in the list." in response.content.decode()


def test_an_empty_queue_says_so(as_user, support_agent):
    response = as_user(support_agent).get(QUEUE)

    assert "No ticket yet." in response.content.decode()


# One ticket ---------------------------------------------------------------------------


def test_viewing_a_ticket_shows_it_and_writes_the_audit_log(as_user, privacy_admin, privacy_ticket):
    response = as_user(privacy_admin).get(detail(privacy_ticket))

    page = response.content.decode()
    assert "Delete my data." in page
    assert "priv@example.com" in page
    entry = AuditEntry.objects.get(action="ticket.view")
    assert entry.actor == privacy_admin
    assert (entry.target_type, entry.target_id) == ("ticket", privacy_ticket.reference)
    assert entry.purpose == "answer a contact request"


def test_a_refused_view_writes_no_audit_entry(as_user, finance, privacy_ticket):
    as_user(finance).get(detail(privacy_ticket))

    assert not AuditEntry.objects.filter(action="ticket.view").exists()


def test_the_message_is_escaped(as_user, support_agent, make_ticket):
    ticket = make_ticket(message="<script>alert(1)</script>", name="<b>Eve</b>")

    page = as_user(support_agent).get(detail(ticket)).content.decode()

    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page
    assert "<b>Eve</b>" not in page


@pytest.fixture
def post(as_user, support_agent, django_capture_on_commit_callbacks):
    client = as_user(support_agent)

    def send(ticket: Ticket, data: dict[str, str]):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(detail(ticket), data)

    return send


def test_a_reply_is_emailed_and_marks_the_ticket_answered(
    post, support_agent, support_ticket, mailoutbox
):
    response = post(support_ticket, {"action": "reply", "body": "Try another browser, please."})

    assert response.status_code == 302
    support_ticket.refresh_from_db()
    assert support_ticket.status == Ticket.Status.ANSWERED
    reply = TicketReply.objects.get()
    assert (reply.internal, reply.author, reply.body) == (
        False,
        support_agent,
        "Try another browser, please.",
    )
    assert reply.author_label == "Sam Agent"
    [message] = mailoutbox
    assert message.to == ["help@example.com"]
    assert support_ticket.reference in message.subject
    assert "Try another browser, please." in message.body


def test_a_second_reply_keeps_the_ticket_answered(post, support_ticket, mailoutbox):
    post(support_ticket, {"action": "reply", "body": "First."})

    response = post(support_ticket, {"action": "reply", "body": "Second."})

    assert response.status_code == 302
    assert Ticket.objects.get(pk=support_ticket.pk).status == Ticket.Status.ANSWERED
    assert len(mailoutbox) == 2


def test_an_internal_note_sends_nothing(post, support_ticket, mailoutbox):
    response = post(support_ticket, {"action": "note", "body": "Customer on the old plan."})

    assert response.status_code == 302
    note = TicketReply.objects.get()
    assert note.internal is True
    assert Ticket.objects.get(pk=support_ticket.pk).status == Ticket.Status.OPEN
    assert mailoutbox == []


def test_history_shows_replies_and_notes(post, as_user, support_agent, support_ticket):
    post(support_ticket, {"action": "note", "body": "Checked the logs."})
    post(support_ticket, {"action": "reply", "body": "Fixed now."})

    page = as_user(support_agent).get(detail(support_ticket)).content.decode()

    assert "Internal note" in page and "Checked the logs." in page
    assert "Reply emailed" in page and "Fixed now." in page


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"action": "reply", "body": ""}, "Write the reply or the note first."),
        ({"action": "reply", "body": "x" * 10001}, "at most 10000 characters"),
        ({"action": "shout", "body": "Hello"}, "Choose whether to send a reply or save a note."),
        ({"body": "Hello"}, "Choose whether to send a reply or save a note."),
    ],
)
def test_a_bad_reply_is_refused_with_a_message(post, support_ticket, mailoutbox, data, error):
    response = post(support_ticket, data)

    assert response.status_code == 400
    assert error in response.content.decode()
    assert not TicketReply.objects.exists()
    assert mailoutbox == []


def test_close_and_reopen(post, support_ticket):
    closed = post(support_ticket, {"action": "close"})
    status_after_close = Ticket.objects.get(pk=support_ticket.pk).status
    reopened = post(support_ticket, {"action": "reopen"})

    assert closed.status_code == reopened.status_code == 302
    assert status_after_close == Ticket.Status.CLOSED
    assert Ticket.objects.get(pk=support_ticket.pk).status == Ticket.Status.OPEN


def test_an_answered_ticket_can_be_reopened(post, support_ticket):
    post(support_ticket, {"action": "reply", "body": "Done?"})

    post(support_ticket, {"action": "reopen"})

    assert Ticket.objects.get(pk=support_ticket.pk).status == Ticket.Status.OPEN


@pytest.mark.parametrize(
    ("status", "action", "message"),
    [
        (Ticket.Status.CLOSED, "close", "This ticket is already closed."),
        (Ticket.Status.OPEN, "reopen", "This ticket is already open."),
    ],
)
def test_a_move_that_does_not_apply_is_refused(post, make_ticket, status, action, message):
    ticket = make_ticket(status=status)

    response = post(ticket, {"action": action})

    assert response.status_code == 409
    assert message in response.content.decode()
    assert Ticket.objects.get(pk=ticket.pk).status == status


def test_a_reply_from_a_stale_page_does_not_touch_a_closed_ticket(post, support_ticket, mailoutbox):
    # The page was loaded while the ticket was open; a colleague closed it since.
    Ticket.objects.filter(pk=support_ticket.pk).update(status=Ticket.Status.CLOSED)

    response = post(support_ticket, {"action": "reply", "body": "Here is the answer."})

    assert response.status_code == 409
    page = response.content.decode()
    assert "This ticket is closed: reopen it before replying." in page
    assert "Here is the answer." in page  # the text is not lost
    assert Ticket.objects.get(pk=support_ticket.pk).status == Ticket.Status.CLOSED
    assert not TicketReply.objects.exists()
    assert mailoutbox == []


def test_a_note_may_still_be_added_to_a_closed_ticket(post, make_ticket, mailoutbox):
    ticket = make_ticket(status=Ticket.Status.CLOSED)

    response = post(ticket, {"action": "note", "body": "Closed as duplicate."})

    assert response.status_code == 302
    assert TicketReply.objects.get().internal is True
    assert mailoutbox == []


def test_staff_forms_need_a_csrf_token(support_agent, support_ticket):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(support_agent)

    response = client.post(detail(support_ticket), {"action": "close"})

    assert response.status_code == 403
    assert Ticket.objects.get(pk=support_ticket.pk).status == Ticket.Status.OPEN


def test_times_are_shown_in_the_staff_members_zone(as_user, make_ticket, time_machine):
    time_machine.move_to(datetime(2027, 5, 1, 9, 0, tzinfo=UTC), tick=False)
    ticket = make_ticket()
    client = as_user(UserFactory(roles=["support"], time_zone="Europe/Paris"))

    queue = client.get(QUEUE).content.decode()
    page = client.get(detail(ticket)).content.decode()

    assert "Received (Europe/Paris)" in queue
    assert "2027-05-01 11:00" in queue
    assert "2027-05-01 11:00 Europe/Paris" in page


def test_each_queue_view_writes_one_audit_entry_with_the_tickets_shown(
    as_user, support_agent, make_ticket
):
    shown = make_ticket(Topic.OTHER, email="someone@elsewhere.test")
    make_ticket(Topic.BILLING, email="open@example.com")
    client = as_user(support_agent)

    client.get(QUEUE, {"q": "someone@elsewhere.test", "status": "open"})

    entry = AuditEntry.objects.get(action="ticket.queue_view")
    assert entry.actor == support_agent
    assert entry.details == {
        "status": "open",
        "topic": "",
        "search": audit.search_key("someone@elsewhere.test"),
        "tickets": [shown.reference],
    }
    assert "someone@elsewhere.test" not in str(entry.details)
