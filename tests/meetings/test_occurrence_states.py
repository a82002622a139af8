"""The occurrence's state machine: each allowed move, each refused one, and racing ends."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from meetings import occurrences
from meetings.errors import InvalidTransition
from meetings.models import Occurrence, RoomAction
from meetings.room.actions import Actor, moderation
from tests.meetings.factories import MeetingFactory

Status = Occurrence.Status
ALLOWED = {
    (Status.SCHEDULED, Status.LIVE),
    (Status.SCHEDULED, Status.ENDED),
    (Status.SCHEDULED, Status.CANCELLED),
    (Status.LIVE, Status.ENDED),
}
MOVES = {
    Status.LIVE: lambda pk, now: occurrences.start(occurrence_id=pk, now=now),
    Status.ENDED: lambda pk, now: occurrences.end(occurrence_id=pk, now=now),
    Status.CANCELLED: lambda pk, now: occurrences.cancel(occurrence_id=pk),
}


def sitting(status: str) -> Occurrence:
    occurrence = MeetingFactory().occurrences.get()
    Occurrence.objects.filter(pk=occurrence.pk).update(status=status)
    occurrence.refresh_from_db()
    return occurrence


@pytest.mark.django_db
@pytest.mark.parametrize("source", Status.values)
@pytest.mark.parametrize("target", [Status.LIVE, Status.ENDED, Status.CANCELLED])
def test_each_move_is_allowed_or_refused_as_the_table_says(source, target):
    occurrence = sitting(source)
    allowed = (source, target) in ALLOWED

    moved = MOVES[target](occurrence.pk, timezone.now())

    occurrence.refresh_from_db()
    assert moved is allowed
    assert occurrence.status == (target if allowed else source)
    assert occurrences.can_move(source, target) is allowed
    if not allowed:
        with pytest.raises(InvalidTransition):
            occurrences.require(occurrence, target)


@pytest.mark.django_db
def test_the_late_join_grace_decides_whether_a_sitting_is_open():
    occurrence = sitting(Status.SCHEDULED)
    end = occurrence.ends_at

    assert occurrence.is_open(end + timedelta(minutes=29))
    assert not occurrence.is_open(end + timedelta(minutes=31))
    occurrence.status = Status.LIVE
    assert occurrence.is_open(end + timedelta(days=1))
    for closed in (Status.ENDED, Status.CANCELLED):
        occurrence.status = closed
        assert not occurrence.is_open(occurrence.starts_at)


@pytest.mark.django_db(transaction=True)
def test_two_ends_at_once_one_wins_and_its_effects_happen_once(monkeypatch):
    if connection.vendor == "sqlite":
        pytest.skip("SQLite serialises writers; the race needs PostgreSQL's row locks")
    occurrence = sitting(Status.LIVE)
    host = occurrence.meeting.host
    delivered = []
    monkeypatch.setattr("meetings.room.effects.deliver", delivered.append)
    barrier = threading.Barrier(2)
    results = []

    def end() -> None:
        barrier.wait()
        try:
            results.append(
                moderation.end(occurrence_id=occurrence.pk, by=Actor.account(host, door="api"))
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=end) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results) == [False, True]
    assert [e.events[-1].message["type"] for e in delivered] == ["meeting_ended"]
    assert RoomAction.objects.filter(action="end").count() == 1
