"""The host's plan limits a sitting: warnings at 5 and 1 minutes before the limit, the end
for everyone at it, each once however many checkers run, and the reason reaches the room."""

from datetime import datetime, timedelta

import pytest
import time_machine
from asgiref.sync import sync_to_async
from django.utils import timezone

from billing.models import Plan
from meetings import lobby, tasks, time_limit
from meetings.models import Occurrence, ParticipantSession
from meetings.room.protocol import CLOSE_ENDED
from tests.factories import UserFactory
from tests.meetings.factories import MeetingFactory
from tests.room import Sockets, ajoin

from .factories import CustomerFactory, SubscriptionFactory, plan

State = ParticipantSession.State
Reason = ParticipantSession.LeaveReason


def start_sitting(host=None, *, lobby_enabled=False):
    """The host walks in: the sitting starts now (the scheduled start is a week away)."""
    meeting = MeetingFactory(host=host or UserFactory(), lobby_enabled=lobby_enabled)
    occurrence = meeting.occurrences.get()
    lobby.request_entry(
        occurrence=occurrence, display_name="Hana Host", email="hana@example.com", user=meeting.host
    )
    occurrence.refresh_from_db()
    return occurrence


def check_at(occurrence, started: datetime, minutes: float):
    with time_machine.travel(started + timedelta(minutes=minutes), tick=False):
        return time_limit.check(occurrence_id=occurrence.pk)


def kinds(outcome):
    return [(m["type"], m.get("minutes_left"), m.get("reason")) for m in outcome.messages]


# --- The checker ----------------------------------------------------------------------


@pytest.mark.django_db
def test_warned_at_5_and_1_minutes_then_ended_at_the_limit_each_once():
    occurrence = start_sitting()
    started = occurrence.started_at

    assert kinds(check_at(occurrence, started, 34.9)) == []
    assert kinds(check_at(occurrence, started, 35)) == [("time_limit_warning", 5, None)]
    assert kinds(check_at(occurrence, started, 35.5)) == []
    assert kinds(check_at(occurrence, started, 39)) == [("time_limit_warning", 1, None)]
    assert kinds(check_at(occurrence, started, 39.2)) == []
    ended = check_at(occurrence, started, 40)
    again = check_at(occurrence, started, 40.1)

    assert kinds(ended) == [("meeting_ended", None, "time_limit")]
    assert ended.ended and not again.ended and kinds(again) == []
    message = ended.messages[0]
    assert (message["limit_minutes"], message["plan"]) == (40, "Free")
    occurrence.refresh_from_db()
    assert occurrence.status == Occurrence.Status.ENDED
    host_session = occurrence.sessions.get()
    assert (host_session.state, host_session.leave_reason) == (State.LEFT, Reason.ENDED)


@pytest.mark.django_db
def test_the_warning_says_when_the_sitting_ends():
    occurrence = start_sitting()

    (warning,) = check_at(occurrence, occurrence.started_at, 35.5).messages

    assert warning["ends_at"] == (occurrence.started_at + timedelta(minutes=40)).isoformat()
    assert warning["upgrade_url"] == time_limit.upgrade_url()


@pytest.mark.django_db
def test_a_late_checker_sends_only_the_latest_warning():
    occurrence = start_sitting()

    first = check_at(occurrence, occurrence.started_at, 39.5)
    second = check_at(occurrence, occurrence.started_at, 39.6)

    assert kinds(first) == [("time_limit_warning", 1, None)]
    assert kinds(second) == []


@pytest.mark.django_db
def test_time_counts_from_the_first_admission_not_the_schedule():
    occurrence = start_sitting(lobby_enabled=True)
    # A week before the scheduled start: only the actual start counts.
    assert occurrence.starts_at - occurrence.started_at > timedelta(days=6)

    assert kinds(check_at(occurrence, occurrence.started_at, 35)) == [
        ("time_limit_warning", 5, None)
    ]


@pytest.mark.django_db
def test_a_sitting_nobody_was_admitted_to_has_no_clock():
    meeting = MeetingFactory(lobby_enabled=True)
    occurrence = meeting.occurrences.get()
    lobby.request_entry(occurrence=occurrence, display_name="Wes", email="wes@example.com")

    outcome = check_at(occurrence, timezone.now(), 120)

    assert kinds(outcome) == []
    assert Occurrence.objects.get(pk=occurrence.pk).status == Occurrence.Status.SCHEDULED


@pytest.mark.django_db
def test_a_pro_host_gets_the_pro_limit():
    host = UserFactory()
    SubscriptionFactory(customer=CustomerFactory(user=host), plan=plan("pro-monthly"))
    occurrence = start_sitting(host)

    assert kinds(check_at(occurrence, occurrence.started_at, 40)) == []
    assert kinds(check_at(occurrence, occurrence.started_at, 1435)) == [
        ("time_limit_warning", 5, None)
    ]
    assert check_at(occurrence, occurrence.started_at, 1440).ended


@pytest.mark.django_db
def test_an_upgrade_during_the_sitting_lifts_the_limit():
    host = UserFactory()
    occurrence = start_sitting(host)
    assert kinds(check_at(occurrence, occurrence.started_at, 35)) == [
        ("time_limit_warning", 5, None)
    ]

    SubscriptionFactory(customer=CustomerFactory(user=host), plan=plan("pro-monthly"))

    assert not check_at(occurrence, occurrence.started_at, 41).ended
    assert Occurrence.objects.get(pk=occurrence.pk).status == Occurrence.Status.LIVE


@pytest.mark.django_db
def test_the_timer_sleeps_until_the_next_unclaimed_threshold():
    occurrence = start_sitting()
    started = occurrence.started_at

    def until(minutes):
        with time_machine.travel(started + timedelta(minutes=minutes), tick=False):
            return time_limit.seconds_until_next(occurrence_id=occurrence.pk)

    assert until(34) == 60
    assert until(0) == time_limit.MAX_SLEEP_SECONDS  # looks again in case the plan changes
    assert until(35.5) == 0  # due and unclaimed
    check_at(occurrence, started, 35.5)
    assert until(38.5) == 30  # the 1-minute warning next
    check_at(occurrence, started, 40)
    assert until(40) is None


@pytest.mark.django_db
def test_the_periodic_task_acts_once_per_threshold(monkeypatch, django_capture_on_commit_callbacks):
    occurrence = start_sitting()
    fresh = start_sitting()
    sent = []
    monkeypatch.setattr(
        "meetings.room.effects.deliver",
        lambda effects: sent.extend((effects.occurrence_id, event) for event in effects.events),
    )
    Occurrence.objects.filter(pk=fresh.pk).update(started_at=timezone.now())
    Occurrence.objects.filter(pk=occurrence.pk).update(
        started_at=timezone.now() - timedelta(minutes=36)
    )

    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.enforce_time_limits() == 1
        assert tasks.enforce_time_limits() == 0
        Occurrence.objects.filter(pk=occurrence.pk).update(
            started_at=timezone.now() - timedelta(minutes=41)
        )
        assert tasks.enforce_time_limits() == 1
        assert tasks.enforce_time_limits() == 0

    assert [(pk, e.message["type"], e.close) for pk, e in sent] == [
        (occurrence.pk, "time_limit_warning", None),
        (occurrence.pk, "meeting_ended", CLOSE_ENDED),
    ]
    assert Occurrence.objects.get(pk=fresh.pk).status == Occurrence.Status.LIVE


@pytest.mark.django_db
def test_only_sittings_old_enough_for_the_shortest_plan_are_looked_at():
    old, young = start_sitting(), start_sitting()
    Occurrence.objects.filter(pk=old.pk).update(started_at=timezone.now() - timedelta(minutes=36))
    Plan.objects.filter(slug="free").update(max_meeting_minutes=60)

    assert time_limit.due_sittings() == []
    Plan.objects.filter(slug="free").update(max_meeting_minutes=40)
    assert time_limit.due_sittings() == [old.pk]
    assert young.pk not in time_limit.due_sittings()


# --- In the room ------------------------------------------------------------------------


@pytest.fixture
async def sockets():
    opened = Sockets()
    yield opened
    await opened.close_all()


@pytest.fixture
def meeting(transactional_db):
    return MeetingFactory(host=UserFactory(full_name="Hana Host"), title="Design review")


def move_start(joined, minutes_ago: float) -> None:
    Occurrence.objects.filter(pk=joined.session.occurrence_id).update(
        started_at=timezone.now() - timedelta(minutes=minutes_ago)
    )


@pytest.mark.django_db(transaction=True)
async def test_the_room_hears_the_warnings_and_the_end_from_the_periodic_task(sockets, meeting):
    host = await ajoin(meeting, user=meeting.host)
    guest = await ajoin(meeting, name="Ada Guest", email="ada@example.com")
    host_socket, snapshot = await sockets.enter(host)
    guest_socket, _ = await sockets.enter(guest)
    assert snapshot["time_limit"]["limit_minutes"] == 40
    started = (
        await sync_to_async(Occurrence.objects.get)(pk=host.session.occurrence_id)
    ).started_at
    enforce = sync_to_async(tasks.enforce_time_limits)

    for minutes, left in ((35, 5), (39, 1)):
        with time_machine.travel(started + timedelta(minutes=minutes, seconds=1)):
            await enforce()
            await enforce()
        for socket in (host_socket, guest_socket):
            warning = await socket.expect("time_limit_warning")
            assert (warning["minutes_left"], warning["limit_minutes"]) == (left, 40)
    with time_machine.travel(started + timedelta(minutes=40, seconds=1)):
        await enforce()
        await enforce()

    for socket in (host_socket, guest_socket):
        ended = await socket.expect("meeting_ended")
        assert (ended["reason"], ended["limit_minutes"], ended["plan"]) == (
            "time_limit",
            40,
            "Free",
        )
        assert await socket.closed() == CLOSE_ENDED
        received = [m["type"] for m in socket.received]
        assert received.count("time_limit_warning") == 2
        assert received.count("meeting_ended") == 1
    session = await sync_to_async(guest.refresh)()
    assert (session.state, session.leave_reason) == (State.LEFT, Reason.ENDED)


@pytest.mark.django_db(transaction=True)
async def test_the_rooms_own_timers_warn_once_without_the_periodic_task(sockets, meeting):
    host = await ajoin(meeting, user=meeting.host)
    guest = await ajoin(meeting, name="Ada Guest", email="ada@example.com")
    await sync_to_async(move_start)(host, 35.5)

    host_socket, _ = await sockets.enter(host)
    await host_socket.expect("time_limit_warning", minutes_left=5)
    # The guest's connection has a timer too; the warning is claimed, so it stays quiet
    # and the guest's snapshot carries the countdown instead.
    guest_socket, snapshot = await sockets.enter(guest)
    await host_socket.settle(0.5)

    occurrence = await sync_to_async(Occurrence.objects.get)(pk=host.session.occurrence_id)
    ends_at = occurrence.started_at + timedelta(minutes=40)
    assert snapshot["time_limit"]["ends_at"] == ends_at.isoformat()
    assert [m["type"] for m in host_socket.received].count("time_limit_warning") == 1
    assert [m["type"] for m in guest_socket.received].count("time_limit_warning") == 0


@pytest.mark.django_db(transaction=True)
async def test_a_room_past_its_limit_ends_when_someone_connects(sockets, meeting):
    host = await ajoin(meeting, user=meeting.host)
    await sync_to_async(move_start)(host, 41)

    host_socket = await sockets.open(host)

    ended = await host_socket.expect("meeting_ended")
    assert ended["reason"] == "time_limit"
    assert await host_socket.closed() == CLOSE_ENDED
    occurrence = await sync_to_async(Occurrence.objects.get)(pk=host.session.occurrence_id)
    assert occurrence.status == Occurrence.Status.ENDED
