import pytest

from support import services
from support.models import Ticket, Topic
from tests.factories import UserFactory


@pytest.fixture
def make_ticket(db):
    """A ticket as the contact form stores it, without the emails."""

    def make(topic: str = Topic.SUPPORT, **fields: object) -> Ticket:
        values = {
            "name": "Ada Lovelace",
            "email": "ada@example.com",
            "topic": topic,
            "message": "My microphone is not detected.",
        } | fields
        return Ticket.objects.create(**values)

    return make


@pytest.fixture
def support_agent(db):
    return UserFactory(roles=["support"], email="agent@example.com", full_name="Sam Agent")


@pytest.fixture
def privacy_admin(db):
    return UserFactory(roles=["privacy_admin"], email="privacy@example.com")


@pytest.fixture
def finance(db):
    return UserFactory(roles=["finance"], email="finance@example.com")


@pytest.fixture
def open_ticket_via_service(db, django_capture_on_commit_callbacks):
    def open_(**fields: object) -> Ticket:
        values = {
            "name": "Ada Lovelace",
            "email": "ada@example.com",
            "topic": Topic.SUPPORT,
            "message": "Hello",
        } | fields
        with django_capture_on_commit_callbacks(execute=True):
            return services.open_ticket(**values)

    return open_
