"""The public request forms: account holders re-authenticate, visitors verify by a link."""

import pytest
from django.core import mail
from django.urls import reverse

from privacy.models import PrivacyRequest
from tests.factories import UserFactory
from tests.privacy import request_helpers
from tests.privacy.request_helpers import path_in, reauthenticate

committed = request_helpers.committed  # a fixture shared by the request tests

NEW_URL = reverse("privacy:request_new")
STL_URL = reverse("privacy:california_request")
SENT_URL = reverse("privacy:request_sent")
State = PrivacyRequest.State


def visitor_form(**overrides):
    return {
        "kind": "access",
        "name": "Ada Visitor",
        "email": "Ada@Example.com",
        "california_resident": "on",
    } | overrides


def link_in(message) -> str:
    return path_in(message.body, "/privacy/requests/verify/")


@pytest.mark.django_db
def test_a_signed_in_account_holder_must_sign_in_again_first(client):
    user = UserFactory()
    client.force_login(user)

    response = client.get(NEW_URL)
    posted = client.post(NEW_URL, {"kind": "access", "california_resident": "on"})

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_reauthenticate"))
    assert posted.status_code == 302
    assert posted.url.startswith(reverse("account_reauthenticate"))
    assert not PrivacyRequest.objects.exists()


@pytest.mark.django_db
def test_after_re_authentication_the_request_is_received_for_the_account(
    client, mailoutbox, committed
):
    user = UserFactory(email="holder@example.com")
    reauthenticate(client, user)

    page = client.get(NEW_URL)
    response = committed(client.post, NEW_URL, {"kind": "delete", "california_resident": "on"})

    assert page.status_code == 200
    assert 'name="email"' not in page.content.decode()
    assert response.status_code == 302 and response.url == SENT_URL
    request = PrivacyRequest.objects.get()
    assert request.state == State.RECEIVED
    assert request.user == user and request.email == "holder@example.com"
    assert request.channel == PrivacyRequest.Channel.WEB_FORM
    assert request.verified_at is not None
    assert [m.subject for m in mailoutbox] == [f"We received your request [{request.reference}]"]
    sent = client.get(SENT_URL)
    assert request.reference in sent.content.decode()
    assert request.due_on.strftime("%-d %B %Y") in sent.content.decode()


@pytest.mark.django_db
def test_a_visitor_request_waits_for_the_magic_link(client, mailoutbox, committed):
    response = committed(client.post, NEW_URL, visitor_form())

    assert response.status_code == 302
    request = PrivacyRequest.objects.get()
    assert request.state == State.UNVERIFIED
    assert request.user is None and request.email == "ada@example.com"
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["ada@example.com"]
    assert "/privacy/requests/verify/" in mailoutbox[0].body
    sent = client.get(SENT_URL).content.decode()
    assert request.reference in sent and "Open the link in it" in sent


@pytest.mark.django_db
def test_opening_the_link_only_asks_and_posting_confirms(client, mailoutbox, committed):
    committed(client.post, NEW_URL, visitor_form())
    link = link_in(mailoutbox[0])

    shown = client.get(link)

    assert shown.status_code == 200
    assert "Confirm your request" in shown.content.decode()
    assert PrivacyRequest.objects.get().state == State.UNVERIFIED

    confirmed = committed(client.post, link)

    assert confirmed.status_code == 200
    request = PrivacyRequest.objects.get()
    assert request.state in (State.RECEIVED, State.IN_PROGRESS, State.COMPLETED)
    assert request.verified_at is not None
    assert request.reference in confirmed.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["get", "post"])
def test_a_bad_verification_token_is_a_400_with_the_reason(client, method):
    response = getattr(client, method)(reverse("privacy:request_verify", args=["nonsense"]))

    assert response.status_code == 400
    assert "This link is not valid." in response.content.decode()


@pytest.mark.django_db
def test_a_correction_names_the_fields_and_values(client):
    user = UserFactory()
    reauthenticate(client, user)

    response = client.post(
        NEW_URL,
        {
            "kind": "correct",
            "correct_fields": ["full_name", "time_zone"],
            "full_name": "Ada Lovelace",
            "time_zone": "America/Los_Angeles",
            "company": "ignored, not ticked",
            "california_resident": "on",
        },
    )

    assert response.status_code == 302
    request = PrivacyRequest.objects.get()
    assert request.details == {
        "changes": {"full_name": "Ada Lovelace", "time_zone": "America/Los_Angeles"}
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    "fields, error_field",
    [
        ({"correct_fields": []}, "correct_fields"),
        ({"correct_fields": ["time_zone"], "time_zone": "Mars/Olympus"}, "time_zone"),
        ({"correct_fields": ["full_name"], "full_name": "  "}, "full_name"),
    ],
)
def test_a_correction_without_usable_values_is_a_form_error(client, fields, error_field):
    response = client.post(NEW_URL, visitor_form(kind="correct", **fields))

    assert response.status_code == 400
    assert response.context["form"].errors[error_field]
    assert not PrivacyRequest.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "overrides, error_field",
    [
        ({"california_resident": ""}, "california_resident"),
        ({"email": "not-an-address"}, "email"),
        ({"kind": "shine_the_light"}, "kind"),  # has its own form
        ({"name": ""}, "name"),
    ],
)
def test_bad_visitor_input_is_a_form_error(client, overrides, error_field, mailoutbox):
    response = client.post(NEW_URL, visitor_form(**overrides))

    assert response.status_code == 400
    assert response.context["form"].errors[error_field]
    assert not PrivacyRequest.objects.exists() and not mailoutbox


@pytest.mark.django_db
def test_too_many_requests_from_one_client_are_refused_with_429(client):
    for _ in range(5):
        assert client.post(NEW_URL, visitor_form()).status_code == 302

    response = client.post(NEW_URL, visitor_form())

    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "several requests in a short time" in response.content.decode()
    assert PrivacyRequest.objects.count() == 5
    # Another client is not held back.
    other = client.post(NEW_URL, visitor_form(), REMOTE_ADDR="203.0.113.9")
    assert other.status_code == 302


@pytest.mark.django_db
def test_the_sent_page_without_a_submission_goes_to_the_form(client):
    response = client.get(SENT_URL)

    assert response.status_code == 302 and response.url == NEW_URL


@pytest.mark.django_db
def test_the_shine_the_light_form_requires_the_residence_statement(client, mailoutbox):
    response = client.post(STL_URL, {"name": "Cal", "email": "cal@example.com"})

    assert response.status_code == 400
    assert response.context["form"].errors["california_resident"]
    assert not PrivacyRequest.objects.exists() and not mail.outbox


@pytest.mark.django_db
def test_the_shine_the_light_form_says_it_is_free(client):
    page = client.get(STL_URL).content.decode()

    assert "free of charge" in page.lower()
    assert 'name="postal_address"' in page
