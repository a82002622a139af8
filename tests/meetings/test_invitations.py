from datetime import UTC, datetime, time, timedelta
from email import message_from_bytes

import pytest
import time_machine
from django.core import mail
from icalendar import Calendar

from meetings import links, services
from meetings.models import Invitation
from meetings.tasks import send_invitation_cancels, send_invitation_requests
from privacy.models import OutgoingEmail
from tests.factories import UserFactory
from tests.meetings.factories import MeetingFactory, schedule_in

SITE_URL = "https://confer.example.test"
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = SITE_URL


@pytest.fixture
def host(db):
    return UserFactory(email="ada@example.com", full_name="Ada Lovelace")


@pytest.fixture
def now():
    with time_machine.travel(NOW, tick=False):
        yield NOW


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """Run what a service queues for after its transaction, as a real commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def schedule_meeting(commit, **fields):
    with commit():
        return MeetingFactory(**fields)


def mime_of(message):
    return message_from_bytes(message.message().as_bytes())


def calendar_part_of(message):
    """The inline text/calendar alternative, as a calendar client reads it."""
    [part] = [
        p
        for p in mime_of(message).walk()
        if p.get_content_type() == "text/calendar" and p.get_filename() is None
    ]
    return part


def calendar_of(message) -> Calendar:
    return Calendar.from_ical(calendar_part_of(message).get_payload(decode=True))


def attached_ics_of(message) -> bytes:
    [part] = [p for p in mime_of(message).walk() if p.get_filename() == "invite.ics"]
    assert part.get_content_type() == "application/ics"
    assert part.get("Content-Disposition").startswith("attachment")
    return part.get_payload(decode=True)


def html_of(message) -> str:
    return next(body for body, mime in message.alternatives if mime == "text/html")


def by_recipient(messages) -> dict:
    return {message.to[0]: message for message in messages}


def event_of(message):
    [event] = [e for e in calendar_of(message).walk("VEVENT") if "RECURRENCE-ID" not in e]
    return event


def test_each_invitee_gets_their_own_invitation(host, now, commit):
    meeting = schedule_meeting(
        commit,
        host=host,
        title="Quarterly planning",
        agenda="Budget and hiring",
        schedule=schedule_in(10),
        invitees=["bo@example.com", "CY@example.org"],
    )

    messages = by_recipient(mail.outbox)
    assert sorted(messages) == ["bo@example.com", "cy@example.org"]
    for invitation in meeting.invitations.all():
        message = messages[invitation.email]
        assert message.subject == (
            "Invitation: Quarterly planning — Thu 12 Mar 2026, 09:00 (Europe/Berlin)"
        )
        assert "List-Unsubscribe" not in message.extra_headers
        assert calendar_part_of(message)["Content-Type"] == (
            "text/calendar; method=REQUEST; charset=UTF-8"
        )
        assert attached_ics_of(message) == calendar_part_of(message).get_payload(decode=True)
        calendar = calendar_of(message)
        assert calendar["METHOD"] == "REQUEST"
        event = event_of(message)
        assert event["ATTENDEE"] == f"mailto:{invitation.email}"
        assert event["URL"] == links.personal_join_url(invitation)
        assert event["SEQUENCE"] == 0
        assert invitation.last_sent_at == NOW


def test_invitation_body_says_when_where_and_who(host, now, commit):
    schedule_meeting(
        commit,
        host=host,
        title="Planning <Q2>",
        agenda="Budget\nHiring",
        schedule=schedule_in(10, start_time=time(9, 0), duration_minutes=40),
        invitees=["bo@example.com"],
    )

    [message] = mail.outbox
    meeting_invitation = Invitation.objects.get(email="bo@example.com")
    personal = links.personal_join_url(meeting_invitation)
    passcode = meeting_invitation.meeting.passcode
    when = "Thursday 12 March 2026, 09:00\N{EN DASH}09:40 (Europe/Berlin)"
    assert message.body.startswith("Ada Lovelace invites you to “Planning <Q2>”.")
    assert f"When: {when}" in message.body
    assert f"Join the meeting: {personal}" in message.body
    assert f"Passcode: {passcode}" in message.body
    assert "Agenda:\nBudget\nHiring" in message.body
    html = html_of(message)
    assert "Planning &lt;Q2&gt;" in html
    assert "<Q2>" not in html
    assert when in html
    assert personal.replace("&", "&amp;") in html
    assert passcode in html
    assert "Budget<br>Hiring" in html


def test_series_invitation_describes_the_rule(host, now, commit):
    schedule_meeting(
        commit,
        host=host,
        schedule=schedule_in(7, recurrence="weekly", weekdays=(0, 2, 4), count=9),
        invitees=["bo@example.com"],
    )

    [message] = mail.outbox
    assert "Repeats: Every week on Monday, Wednesday and Friday, 9 times" in message.body
    assert "RRULE" in event_of(message)


def test_nothing_is_sent_before_the_transaction_commits(host, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        MeetingFactory(host=host, invitees=["bo@example.com"])

        assert mail.outbox == []

    assert len(callbacks) == 1
    assert mail.outbox == []


def test_meeting_without_invitees_queues_nothing(host, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        MeetingFactory(host=host)

    assert callbacks == []


def test_change_sends_an_updated_request(host, now, commit):
    meeting = schedule_meeting(commit, host=host, title="Sync", invitees=["bo@example.com"])
    [first] = mail.outbox
    mail.outbox.clear()

    with commit():
        services.update_meeting(meeting=meeting, schedule=schedule_in(9, start_time=time(15, 30)))

    [message] = mail.outbox
    assert message.subject == "Updated invitation: Sync — Wed 11 Mar 2026, 15:30 (Europe/Berlin)"
    assert message.body.startswith("Ada Lovelace updated “Sync”.")
    assert calendar_part_of(message)["Content-Type"] == (
        "text/calendar; method=REQUEST; charset=UTF-8"
    )
    event = event_of(message)
    assert event["UID"] == event_of(first)["UID"]
    assert event["SEQUENCE"] == event_of(first)["SEQUENCE"] + 1
    assert event["DTSTART"].dt.time() == time(15, 30)


def test_cancelling_sends_a_cancel_to_everyone(host, now, commit):
    meeting = schedule_meeting(
        commit, host=host, title="Sync", invitees=["bo@example.com", "cy@example.org"]
    )
    uid = event_of(mail.outbox[0])["UID"]
    mail.outbox.clear()

    with commit():
        services.cancel_meeting(meeting=meeting)

    messages = by_recipient(mail.outbox)
    assert sorted(messages) == ["bo@example.com", "cy@example.org"]
    for email, message in messages.items():
        assert message.subject == "Cancelled: Sync — Mon 9 Mar 2026, 09:00 (Europe/Berlin)"
        assert message.body.startswith("Ada Lovelace cancelled “Sync”.")
        assert "List-Unsubscribe" not in message.extra_headers
        assert calendar_part_of(message)["Content-Type"] == (
            "text/calendar; method=CANCEL; charset=UTF-8"
        )
        assert Calendar.from_ical(attached_ics_of(message))["METHOD"] == "CANCEL"
        event = event_of(message)
        assert event["UID"] == uid
        assert event["STATUS"] == "CANCELLED"
        assert event["SEQUENCE"] == 1
        assert event["ATTENDEE"] == f"mailto:{email}"


def test_cancelling_one_sitting_sends_a_cancel_for_that_date(host, now, commit):
    meeting = schedule_meeting(
        commit,
        host=host,
        title="Standup",
        schedule=schedule_in(7, recurrence="daily", count=5),
        invitees=["bo@example.com"],
    )
    occurrence = list(meeting.occurrences.all())[3]
    mail.outbox.clear()

    with commit():
        services.cancel_occurrence(occurrence=occurrence)

    [message] = mail.outbox
    assert message.subject == "Cancelled: Standup — Thu 12 Mar 2026, 09:00 (Europe/Berlin)"
    assert "on Thursday 12 March 2026, 09:00\N{EN DASH}09:30 (Europe/Berlin)" in message.body
    assert "The other dates stay as they are." in message.body
    [event] = calendar_of(message).walk("VEVENT")
    assert event["RECURRENCE-ID"].dt == occurrence.original_start
    assert event["STATUS"] == "CANCELLED"


def test_moving_one_sitting_sends_an_update_with_the_override(host, now, commit):
    meeting = schedule_meeting(
        commit,
        host=host,
        title="Standup",
        schedule=schedule_in(7, recurrence="daily", count=5),
        invitees=["bo@example.com"],
    )
    occurrence = list(meeting.occurrences.all())[1]
    mail.outbox.clear()

    with commit():
        services.reschedule_occurrence(
            occurrence=occurrence,
            starts_at=occurrence.starts_at + timedelta(hours=2),
            duration_minutes=30,
        )

    [message] = mail.outbox
    assert message.subject.startswith("Updated invitation: Standup — ")
    assert (
        "- Tuesday 10 March 2026, 09:00 (Europe/Berlin) is moved to "
        "Tuesday 10 March 2026, 11:00\N{EN DASH}11:30 (Europe/Berlin)"
    ) in message.body
    [override] = [e for e in calendar_of(message).walk("VEVENT") if "RECURRENCE-ID" in e]
    assert override["RECURRENCE-ID"].dt == occurrence.original_start
    assert override["DTSTART"].dt == occurrence.starts_at + timedelta(hours=2)


def test_removed_invitee_gets_a_cancel_and_no_one_else_does(host, now, commit):
    meeting = schedule_meeting(
        commit, host=host, title="Sync", invitees=["bo@example.com", "cy@example.org"]
    )
    mail.outbox.clear()

    with commit():
        services.remove_invitation(invitation=meeting.invitations.get(email="bo@example.com"))

    [message] = mail.outbox
    assert message.to == ["bo@example.com"]
    assert calendar_of(message)["METHOD"] == "CANCEL"
    assert event_of(message)["ATTENDEE"] == "mailto:bo@example.com"
    assert not meeting.invitations.filter(email="bo@example.com").exists()


def test_added_invitees_alone_get_an_invitation(host, now, commit):
    meeting = schedule_meeting(commit, host=host, title="Sync", invitees=["bo@example.com"])
    mail.outbox.clear()

    with commit():
        services.add_invitations(meeting=meeting, emails=["bo@example.com", "dee@example.net"])

    [message] = mail.outbox
    assert message.to == ["dee@example.net"]
    assert message.subject.startswith("Invitation: Sync — ")


def test_newcomer_to_a_changed_meeting_gets_an_invitation_not_an_update(host, now, commit):
    meeting = schedule_meeting(commit, host=host, title="Sync")
    meeting = services.update_meeting(meeting=meeting, title="Sync!")
    mail.outbox.clear()

    with commit():
        services.add_invitations(meeting=meeting, emails=["dee@example.net"])

    [message] = mail.outbox
    assert message.subject.startswith("Invitation: Sync! — ")
    assert event_of(message)["SEQUENCE"] == 1


def test_resending_repeats_the_same_version(host, now, commit):
    meeting = schedule_meeting(commit, host=host, invitees=["bo@example.com"])
    [first] = mail.outbox
    mail.outbox.clear()

    with commit():
        services.resend_invitation(invitation=meeting.invitations.get())

    [again] = mail.outbox
    assert event_of(again)["UID"] == event_of(first)["UID"]
    assert event_of(again)["SEQUENCE"] == event_of(first)["SEQUENCE"]


def test_sent_invitation_leaves_no_calendar_in_the_outbox(host, now, commit):
    schedule_meeting(commit, host=host, invitees=["bo@example.com"])

    [outgoing] = OutgoingEmail.objects.all()
    assert outgoing.status == OutgoingEmail.Status.SENT
    assert outgoing.category == "transactional"
    assert outgoing.calendar == ""
    assert outgoing.text_body == ""


def test_request_queued_before_a_cancellation_is_not_sent(host, now):
    meeting = MeetingFactory(host=host, invitees=["bo@example.com"])
    invitation = meeting.invitations.get()
    services.cancel_meeting(meeting=meeting)

    sent = send_invitation_requests.delay(meeting.pk, [invitation.pk]).get()

    assert sent == 0
    assert mail.outbox == []


def test_request_for_a_removed_invitation_is_not_sent(host, now):
    meeting = MeetingFactory(host=host, invitees=["bo@example.com"])
    invitation = meeting.invitations.get()
    invitation.delete()

    sent = send_invitation_requests.delay(meeting.pk, [invitation.pk]).get()

    assert sent == 0
    assert mail.outbox == []


def test_tasks_for_a_deleted_meeting_do_nothing(host, now):
    meeting = MeetingFactory(host=host, invitees=["bo@example.com"])
    meeting_id = meeting.pk
    meeting.delete()

    assert send_invitation_requests.delay(meeting_id, [1]).get() == 0
    assert send_invitation_cancels.delay(meeting_id, ["bo@example.com"], None).get() == 0
    assert mail.outbox == []


def test_line_break_in_a_title_does_not_reach_the_subject(host, now, commit):
    schedule_meeting(commit, host=host, title="Weekly\r\nsync", invitees=["bo@example.com"])

    [message] = mail.outbox
    assert message.subject.startswith("Invitation: Weekly sync — ")
    assert OutgoingEmail.objects.get().status == OutgoingEmail.Status.SENT
