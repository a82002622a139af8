"""The monthly usage summary: opt-in, on the 1st in the host's zone, once per month; and
the reminder and summary rows in a person's export and erasure."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from meetings import privacy_data, reminders, usage_summary
from meetings.models import ParticipantSession, ReminderDelivery, UsageSummaryDelivery
from privacy import services as privacy_services
from privacy.models import OutgoingEmail
from privacy.selectors import preferences_for
from privacy.subjects import Subject
from tests.factories import UserFactory
from tests.meetings.factories import MeetingFactory, schedule_in

# 1 April 2026, 00:30 in Auckland is still 31 March in UTC (and in London).
AUCKLAND_FIRST = datetime(2026, 3, 31, 11, 30, tzinfo=UTC)
MARCH = date(2026, 3, 1)


@pytest.fixture
def host(db):
    host = UserFactory(email="ada@example.com", time_zone="Pacific/Auckland")
    privacy_services.set_subscription(
        email=host.email, category="usage_summary", subscribed=True, source="preferences"
    )
    return host


def _held_sitting(host, started: datetime, guests: list[str]) -> None:
    with time_machine.travel(started - timedelta(days=10), tick=False):
        meeting = MeetingFactory(host=host, schedule=schedule_in(10, time_zone="UTC"))
    sitting = meeting.occurrences.get()
    sitting.status, sitting.started_at = "ended", started
    sitting.ended_at = started + timedelta(minutes=25)
    sitting.save()
    for index, email in enumerate([host.email, *guests]):
        ParticipantSession.objects.create(
            occurrence=sitting,
            user=host if index == 0 else None,
            email=email,
            display_name=email.split("@")[0],
            is_host=index == 0,
            state="left",
            requested_at=started,
            admitted_at=started,
            left_at=started + timedelta(minutes=20),
            last_seen_at=started + timedelta(minutes=20),
        )


def test_the_summary_is_off_for_existing_accounts_and_on_only_when_asked(db):
    someone = UserFactory(email="kay@example.com", time_zone="UTC")
    assert preferences_for(email=someone.email)["usage_summary"] is False
    with time_machine.travel(datetime(2026, 4, 1, 9, tzinfo=UTC), tick=False):
        assert usage_summary.dispatch_due() == 0


def test_it_goes_on_the_first_in_the_hosts_zone_once_per_month(host):
    _held_sitting(host, datetime(2026, 3, 10, 9, tzinfo=UTC), ["grace@example.net", "kay@x.io"])
    _held_sitting(host, datetime(2026, 3, 12, 9, tzinfo=UTC), ["grace@example.net"])
    _held_sitting(host, datetime(2026, 2, 12, 9, tzinfo=UTC), ["old@example.net"])

    with time_machine.travel(AUCKLAND_FIRST - timedelta(hours=1), tick=False):
        assert usage_summary.dispatch_due() == 0  # still 31 March in Auckland
    with time_machine.travel(AUCKLAND_FIRST, tick=False):
        assert usage_summary.dispatch_due() == 1
        assert usage_summary.dispatch_due() == 0  # a second beat run
        assert usage_summary.send_summary(host, MARCH) is False  # a duplicated task

    [summary] = OutgoingEmail.objects.filter(category="usage_summary")
    assert summary.subject == "Your Confer month: March 2026"
    text = summary.text_body
    assert "Meetings held: 2\n" in text
    assert "People met: 2\n" in text
    assert "Minutes in meetings: 50 (100.0 person-minutes)" in text
    assert "Your plan: Free" in text
    assert "Most people at once: 3 of 100" in text
    assert "Longest meeting: 25 of 40 minutes" in text
    assert "Recordings stored: 0" in text
    assert UsageSummaryDelivery.objects.get().month == MARCH


def test_an_unsubscribe_before_the_worker_runs_stops_it(host):
    with time_machine.travel(AUCKLAND_FIRST, tick=False):
        privacy_services.unsubscribe(email=host.email, category="usage_summary", source="link")
        assert usage_summary.send_batch([host.pk], MARCH) == 0
    assert not OutgoingEmail.objects.exists()


def test_export_and_erasure_cover_reminders_and_summaries(host):
    guest = "grace@example.net"
    with time_machine.travel(datetime(2026, 3, 1, tzinfo=UTC), tick=False):
        meeting = MeetingFactory(host=host, schedule=schedule_in(3), invitees=[guest])
    sitting = meeting.occurrences.get()
    moment = sitting.starts_at - timedelta(minutes=10)
    with time_machine.travel(moment, tick=False):
        reminders.scan()
        usage_summary.send_summary(host, MARCH)

    exported = privacy_data.export_for(Subject.for_email(guest))
    [row] = exported["meeting_reminders"]
    assert (row["email"], row["reminder"], row["status"]) == (guest, "10 minutes before", "Sent")
    hosts_data = privacy_data.export_for(Subject.for_user(host))
    assert [r["month"] for r in hosts_data["usage_summaries"]] == ["2026-03"]

    privacy_data.erase_for(Subject.for_email(guest), dry_run=False)
    assert not ReminderDelivery.objects.filter(email=guest).exists()
    assert ReminderDelivery.objects.filter(email=host.email).exists()
    privacy_data.erase_for(Subject.for_user(host), dry_run=False)
    assert not ReminderDelivery.objects.exists()
    assert not UsageSummaryDelivery.objects.exists()


@pytest.mark.parametrize(
    ("ticked", "subscribed"), [({}, False), ({"usage_summary_opt_in": "on"}, True)]
)
def test_sign_up_offers_the_summary_unticked(client, db, ticked, subscribed):
    from django.urls import reverse

    client.post(reverse("accounts:age_screen"), {"date_of_birth": "1990-04-27"})
    page = client.get(reverse("account_signup")).content.decode()
    assert 'name="usage_summary_opt_in"' in page
    assert "checked" not in page.split('name="usage_summary_opt_in"')[1].split(">")[0]
    form = {
        "full_name": "Ada Lovelace",
        "email": "new@example.com",
        "password1": "analytical-engine-1843",
        "password2": "analytical-engine-1843",
        "time_zone": "Europe/London",
        "how_heard": "colleague",
    }
    assert client.post(reverse("account_signup"), form | ticked).status_code == 302
    assert preferences_for(email="new@example.com")["usage_summary"] is subscribed
