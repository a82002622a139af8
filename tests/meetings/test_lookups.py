"""meetings.lookups: the frozen facts other apps read instead of meetings' models."""

import dataclasses

import pytest
from django.utils import timezone

from meetings import lookups
from meetings.models import Occurrence, ParticipantSession
from tests.factories import UserFactory

from .factories import MeetingFactory

pytestmark = pytest.mark.django_db
Status = Occurrence.Status
SessionState = ParticipantSession.State


def session_in(occurrence, state=SessionState.ADMITTED, **fields):
    now = timezone.now()
    values = {
        "occurrence": occurrence,
        "email": "ada@example.com",
        "display_name": "Ada",
        "state": state,
        "requested_at": now,
        "admitted_at": now if state == SessionState.ADMITTED else None,
        "last_seen_at": now,
    } | fields
    return ParticipantSession.objects.create(**values)


def sitting_of(status=Status.SCHEDULED, **meeting_fields):
    occurrence = MeetingFactory(**meeting_fields).occurrences.first()
    Occurrence.objects.filter(pk=occurrence.pk).update(status=status)
    return occurrence


def test_a_sitting_names_its_meeting_host_zone_and_recording_setting():
    host = UserFactory()
    occurrence = MeetingFactory(
        host=host, title="Weekly sync", recording_allowed=True
    ).occurrences.first()

    facts = lookups.sitting(occurrence)

    assert facts == lookups.Sitting(
        occurrence_id=occurrence.pk,
        meeting_id=occurrence.meeting_id,
        host=host,
        title="Weekly sync",
        time_zone=occurrence.meeting.time_zone,
        recording_allowed=True,
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        facts.title = "changed"  # type: ignore[misc]


def test_a_participant_carries_what_a_consent_receipt_needs():
    occurrence = sitting_of()
    session = session_in(occurrence, is_host=True, display_name="Hana Host")

    facts = lookups.participant(session)

    assert facts == lookups.Participant(
        session_id=session.pk,
        public_id=session.public_id,
        occurrence_id=occurrence.pk,
        is_host=True,
        display_name="Hana Host",
        email="ada@example.com",
        admitted_at=session.admitted_at,
    )


def test_abandoned_sittings_are_the_closed_ones_and_the_open_ones_nobody_is_in(
    django_assert_num_queries,
):
    live_and_attended = sitting_of(Status.LIVE)
    session_in(live_and_attended)
    scheduled_and_attended = sitting_of(Status.SCHEDULED)
    session_in(scheduled_and_attended)
    live_but_everyone_left = sitting_of(Status.LIVE)
    session_in(live_but_everyone_left, SessionState.LEFT)
    live_but_only_waiting = sitting_of(Status.LIVE)
    session_in(live_but_only_waiting, SessionState.WAITING)
    ended_with_someone_still_marked_in = sitting_of(Status.ENDED)
    session_in(ended_with_someone_still_marked_in)
    cancelled = sitting_of(Status.CANCELLED)
    ids = {
        o.pk
        for o in (
            live_and_attended,
            scheduled_and_attended,
            live_but_everyone_left,
            live_but_only_waiting,
            ended_with_someone_still_marked_in,
            cancelled,
        )
    }

    with django_assert_num_queries(1):
        abandoned = lookups.abandoned_sittings(occurrence_ids=ids)

    assert abandoned == {
        live_but_everyone_left.pk,
        live_but_only_waiting.pk,
        ended_with_someone_still_marked_in.pk,
        cancelled.pk,
    }


def test_no_sittings_asked_about_none_abandoned():
    assert lookups.abandoned_sittings(occurrence_ids=set()) == set()
