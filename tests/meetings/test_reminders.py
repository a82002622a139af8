"""Meeting reminders: when they go, to whom, in which zone, and never twice."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from icalendar import Calendar

from meetings import links, reminders, services
from meetings.models import Occurrence, ReminderDelivery
from meetings.schedule import Schedule
from privacy import services as privacy_services
from privacy.mailer import build_message, preferences_url, unsubscribe_url
from privacy.models import OutgoingEmail
from tests.factories import UserFactory

# New York moves its clocks forward at 02:00 on Sunday 8 March 2026.
SITTING = datetime(2026, 3, 8, 15, 0, tzinfo=UTC)  # 11:00 EDT; 24 h before is 10:00 EST
GUEST = "grace@guests.example"
Kind = ReminderDelivery.Kind


@pytest.fixture
def host(db):
    return UserFactory(email="ada@example.com", full_name="Ada Lovelace", time_zone="Europe/London")


@pytest.fixture
def invitee(db):
    # Invited under the same address in lower case: the account's zone still applies.
    return UserFactory(email="Kay@Example.com", time_zone="America/New_York")


def _schedule(host, invitee, **timing):
    """A meeting planned a week ahead, in the host's zone (London), with two invitees."""
    with time_machine.travel(datetime(2026, 3, 1, tzinfo=UTC), tick=False):
        return services.schedule_meeting(
            host=host,
            title="Weekly sync",
            schedule=Schedule(
                time_zone="Europe/London",
                starts_on=date(2026, 3, 8),
                start_time=time(15, 0),
                duration_minutes=30,
                **timing,
            ),
            invitees=[invitee.email, GUEST],
        )


def _scan(at: datetime) -> int:
    with time_machine.travel(at, tick=False):
        reminders.scan()
    return OutgoingEmail.objects.count()


def _mail(to: str) -> list[OutgoingEmail]:
    return list(OutgoingEmail.objects.filter(to__iexact=to).order_by("pk"))


def test_both_reminders_go_at_their_instants_in_the_recipients_zone_across_dst(host, invitee):
    _schedule(host, invitee)

    assert _scan(SITTING - timedelta(hours=24, seconds=1)) == 0
    assert _scan(SITTING - timedelta(hours=24)) == 3  # host and both invitees
    [day_before] = _mail(invitee.email)
    # Sent at 10:00 EST; the sitting is at 11:00 EDT, the day after the change.
    assert day_before.subject == "Reminder: Weekly sync starts tomorrow at 11:00 (EDT)"
    when = "Sunday 8 March 2026, 11:00\N{EN DASH}11:30 (America/New_York, EDT)"
    assert when in day_before.text_body
    # The host reads London time, a guest without an account the meeting's zone.
    assert "15:00\N{EN DASH}15:30 (Europe/London, GMT)" in _mail(host.email)[0].text_body
    assert "15:00\N{EN DASH}15:30 (Europe/London, GMT)" in _mail(GUEST)[0].text_body

    assert _scan(SITTING - timedelta(minutes=10, seconds=1)) == 3
    assert _scan(SITTING - timedelta(minutes=10)) == 6
    soon = _mail(invitee.email)[1]
    assert soon.subject == "Reminder: Weekly sync starts in 10 minutes"
    assert "(America/New_York, EDT)" in soon.text_body
    assert _scan(SITTING - timedelta(minutes=9)) == 6
    assert ReminderDelivery.objects.filter(status="sent").count() == 6


def test_each_invitee_gets_their_personal_link_and_calendar(host, invitee):
    meeting = _schedule(host, invitee)
    _scan(SITTING - timedelta(minutes=10))

    guest_invitation = meeting.invitations.get(email=GUEST)
    [guest_mail] = _mail(GUEST)
    assert links.personal_join_url(guest_invitation) in guest_mail.text_body
    calendar = Calendar.from_ical(guest_mail.calendar)
    [event] = calendar.walk("VEVENT")
    assert str(event["attendee"]) == f"mailto:{GUEST}"
    assert links.personal_join_url(guest_invitation) in str(event["location"])
    [host_mail] = _mail(host.email)
    assert links.join_url(meeting) in host_mail.text_body
    assert "?i=" not in host_mail.text_body


def test_an_invitee_without_an_account_gets_one_click_unsubscribe_and_preferences(host, invitee):
    _schedule(host, invitee)
    _scan(SITTING - timedelta(minutes=10))

    message = build_message(_mail(GUEST)[0])
    headers = message.message()
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    one_click = unsubscribe_url(email=GUEST, category="meeting_reminders")
    assert headers["List-Unsubscribe"] == f"<{one_click}>"
    assert "You receive this because you are subscribed to “Meeting reminders”" in message.body
    assert f"Manage your email preferences: {preferences_url(email=GUEST)}" in message.body


def test_a_cancelled_sitting_gets_no_reminder_even_when_armed_before(host, invitee):
    meeting = _schedule(host, invitee, recurrence="daily", count=3)
    first, second, third = meeting.occurrences.order_by("starts_at")
    with time_machine.travel(SITTING - timedelta(days=2), tick=False):
        services.cancel_occurrence(occurrence=second)
    # Armed for the third, then it is cancelled before a worker gets to it.
    with time_machine.travel(third.starts_at - timedelta(minutes=10), tick=False):
        reminders.arm(Kind.SOON, third.starts_at - timedelta(minutes=10))
        services.cancel_occurrence(occurrence=third)
        ids = list(ReminderDelivery.objects.values_list("pk", flat=True))
        assert reminders.send(ids) == 0

    assert set(ReminderDelivery.objects.values_list("skip_reason", flat=True)) == {
        "sitting cancelled"
    }
    for moment in (second.starts_at, third.starts_at):
        for lead in (timedelta(hours=24), timedelta(minutes=10)):
            _scan(moment - lead)
    assert not ReminderDelivery.objects.filter(occurrence__in=[second, third], status="sent")
    assert not OutgoingEmail.objects.filter(
        category="meeting_reminders", subject__contains="10 min"
    )
    _scan(first.starts_at - timedelta(minutes=10))
    assert OutgoingEmail.objects.count() == 3


def test_rescheduling_rearms_and_the_old_time_is_not_sent(host, invitee):
    meeting = _schedule(host, invitee)
    sitting = meeting.occurrences.get()
    _scan(SITTING - timedelta(hours=24))
    assert OutgoingEmail.objects.count() == 3
    moved_to = SITTING + timedelta(hours=3)
    # Armed for 10 minutes before the old start, moved before a worker sent it.
    with time_machine.travel(SITTING - timedelta(minutes=10), tick=False):
        reminders.arm(Kind.SOON, SITTING - timedelta(minutes=10))
        services.reschedule_occurrence(occurrence=sitting, starts_at=moved_to, duration_minutes=30)
        reminders.send(ReminderDelivery.objects.filter(kind=Kind.SOON).values_list("pk", flat=True))
    assert ReminderDelivery.objects.filter(skip_reason="sitting moved").count() == 3

    assert _scan(moved_to - timedelta(hours=24)) == 6  # the day-before one, for the new time
    assert _scan(moved_to - timedelta(minutes=10)) == 9
    newest = _mail(invitee.email)[-2]
    assert newest.subject == "Reminder: Weekly sync starts tomorrow at 14:00 (EDT)"


def test_the_preference_is_read_at_send_time(host, invitee):
    _schedule(host, invitee)
    moment = SITTING - timedelta(minutes=10)
    with time_machine.travel(moment, tick=False):
        reminders.arm(Kind.SOON, moment)
        privacy_services.unsubscribe(email=GUEST, category="meeting_reminders", source="link")
        reminders.send(ReminderDelivery.objects.values_list("pk", flat=True))

    assert _mail(GUEST) == []
    assert ReminderDelivery.objects.get(email=GUEST).skip_reason == "unsubscribed"
    assert len(_mail(host.email)) == len(_mail(invitee.email)) == 1


def test_a_duplicated_beat_run_and_a_duplicated_batch_send_each_reminder_once(host, invitee):
    _schedule(host, invitee)
    moment = SITTING - timedelta(minutes=10)
    with time_machine.travel(moment, tick=False):
        assert reminders.arm(Kind.SOON, moment) == 3
        assert reminders.arm(Kind.SOON, moment) == 0
        ids = list(ReminderDelivery.objects.values_list("pk", flat=True))
        assert reminders.send(ids) == 3
        assert reminders.send(ids) == 0
        reminders.scan()
        reminders.scan()
    assert sorted(OutgoingEmail.objects.values_list("to", flat=True)) == sorted(
        [host.email, invitee.email.lower(), GUEST]
    )


def test_a_sitting_that_started_early_gets_no_ten_minute_reminder(host, invitee):
    meeting = _schedule(host, invitee)
    Occurrence.objects.filter(meeting=meeting).update(status=Occurrence.Status.LIVE)
    assert _scan(SITTING - timedelta(minutes=10)) == 0
