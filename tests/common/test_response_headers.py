"""Every page names the browser features it may use; what one person sees is never cached."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.roles import PRIVACY_ADMIN
from common.response_headers import NOBODY
from meetings.models import ParticipantSession
from tests.factories import UserFactory
from tests.meetings.factories import MeetingFactory

pytestmark = pytest.mark.django_db


def directives(response) -> set[str]:
    return {part.strip() for part in response.get("Cache-Control", "").split(",") if part}


def policy(response) -> dict[str, str]:
    items = (item.strip().split("=", 1) for item in response["Permissions-Policy"].split(","))
    return dict(items)


def test_the_room_features_are_for_this_origin_only_and_everything_else_is_off(client):
    features = policy(client.get(reverse("home")))

    for feature in ("camera", "microphone", "display-capture"):
        assert features[feature] == "(self)"
    for feature in ("geolocation", "payment", "usb", "browsing-topics", *NOBODY):
        assert features[feature] == "()"


def test_a_public_page_for_an_anonymous_visitor_keeps_its_caching(client):
    response = client.get(reverse("privacy:policy"))

    assert response.status_code == 200
    assert "no-store" not in directives(response)


@pytest.fixture
def host(client):
    user = UserFactory(full_name="Hana Host")
    client.force_login(user)
    return user


@pytest.mark.parametrize("name", ["home", "accounts:settings", "meetings:dashboard"])
def test_a_signed_in_users_pages_are_private_and_not_stored(client, host, name):
    response = client.get(reverse(name))

    assert {"private", "no-store"} <= directives(response)
    assert "public" not in directives(response)


def test_the_meeting_page_with_its_passcode_is_private_and_not_stored(client, host):
    meeting = MeetingFactory(host=host)

    response = client.get(reverse("meetings:detail", kwargs={"public_id": meeting.public_id}))

    assert response.status_code == 200
    assert meeting.passcode in response.content.decode()
    assert {"private", "no-store"} <= directives(response)


def test_staff_pages_are_private_and_not_stored(client):
    client.force_login(UserFactory(roles=[PRIVACY_ADMIN]))

    response = client.get(reverse("staff"))

    assert {"private", "no-store"} <= directives(response)


def test_an_attendees_lobby_page_is_private_and_not_stored(db):
    meeting = MeetingFactory(host=UserFactory(), lobby_enabled=True)
    guest = Client()
    token = meeting.join_token
    guest.post(
        reverse("meetings:join", kwargs={"token": token}),
        {"display_name": "Ada Guest", "email": "ada@example.com", "passcode": meeting.passcode},
    )
    assert ParticipantSession.objects.filter(email="ada@example.com").exists()

    response = guest.get(reverse("meetings:lobby", kwargs={"token": token}))

    assert response.status_code == 200
    assert {"private", "no-store"} <= directives(response)
