"""Every form field whose value becomes an email header refuses control characters."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.forms import ProfileForm, SignupProfileForm
from accounts.roles import MARKETING
from common.header_text import MESSAGE
from meetings.forms import JoinForm
from privacy.models import Newsletter, OutgoingEmail
from privacy.newsletter import services as newsletter_services
from privacy.newsletter.forms import NewsletterForm
from privacy.requests.forms import CcpaRequestForm, ShineTheLightForm
from support.forms import ContactForm
from tests.factories import UserFactory

BAD = [
    "Hello\r\nBcc: everyone@example.com",
    "Hello\nthere",
    "Tab\tinside",
    "Null\x00byte",
    "Escape\x1b[31m",
    "C1\x85next line",
    "Unicode\u2028line separator",
]

FORMS = [
    (NewsletterForm, {}, "subject"),
    (SignupProfileForm, {}, "full_name"),
    (ProfileForm, {}, "full_name"),
    (ContactForm, {}, "name"),
    (JoinForm, {"ask_identity": True, "ask_passcode": False}, "display_name"),
    (CcpaRequestForm, {}, "name"),
    (CcpaRequestForm, {}, "full_name"),
    (ShineTheLightForm, {}, "name"),
]


@pytest.mark.parametrize("value", BAD)
@pytest.mark.parametrize(
    ("form_class", "kwargs", "field"), FORMS, ids=[f"{f.__name__}.{n}" for f, _, n in FORMS]
)
def test_a_header_field_refuses_control_characters(form_class, kwargs, field, value, db):
    form = form_class(data={field: value}, **kwargs)

    assert not form.is_valid()
    assert MESSAGE in form.errors[field]


@pytest.mark.parametrize(
    ("form_class", "kwargs", "field"), FORMS, ids=[f"{f.__name__}.{n}" for f, _, n in FORMS]
)
def test_ordinary_names_with_accents_and_punctuation_pass(form_class, kwargs, field, db):
    form = form_class(data={field: "  Zoë O'Brien-Łukasz — “Spring” ✨  "}, **kwargs)

    form.is_valid()

    assert field not in form.errors


@pytest.fixture
def marketer_client(client, db):
    marketer = UserFactory(email="marketer@example.com", roles=[MARKETING])
    client.force_login(marketer)
    return client, marketer


def test_a_newsletter_subject_with_a_line_break_is_a_form_error(marketer_client):
    client, _ = marketer_client

    response = client.post(
        reverse("newsletter:staff_new"),
        {"subject": "Spring\r\nBcc: all@example.com", "body_markdown": "Hello"},
    )

    assert response.status_code == 400
    assert MESSAGE in response.content.decode()
    assert not Newsletter.objects.exists()


def test_editing_a_draft_refuses_a_line_break_and_keeps_the_draft(marketer_client):
    client, marketer = marketer_client
    draft = newsletter_services.create_draft(
        subject="Spring", body_markdown="Hello", created_by=marketer
    )

    response = client.post(
        reverse("newsletter:staff_edit", args=[draft.pk]),
        {"subject": "Spring\nnews", "body_markdown": "Hello"},
    )

    assert response.status_code == 400
    assert MESSAGE in response.content.decode()
    draft.refresh_from_db()
    assert draft.subject == "Spring"
    assert not OutgoingEmail.objects.exists()


def test_the_contact_page_refuses_a_name_with_a_line_break(client, db):
    response = client.post(
        reverse("support:contact"),
        {
            "name": "Eve\r\nBcc: all@example.com",
            "email": "eve@example.com",
            "topic": "other",
            "message": "Hello",
        },
    )

    assert response.status_code in (200, 400)
    assert MESSAGE in response.content.decode()
    assert not OutgoingEmail.objects.exists()
