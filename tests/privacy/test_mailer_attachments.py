from email import message_from_bytes

import pytest
from django.core import mail

from privacy import mailer, services
from privacy.email_categories import Category
from privacy.mailer import Attachment
from privacy.models import OutgoingEmail

Status = OutgoingEmail.Status

CALENDAR = (
    "BEGIN:VCALENDAR\r\n"
    "VERSION:2.0\r\n"
    "PRODID:-//Confer//Meetings//EN\r\n"
    "METHOD:{method}\r\n"
    "BEGIN:VEVENT\r\n"
    "UID:abc@confer.example.test\r\n"
    "SUMMARY:Café — weekly sync\r\n"
    "END:VEVENT\r\n"
    "END:VCALENDAR\r\n"
)
REPORT = Attachment("attendance.csv", "name,minutes\nZoë,42\n", "text/csv")
DATA = Attachment("export.json", '{"name": "Zoë"}', "application/json")


class FailingBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise OSError("smtp down")


@pytest.fixture
def failing_backend(settings):
    settings.EMAIL_BACKEND = f"{__name__}.FailingBackend"


def send(commit, **overrides):
    fields = {
        "to": "someone@example.com",
        "subject": "Invitation: Weekly sync",
        "text": "You are invited.",
        "html": "<p>You are invited.</p>",
        "category": Category.TRANSACTIONAL,
    } | overrides
    with commit(execute=True):
        outgoing = mailer.send_email(**fields)
    outgoing.refresh_from_db()
    return outgoing


def mime_of(message):
    return message_from_bytes(message.message().as_bytes())


def parts_of(message) -> dict[str, object]:
    """Leaf parts by filename, or by content type for the inline ones."""
    return {
        part.get_filename() or part.get_content_type(): part
        for part in mime_of(message).walk()
        if not part.is_multipart()
    }


def test_attachments_travel_with_the_message(db, django_capture_on_commit_callbacks):
    send(django_capture_on_commit_callbacks, attachments=[REPORT, DATA])

    [message] = mail.outbox
    parts = parts_of(message)
    assert parts["attendance.csv"].get_content_type() == "text/csv"
    assert parts["attendance.csv"].get_payload(decode=True).decode() == REPORT.content
    assert parts["export.json"].get_content_type() == "application/json"
    assert parts["export.json"].get_payload(decode=True).decode() == DATA.content
    assert parts["text/plain"].get_payload(decode=True).decode() == "You are invited."


def test_calendar_goes_inline_with_its_method_and_as_invite_ics(
    db, django_capture_on_commit_callbacks
):
    calendar = CALENDAR.format(method="REQUEST")

    send(django_capture_on_commit_callbacks, calendar=calendar)

    [message] = mail.outbox
    mime = mime_of(message)
    assert mime.get_content_type() == "multipart/mixed"
    alternative, attached = mime.get_payload()
    assert alternative.get_content_type() == "multipart/alternative"
    text, html, inline = alternative.get_payload()
    assert text.get_content_type() == "text/plain"
    assert html.get_content_type() == "text/html"
    assert inline["Content-Type"] == "text/calendar; method=REQUEST; charset=UTF-8"
    assert inline.get_filename() is None
    assert inline.get_payload(decode=True).decode() == calendar
    assert attached.get_content_type() == "application/ics"
    assert attached["Content-Disposition"] == 'attachment; filename="invite.ics"'
    assert attached.get_payload(decode=True).decode() == calendar


def test_calendar_method_is_read_from_the_calendar(db, django_capture_on_commit_callbacks):
    send(django_capture_on_commit_callbacks, calendar=CALENDAR.format(method="CANCEL"))

    [message] = mail.outbox
    assert parts_of(message)["text/calendar"]["Content-Type"] == (
        "text/calendar; method=CANCEL; charset=UTF-8"
    )


def test_calendar_and_attachments_go_together(db, django_capture_on_commit_callbacks):
    send(
        django_capture_on_commit_callbacks,
        attachments=[REPORT],
        calendar=CALENDAR.format(method="REQUEST"),
    )

    [message] = mail.outbox
    filenames = [p.get_filename() for p in mime_of(message).walk() if p.get_filename()]
    assert filenames == ["attendance.csv", "invite.ics"]


def test_calendar_without_a_method_is_refused(db):
    with pytest.raises(ValueError, match="METHOD"):
        mailer.send_email(
            to="someone@example.com",
            subject="Hi",
            text="Hi",
            category=Category.TRANSACTIONAL,
            calendar="BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n",
        )

    assert not OutgoingEmail.objects.exists()


def test_queued_message_keeps_its_attachments_in_the_outbox(db):
    outgoing = mailer.send_email(
        to="someone@example.com",
        subject="Hi",
        text="Hi",
        category=Category.TRANSACTIONAL,
        attachments=[REPORT],
        calendar=CALENDAR.format(method="REQUEST"),
    )

    outgoing.refresh_from_db()
    assert outgoing.status == Status.QUEUED
    assert outgoing.attachments == [
        {"filename": "attendance.csv", "content": REPORT.content, "mimetype": "text/csv"}
    ]
    assert outgoing.calendar == CALENDAR.format(method="REQUEST")


def test_sent_message_drops_attachments_and_calendar(db, django_capture_on_commit_callbacks):
    outgoing = send(
        django_capture_on_commit_callbacks,
        attachments=[REPORT],
        calendar=CALENDAR.format(method="REQUEST"),
    )

    assert outgoing.status == Status.SENT
    assert outgoing.attachments == []
    assert outgoing.calendar == ""
    assert outgoing.text_body == ""


def test_failed_send_keeps_attachments_for_the_retry(db, failing_backend):
    outgoing = mailer.send_email(
        to="someone@example.com",
        subject="Hi",
        text="Hi",
        category=Category.TRANSACTIONAL,
        attachments=[REPORT],
        calendar=CALENDAR.format(method="REQUEST"),
    )

    assert mailer.deliver(outgoing.pk) == Status.QUEUED

    outgoing.refresh_from_db()
    assert outgoing.status == Status.QUEUED
    assert len(outgoing.attachments) == 1
    assert outgoing.calendar.startswith("BEGIN:VCALENDAR")


def test_giving_up_drops_attachments_and_calendar(db):
    outgoing = mailer.send_email(
        to="someone@example.com",
        subject="Hi",
        text="Hi",
        category=Category.TRANSACTIONAL,
        attachments=[REPORT],
        calendar=CALENDAR.format(method="REQUEST"),
    )

    mailer.give_up(outgoing.pk, "smtp down")

    outgoing.refresh_from_db()
    assert outgoing.status == Status.FAILED
    assert outgoing.attachments == []
    assert outgoing.calendar == ""


def test_suppressed_message_keeps_no_attachments(db, django_capture_on_commit_callbacks):
    services.unsubscribe(
        email="someone@example.com",
        category=Category.MEETING_REMINDERS,
        source=services.Source.UNSUBSCRIBE_LINK,
    )

    outgoing = send(
        django_capture_on_commit_callbacks,
        category=Category.MEETING_REMINDERS,
        attachments=[REPORT],
        calendar=CALENDAR.format(method="REQUEST"),
    )

    assert outgoing.status == Status.SUPPRESSED
    assert outgoing.attachments == []
    assert outgoing.calendar == ""
    assert mail.outbox == []


def test_message_without_calendar_has_no_calendar_part(db, django_capture_on_commit_callbacks):
    send(django_capture_on_commit_callbacks)

    [message] = mail.outbox
    assert "text/calendar" not in parts_of(message)
    assert "invite.ics" not in parts_of(message)
