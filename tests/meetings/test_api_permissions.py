"""Who may do what through the API: every endpoint and method, for every kind of caller.

Only the host reaches their meeting. Another host, a person who joined it, and an invitee
with an account all get the same 404 as for an id that does not exist; anonymous callers
get a 401 that says how to authenticate.
"""

import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services as account_services
from meetings import lobby
from meetings.models import Invitation, Meeting, Occurrence, ParticipantSession
from tests.factories import UserFactory
from tests.meetings.factories import MeetingFactory, schedule_in

ROLES = ["other_host", "participant", "invitee"]


@dataclass
class World:
    host: object
    other_host: object
    participant: object
    invitee: object
    meeting: Meeting
    occurrence: Occurrence
    invitation: Invitation


@pytest.fixture
def world(db) -> World:
    host, other_host, participant = UserFactory(), UserFactory(), UserFactory()
    invitee = UserFactory(email="invitee@example.com")
    meeting = MeetingFactory(
        host=host,
        schedule=schedule_in(2, recurrence="daily", count=3),
        invitees=[invitee.email, "guest@example.com"],
    )
    occurrence = meeting.occurrences.order_by("starts_at").first()
    # The participant really joined (and left) this occurrence with their account.
    with time_machine.travel(occurrence.starts_at + timedelta(minutes=1), tick=False):
        session = lobby.request_entry(
            occurrence=occurrence,
            display_name="Pat",
            email=participant.email,
            user=participant,
        )
        lobby.admit(session=session)
    with time_machine.travel(occurrence.starts_at + timedelta(minutes=20), tick=False):
        lobby.leave(session=session)
    # Back to a time before the meeting, so that everything can still be changed; the
    # occurrence that was held is the first, the others are still to come.
    Occurrence.objects.filter(pk=occurrence.pk).update(status=Occurrence.Status.ENDED)
    return World(
        host=host,
        other_host=other_host,
        participant=participant,
        invitee=invitee,
        meeting=meeting,
        occurrence=meeting.occurrences.order_by("starts_at")[1],
        invitation=meeting.invitations.get(email=invitee.email),
    )


def client_for(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user=user)
    return client


def base(w: World, meeting_id=None) -> str:
    return f"/api/meetings/{meeting_id or w.meeting.public_id}/"


def occ(w: World, meeting_id=None) -> str:
    return f"{base(w, meeting_id)}occurrences/{w.occurrence.public_id}/"


def held(w: World, meeting_id=None) -> str:
    first = w.meeting.occurrences.order_by("starts_at").first()
    return f"{base(w, meeting_id)}occurrences/{first.public_id}/"


def live(w: World, meeting_id=None) -> str:
    return f"{occ(w, meeting_id)}live/"


def pat(w: World, meeting_id=None) -> str:
    """The participant who joined (and left) the held sitting."""
    session = ParticipantSession.objects.get(user=w.participant)
    return f"{held(w, meeting_id)}live/participants/{session.public_id}/"


def inv(w: World, meeting_id=None) -> str:
    return f"{base(w, meeting_id)}invitations/{w.invitation.pk}/"


# (name, method, path builder, body, the host's status)
OBJECT_ENDPOINTS = [
    ("meeting", "get", base, None, 200),
    ("meeting", "patch", base, {"title": "Renamed"}, 200),
    ("meeting", "delete", base, None, 204),
    ("occurrences", "get", lambda w, m=None: base(w, m) + "occurrences/", None, 200),
    ("occurrence", "get", occ, None, 200),
    ("occurrence", "patch", occ, {"duration_minutes": 35}, 200),
    ("occurrence cancel", "post", lambda w, m=None: occ(w, m) + "cancel/", None, 200),
    ("attendance", "get", lambda w, m=None: held(w, m) + "attendance/", None, 200),
    ("attendance csv", "get", lambda w, m=None: held(w, m) + "attendance.csv", None, 200),
    (
        "attendance ?format=csv",
        "get",
        lambda w, m=None: held(w, m) + "attendance/?format=csv",
        None,
        200,
    ),
    ("invitations", "get", lambda w, m=None: base(w, m) + "invitations/", None, 200),
    (
        "invitations add",
        "post",
        lambda w, m=None: base(w, m) + "invitations/",
        {"emails": ["new@example.com"]},
        201,
    ),
    ("invitation remove", "delete", inv, None, 204),
    ("live", "get", live, None, 200),
    ("live admit-all", "post", lambda w, m=None: live(w, m) + "admit-all/", None, 200),
    (
        "live mute-all",
        "post",
        lambda w, m=None: live(w, m) + "mute-all/",
        {"lock_unmute": True},
        200,
    ),
    ("live lock", "post", lambda w, m=None: live(w, m) + "lock/", None, 200),
    ("live unlock", "post", lambda w, m=None: live(w, m) + "unlock/", None, 200),
    ("live end", "post", lambda w, m=None: live(w, m) + "end/", None, 200),
    # Pat left already: even the host is told they are not in the meeting.
    ("live remove", "post", lambda w, m=None: pat(w, m) + "remove/", None, 404),
    ("live mute", "post", lambda w, m=None: pat(w, m) + "mute/", None, 404),
    ("live admit", "post", lambda w, m=None: pat(w, m) + "admit/", None, 404),
    ("invitation resend", "post", lambda w, m=None: inv(w, m) + "resend/", None, 202),
]
IDS = [f"{method.upper()} {name}" for name, method, *_ in OBJECT_ENDPOINTS]


def call(client: APIClient, method: str, path: str, body):
    return (
        getattr(client, method)(path, body, format="json")
        if body
        else getattr(client, method)(path)
    )


def snapshot(w: World) -> tuple:
    """Everything a refused request must leave as it was."""
    meeting = Meeting.objects.get(pk=w.meeting.pk)
    return (
        meeting.title,
        meeting.status,
        meeting.sequence,
        sorted(
            Occurrence.objects.filter(meeting=meeting).values_list(
                "status", "starts_at", "locked", "unmute_locked"
            )
        ),
        sorted(
            ParticipantSession.objects.filter(occurrence__meeting=meeting).values_list(
                "state", "audio_muted"
            )
        ),
        sorted(Invitation.objects.filter(meeting=meeting).values_list("email", flat=True)),
    )


@pytest.mark.parametrize(("name", "method", "path", "body", "expected"), OBJECT_ENDPOINTS, ids=IDS)
def test_the_host_may(world, name, method, path, body, expected):
    response = call(client_for(world.host), method, path(world), body)

    assert response.status_code == expected, response.content


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("name", "method", "path", "body", "expected"), OBJECT_ENDPOINTS, ids=IDS)
def test_anyone_else_signed_in_gets_the_same_404_as_for_nothing(
    world, role, name, method, path, body, expected
):
    before = snapshot(world)
    client = client_for(getattr(world, role))

    response = call(client, method, path(world), body)
    nothing = call(client, method, path(world, uuid.uuid4()), body)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == nothing.json() == {"detail": "No meeting of yours has this id."}
    assert snapshot(world) == before


@pytest.mark.parametrize(("name", "method", "path", "body", "expected"), OBJECT_ENDPOINTS, ids=IDS)
def test_anonymous_gets_401_with_a_challenge(world, name, method, path, body, expected):
    before = snapshot(world)

    response = call(client_for(None), method, path(world), body)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json() == {"detail": "Authentication credentials were not provided."}
    assert snapshot(world) == before


def test_other_people_do_not_see_the_meeting_in_their_list(world):
    for role in ROLES:
        response = client_for(getattr(world, role)).get("/api/meetings/")

        assert response.status_code == 200
        assert response.json()["results"] == []


def test_the_host_sees_it_in_their_list(world):
    response = client_for(world.host).get("/api/meetings/")

    assert [m["public_id"] for m in response.json()["results"]] == [str(world.meeting.public_id)]


@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_may_neither_list_nor_create(world, method):
    response = getattr(client_for(None), method)("/api/meetings/", {}, format="json")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_an_invitation_of_another_meeting_is_not_reachable_through_ones_own(world):
    """Invitation ids are integers: they must only resolve under their own meeting."""
    own = MeetingFactory(host=world.other_host, schedule=schedule_in(3))
    client = client_for(world.other_host)

    for method, suffix in [("delete", ""), ("post", "resend/")]:
        path = f"/api/meetings/{own.public_id}/invitations/{world.invitation.pk}/{suffix}"
        response = getattr(client, method)(path)

        assert response.status_code == 404
        assert response.json() == {"detail": "This meeting has no invitation with this id."}
    assert Invitation.objects.filter(pk=world.invitation.pk).exists()


def test_an_occurrence_of_another_meeting_is_not_reachable_through_ones_own(world):
    own = MeetingFactory(host=world.other_host, schedule=schedule_in(3))
    client = client_for(world.other_host)
    path = f"/api/meetings/{own.public_id}/occurrences/{world.occurrence.public_id}/"

    assert client.get(path).status_code == 404
    assert client.post(path + "cancel/").status_code == 404
    assert client.get(path + "attendance/").status_code == 404
    assert Occurrence.objects.get(pk=world.occurrence.pk).status == Occurrence.Status.SCHEDULED


def test_token_authentication(world):
    _, key = account_services.create_api_token(user=world.host, name="test")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")

    listed = client.get("/api/meetings/")
    created = client.post(
        "/api/meetings/",
        {
            "title": "By token",
            "start": (timezone.now() + timedelta(days=3)).strftime("%Y-%m-%dT10:00"),
            "duration_minutes": 30,
        },
        format="json",
    )

    assert listed.status_code == 200
    assert listed.json()["count"] == 1
    assert created.status_code == 201
    assert Meeting.objects.filter(host=world.host, title="By token").exists()


def test_a_wrong_token_is_refused(world):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")

    response = client.get(base(world))

    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid, expired or revoked token."}


def test_another_hosts_token_does_not_open_the_meeting(world):
    _, key = account_services.create_api_token(user=world.other_host, name="test")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")

    assert client.get(base(world)).status_code == 404


def test_session_authentication_needs_the_csrf_token_for_writes(world):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(world.host)

    read = client.get(base(world))
    write = client.patch(base(world), {"title": "Forged"}, format="json")

    assert read.status_code == 200
    assert write.status_code == 403
    assert "CSRF" in write.json()["detail"]
    assert Meeting.objects.get(pk=world.meeting.pk).title != "Forged"


def test_methods_that_are_not_offered_are_405_for_the_host_and_401_for_anonymous(world):
    host = client_for(world.host)

    assert host.put(base(world), {"title": "x"}, format="json").status_code == 405
    assert host.options(base(world)).status_code == 405
    assert host.get(inv(world)).status_code == 405
    assert client_for(None).put(base(world), {}, format="json").status_code == 401


def test_participants_sessions_stay_untouched_by_refused_calls(world):
    before = list(ParticipantSession.objects.values_list("pk", "state", "left_at"))

    for role in [*ROLES, None]:
        client = client_for(getattr(world, role) if role else None)
        client.delete(base(world))
        client.post(occ(world) + "cancel/")

    assert list(ParticipantSession.objects.values_list("pk", "state", "left_at")) == before


def test_the_attendees_in_this_matrix_really_are_attendees(world):
    assert ParticipantSession.objects.filter(
        user=world.participant, occurrence__meeting=world.meeting, admitted_at__isnull=False
    ).exists()
    assert world.meeting.invitations.filter(email=world.invitee.email).exists()
