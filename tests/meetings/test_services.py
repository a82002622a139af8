from dataclasses import replace
from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from meetings import services
from meetings.models import Invitation, Meeting

from .factories import MeetingFactory, schedule_in


@pytest.fixture
def series(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        meeting = MeetingFactory(
            schedule=schedule_in(1, recurrence="daily", count=10), invitees=["ann@example.com"]
        )
    mail.outbox.clear()
    return meeting


def test_join_tokens_carry_at_least_128_random_bits(db):
    tokens = {services.new_join_token() for _ in range(200)}

    assert len(tokens) == 200
    assert min(len(token) for token in tokens) >= 22  # 22 base64 characters = 132 bits


def test_settings_invitees_never_see_do_not_send_them_an_update(
    series, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.update_meeting(meeting=series, lobby_enabled=False, recording_allowed=True)

    series.refresh_from_db()
    assert series.sequence == 0
    assert mail.outbox == []


def test_a_new_title_sends_an_update_with_a_higher_sequence(
    series, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.update_meeting(meeting=series, title="Renamed")

    series.refresh_from_db()
    assert series.sequence == 1
    assert [m.to for m in mail.outbox] == [["ann@example.com"]]


def test_an_ongoing_series_can_change_its_time(series, time_machine):
    time_machine.move_to(timezone.now() + timedelta(days=4))
    later = replace(services.schedule_of(series), duration_minutes=40)

    services.update_meeting(meeting=series, schedule=later)

    future = series.occurrences.filter(starts_at__gt=timezone.now())
    assert future.exists()
    assert set(future.values_list("duration_minutes", flat=True)) == {40}


def test_moving_an_ongoing_series_into_the_past_is_refused(series):
    earlier = replace(services.schedule_of(series), starts_on=series.starts_on - timedelta(days=30))

    with pytest.raises(ValidationError) as error:
        services.update_meeting(meeting=series, schedule=earlier)

    assert "starts_on" in error.value.message_dict


def test_removing_an_invitee_raises_the_sequence(series):
    invitation = series.invitations.get()

    services.remove_invitation(invitation=invitation)

    series.refresh_from_db()
    assert series.sequence == 1
    assert not Invitation.objects.filter(pk=invitation.pk).exists()


def test_a_cancelled_meeting_cannot_be_changed(series):
    services.cancel_meeting(meeting=series)

    for change in (
        lambda: services.update_meeting(meeting=series, title="x"),
        lambda: services.add_invitations(meeting=series, emails=["b@example.com"]),
        lambda: services.remove_invitation(invitation=series.invitations.get()),
    ):
        with pytest.raises(ValidationError):
            change()
    assert Meeting.objects.get(pk=series.pk).title != "x"


@pytest.mark.parametrize("bad", [["ok@example.com", 42], ["not an email"]])
def test_bad_invitee_lists_are_refused(series, bad):
    with pytest.raises(ValidationError) as error:
        services.add_invitations(meeting=series, emails=bad)

    assert "invitees" in error.value.message_dict
    assert series.invitations.count() == 1


def test_inviting_the_same_address_twice_adds_it_once(series):
    services.add_invitations(meeting=series, emails=["B@example.com", "b@example.com "])
    again = services.add_invitations(meeting=series, emails=["b@example.com"])

    assert again == []
    assert series.invitations.filter(email="b@example.com").count() == 1


def test_schedule_and_plan_errors_come_back_together(db):
    host = MeetingFactory().host
    bad = schedule_in(1, duration_minutes=90, recurrence="weekly", count=3)  # no weekday

    with pytest.raises(ValidationError) as error:
        services.schedule_meeting(host=host, title="Too much", schedule=bad)

    assert {"weekdays", "duration_minutes"} <= set(error.value.message_dict)


def test_every_periodic_task_names_a_registered_task():
    from django.conf import settings

    from conferencing.celery import app

    app.loader.import_default_modules()
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in app.tasks
