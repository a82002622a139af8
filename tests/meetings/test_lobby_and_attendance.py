from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from billing.models import Plan
from meetings import lobby
from meetings.attendance import attendance_for, merge, peak, summaries_for, summarise
from meetings.errors import InvalidTransition, MeetingFull, MeetingLocked, NotJoinable
from meetings.models import Meeting, Occurrence, ParticipantSession
from meetings.tickets import BadTicket, issue_ticket, read_ticket
from tests.factories import UserFactory

State = ParticipantSession.State
T0 = datetime(2027, 1, 10, 15, 0, tzinfo=UTC)


def make_occurrence(host, *, lobby_enabled: bool = True, starts_at: datetime = T0) -> Occurrence:
    meeting = Meeting.objects.create(
        host=host,
        title="Standup",
        time_zone="UTC",
        starts_on=starts_at.date(),
        start_time=starts_at.time(),
        duration_minutes=30,
        join_token=f"tok-{starts_at:%s}-{host.pk}",
        lobby_enabled=lobby_enabled,
    )
    return Occurrence.objects.create(
        meeting=meeting, original_start=starts_at, starts_at=starts_at, duration_minutes=30
    )


@pytest.fixture
def host(db):
    return UserFactory()


@pytest.fixture
def occurrence(host):
    return make_occurrence(host)


def guest(occurrence, name="Guest", email=None):
    return lobby.request_entry(
        occurrence=occurrence, display_name=name, email=email or f"{name.lower()}@example.com"
    )


def test_a_guest_waits_in_the_lobby(occurrence):
    session = guest(occurrence)

    assert session.state == State.WAITING
    assert session.admitted_at is None


def test_the_host_goes_straight_in_and_the_meeting_goes_live(occurrence, host):
    session = lobby.request_entry(
        occurrence=occurrence, display_name="Host", email=host.email, user=host
    )

    occurrence.refresh_from_db()
    assert session.state == State.ADMITTED and session.is_host
    assert occurrence.status == Occurrence.Status.LIVE


def test_without_a_lobby_guests_go_straight_in(host):
    occurrence = make_occurrence(host, lobby_enabled=False)

    assert guest(occurrence).state == State.ADMITTED


def test_admit_deny_and_the_moves_that_are_not_allowed(occurrence):
    alice, bob = guest(occurrence, "Alice"), guest(occurrence, "Bob")

    assert lobby.admit(session=alice).state == State.ADMITTED
    assert lobby.deny(session=bob).state == State.DENIED
    with pytest.raises(InvalidTransition):
        lobby.admit(session=bob)
    with pytest.raises(InvalidTransition):
        lobby.deny(session=alice)
    lobby.leave(session=alice)
    with pytest.raises(InvalidTransition):
        lobby.admit(session=alice)


def test_a_stale_copy_cannot_override_a_newer_decision(occurrence):
    session = guest(occurrence)
    stale_copy = ParticipantSession.objects.get(pk=session.pk)
    lobby.deny(session=session)

    with pytest.raises(InvalidTransition):
        lobby.admit(session=stale_copy)


def test_leaving_the_lobby_is_not_attendance(occurrence):
    session = lobby.leave(session=guest(occurrence))

    assert session.leave_reason == ParticipantSession.LeaveReason.GAVE_UP
    assert attendance_for(occurrence) == []


@pytest.fixture
def cap_of_two(db):
    # The Free plan's row is what an account without a subscription gets.
    Plan.objects.filter(slug="free").update(max_participants=2)


def test_the_participant_cap_refuses_the_next_joiner(cap_of_two, host):
    occurrence = make_occurrence(host, lobby_enabled=False)
    guest(occurrence, "A")
    guest(occurrence, "B")

    with pytest.raises(MeetingFull, match="allows 2 participants"):
        guest(occurrence, "C")
    assert occurrence.sessions.count() == 2


def test_the_host_is_let_in_even_when_full(cap_of_two, host):
    occurrence = make_occurrence(host, lobby_enabled=False)
    guest(occurrence, "A")
    guest(occurrence, "B")

    session = lobby.request_entry(
        occurrence=occurrence, display_name="H", email=host.email, user=host
    )

    assert session.state == State.ADMITTED


def test_admit_all_stops_at_the_cap(cap_of_two, occurrence):
    waiting = [guest(occurrence, name) for name in ("A", "B", "C")]

    admitted = lobby.admit_all(occurrence=occurrence)

    assert [s.pk for s in admitted] == [waiting[0].pk, waiting[1].pk]
    assert ParticipantSession.objects.get(pk=waiting[2].pk).state == State.WAITING


def test_an_ended_occurrence_takes_no_one(occurrence):
    session = guest(occurrence)
    lobby.end_occurrence(occurrence=occurrence)

    with pytest.raises(NotJoinable):
        guest(occurrence)
    with pytest.raises(NotJoinable):
        lobby.admit(session=session)


def test_end_for_everyone_closes_open_sessions(occurrence):
    inside = lobby.admit(session=guest(occurrence, "In"))
    waiting = guest(occurrence, "Out")

    lobby.end_occurrence(occurrence=occurrence)

    inside.refresh_from_db()
    waiting.refresh_from_db()
    occurrence.refresh_from_db()
    assert (inside.state, inside.leave_reason) == (State.LEFT, "ended")
    assert (waiting.state, waiting.leave_reason) == (State.LEFT, "gave_up")
    assert occurrence.status == Occurrence.Status.ENDED and occurrence.ended_at


def test_heartbeats_keep_a_session_and_silence_closes_it_when_last_seen(occurrence, time_machine):
    time_machine.move_to(T0, tick=False)
    quiet = lobby.admit(session=guest(occurrence, "Quiet"))
    chatty = lobby.admit(session=guest(occurrence, "Chatty"))
    time_machine.shift(timedelta(seconds=40))
    assert lobby.heartbeat(session=chatty)
    time_machine.shift(timedelta(seconds=10))

    closed = lobby.close_stale_sessions()

    quiet.refresh_from_db()
    chatty.refresh_from_db()
    assert [c.session_id for c in closed] == [quiet.pk]
    assert (quiet.state, quiet.leave_reason, quiet.left_at) == (State.LEFT, "timeout", T0)
    assert chatty.state == State.ADMITTED
    assert not lobby.heartbeat(session=quiet)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def attend(occurrence, time_machine, name, start, end, user=None):
    time_machine.move_to(at(start), tick=False)
    session = lobby.request_entry(
        occurrence=occurrence, display_name=name, email=f"{name.lower()}@example.com", user=user
    )
    if session.state == State.WAITING:
        lobby.admit(session=session)
    if end is not None:
        time_machine.move_to(at(end), tick=False)
        lobby.leave(session=session)
    return session


def test_attendance_sums_rejoins_and_counts_overlap_once(occurrence, host, time_machine):
    attend(occurrence, time_machine, "Host", 0, 30, user=host)
    attend(occurrence, time_machine, "Ana", 2, 10)
    attend(occurrence, time_machine, "Ana", 15, 25)  # rejoin after a break
    attend(occurrence, time_machine, "Ben", 5, 20)
    attend(occurrence, time_machine, "Ben", 18, 22)  # a second device, overlapping
    time_machine.move_to(at(40), tick=False)

    rows = {row.display_name: row for row in attendance_for(occurrence)}
    summary = summarise(list(rows.values()))

    assert (rows["Ana"].sessions, rows["Ana"].seconds) == (2, 18 * 60)
    assert (rows["Ben"].sessions, rows["Ben"].seconds) == (2, 17 * 60)
    assert rows["Host"].is_host and rows["Host"].seconds == 30 * 60
    assert rows["Ana"].first_joined == at(2) and rows["Ana"].last_left == at(25)
    assert summary.unique_participants == 3
    assert summary.peak_concurrent == 3
    assert summary.person_minutes == 30 + 18 + 17


def test_someone_still_present_counts_until_now(occurrence, time_machine):
    attend(occurrence, time_machine, "Stayer", 0, None)
    time_machine.move_to(at(12), tick=False)

    [row] = attendance_for(occurrence)

    assert row.last_left is None and row.seconds == 12 * 60


def test_summaries_for_many_occurrences_at_once(host, time_machine):
    first = make_occurrence(host, starts_at=T0)
    second = make_occurrence(host, starts_at=T0 + timedelta(days=7))
    attend(first, time_machine, "Ana", 0, 10)

    summaries = summaries_for([first, second], now=at(60))

    assert summaries[first.pk].unique_participants == 1
    assert summaries[second.pk].unique_participants == 0


def test_merge_and_peak_edges():
    a, b, c = at(0), at(10), at(20)

    assert merge([(b, c), (a, b)]) == [(a, c)]
    assert peak([[(a, b)], [(b, c)]]) == 1  # one leaves as the other joins
    assert peak([[(a, c)], [(a, b)], [(b, c)]]) == 2


def test_guest_tickets_are_signed_and_short_lived(time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    ticket = issue_ticket(session_public_id="0b6b1c5e-1b1a-4f5e-9d7e-6f7a8b9c0d1e")

    assert read_ticket(ticket) == "0b6b1c5e-1b1a-4f5e-9d7e-6f7a8b9c0d1e"
    with pytest.raises(BadTicket, match="not valid"):
        read_ticket(ticket[:-2] + "xx")
    time_machine.shift(timedelta(minutes=11))
    with pytest.raises(BadTicket, match="expired"):
        read_ticket(ticket)


def test_a_locked_room_takes_no_one_new_but_the_host(occurrence, host):
    lobby.set_locked(occurrence=occurrence, locked=True)

    with pytest.raises(MeetingLocked):
        guest(occurrence)
    session = lobby.request_entry(
        occurrence=occurrence, display_name="Host", email=host.email, user=host
    )
    assert session.state == State.ADMITTED
    lobby.set_locked(occurrence=occurrence, locked=False)
    assert guest(occurrence).state == State.WAITING
