"""Every host page and action is the host's alone: others get a 404, anonymous a sign-in."""

import pytest
from django.test import Client
from django.urls import reverse

from meetings import lobby
from meetings.models import Meeting, Occurrence, ParticipantSession
from tests.factories import UserFactory
from tests.meetings.factories import MeetingFactory, schedule_in


@pytest.fixture
def setup(db):
    host = UserFactory()
    meeting = MeetingFactory(
        host=host,
        schedule=schedule_in(2, recurrence="daily", count=3),
        invitees=["ana@example.com"],
    )
    occurrence = meeting.occurrences.first()
    session = lobby.request_entry(
        occurrence=occurrence, display_name="Ana", email="ana@example.com"
    )
    return meeting, occurrence, meeting.invitations.get(), session


def routes(meeting, occurrence, invitation, session) -> list[tuple[str, str]]:
    m, o = meeting.public_id, occurrence.public_id
    return [
        ("get", reverse("meetings:detail", args=[m])),
        ("get", reverse("meetings:edit", args=[m])),
        ("post", reverse("meetings:edit", args=[m])),
        ("get", reverse("meetings:cancel", args=[m])),
        ("post", reverse("meetings:cancel", args=[m])),
        ("post", reverse("meetings:invitation_add", args=[m])),
        ("post", reverse("meetings:invitation_remove", args=[m, invitation.pk])),
        ("post", reverse("meetings:invitation_resend", args=[m, invitation.pk])),
        ("post", reverse("meetings:lobby_admit", args=[m, session.public_id])),
        ("post", reverse("meetings:lobby_deny", args=[m, session.public_id])),
        ("post", reverse("meetings:lobby_remove", args=[m, session.public_id])),
        ("post", reverse("meetings:lobby_mute", args=[m, session.public_id])),
        ("get", reverse("meetings:occurrence_edit", args=[m, o])),
        ("post", reverse("meetings:occurrence_edit", args=[m, o])),
        ("get", reverse("meetings:occurrence_cancel", args=[m, o])),
        ("post", reverse("meetings:occurrence_cancel", args=[m, o])),
        ("post", reverse("meetings:lobby_admit_all", args=[m, o])),
        ("post", reverse("meetings:occurrence_mute_all", args=[m, o])),
        ("post", reverse("meetings:occurrence_lock", args=[m, o])),
        ("post", reverse("meetings:occurrence_unlock", args=[m, o])),
        ("post", reverse("meetings:occurrence_end", args=[m, o])),
        ("get", reverse("meetings:report", args=[m, o])),
        ("get", reverse("meetings:report_csv", args=[m, o])),
    ]


def assert_untouched(meeting, occurrence, session) -> None:
    meeting.refresh_from_db()
    occurrence.refresh_from_db()
    session.refresh_from_db()
    assert meeting.status == Meeting.Status.SCHEDULED and meeting.sequence == 0
    assert occurrence.status == Occurrence.Status.SCHEDULED
    assert not occurrence.locked and not occurrence.unmute_locked
    assert session.state == ParticipantSession.State.WAITING
    assert meeting.invitations.count() == 1


def test_another_host_gets_404_on_every_page_and_action(setup):
    meeting, occurrence, _, session = setup
    another_host = UserFactory()
    MeetingFactory(host=another_host)  # with meetings of their own
    other = Client()
    other.force_login(another_host)

    for method, url in routes(*setup):
        data = {"emails": "x@example.com", "title": "Mine now"} if method == "post" else None
        response = getattr(other, method)(url, data)
        assert response.status_code == 404, (method, url)

    assert_untouched(meeting, occurrence, session)


def test_anonymous_visitors_are_sent_to_sign_in(client, setup):
    meeting, occurrence, _, session = setup
    pages = [
        ("get", reverse("meetings:dashboard")),
        ("get", reverse("meetings:schedule")),
        ("post", reverse("meetings:meet_now")),
        *routes(*setup),
    ]

    for method, url in pages:
        response = getattr(client, method)(url)
        assert response.status_code == 302, (method, url)
        assert response["Location"].startswith(reverse("account_login")), (method, url)

    assert_untouched(meeting, occurrence, session)
    assert Meeting.objects.count() == 1


def test_an_unknown_meeting_is_the_same_404(client, setup):
    client.force_login(setup[0].host)

    response = client.get(reverse("meetings:detail", args=["6c1e4b8e-0000-4000-8000-000000000000"]))

    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


def test_a_participant_of_another_meeting_cannot_be_admitted_through_mine(client, setup):
    session = setup[3]
    mine = MeetingFactory(host=UserFactory())
    client.force_login(mine.host)

    response = client.post(
        reverse("meetings:lobby_admit", args=[mine.public_id, session.public_id])
    )

    assert response.status_code == 404
    session.refresh_from_db()
    assert session.state == ParticipantSession.State.WAITING
