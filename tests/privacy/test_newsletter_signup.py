"""Newsletter sign-up with double opt-in: no confirmation, no newsletter."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail, signing
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from privacy import mailer, selectors, services
from privacy.email_categories import Category
from privacy.models import EmailConsentEvent, EmailPreference, NewsletterSignup, OutgoingEmail
from privacy.newsletter.views import SIGNUP_ATTEMPTS
from privacy.tokens import make_newsletter_confirm_token, make_preferences_token
from tests.factories import UserFactory

SIGNUP = reverse("newsletter:signup")
SITE_URL = "https://confer.example.test"


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = SITE_URL


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    return lambda: django_capture_on_commit_callbacks(execute=True)


def sign_up(client, commit, email="reader@example.com", **extra):
    with commit():
        return client.post(SIGNUP, {"email": email}, **extra)


def confirm_path(message):
    match = re.search(rf"{re.escape(SITE_URL)}(/newsletter/confirm/[^/\s]+/)", message.body)
    assert match, message.body
    return match.group(1)


def newsletter_issue(commit, to="reader@example.com"):
    with commit():
        outgoing = mailer.send_email(
            to=to, subject="News", text="News.", category=Category.NEWSLETTER
        )
    outgoing.refresh_from_db()
    return outgoing


def test_signup_page_says_what_and_how_often_and_links_the_policy(client, db):
    response = client.get(SIGNUP)

    assert response.status_code == 200
    page = response.content.decode()
    assert "a few times a year" in page
    assert "unsubscribe" in page.lower()
    assert f'href="{reverse("privacy:policy")}"' in page
    assert 'name="email"' in page
    assert "csrfmiddlewaretoken" in page


def test_footer_links_to_the_newsletter(client, db):
    response = client.get(reverse("privacy:policy"))

    assert f'href="{SIGNUP}">Newsletter</a>' in response.content.decode()


def test_signup_sends_one_transactional_confirmation(client, db, commit):
    response = sign_up(client, commit, email="Reader@Example.com")

    assert response.status_code == 302
    assert response.url == reverse("newsletter:signup_sent")
    [message] = mail.outbox
    assert message.to == ["reader@example.com"]
    assert "Confirm" in message.subject
    assert "List-Unsubscribe" not in message.extra_headers
    path = confirm_path(message)
    assert path in next(body for body, mime in message.alternatives if mime == "text/html")
    assert OutgoingEmail.objects.get().category == Category.TRANSACTIONAL
    signup = NewsletterSignup.objects.get()
    assert (signup.email, signup.confirmations_sent, signup.confirmed_at) == (
        "reader@example.com",
        1,
        None,
    )


def test_an_unconfirmed_address_gets_no_newsletter(client, db, commit):
    sign_up(client, commit)
    mail.outbox.clear()

    outgoing = newsletter_issue(commit)

    assert not selectors.may_send(email="reader@example.com", category="newsletter")
    assert outgoing.status == OutgoingEmail.Status.SUPPRESSED
    assert mail.outbox == []


def test_following_the_link_only_asks(client, db, commit):
    sign_up(client, commit)
    path = confirm_path(mail.outbox[0])

    response = client.get(path)

    assert response.status_code == 200
    page = response.content.decode()
    assert "reader@example.com" in page
    assert '<form method="post">' in page
    assert NewsletterSignup.objects.get().confirmed_at is None
    assert not EmailPreference.objects.exists()
    assert not EmailConsentEvent.objects.exists()


def test_pressing_confirm_subscribes_and_logs_the_consent(client, db, commit):
    sign_up(client, commit)
    path = confirm_path(mail.outbox[0])
    mail.outbox.clear()

    response = client.post(path)

    assert response.status_code == 200
    assert "You are subscribed" in response.content.decode()
    assert NewsletterSignup.objects.get().confirmed_at is not None
    row = EmailPreference.objects.get()
    assert (row.category, row.subscribed, row.source) == ("newsletter", True, "double_opt_in")
    event = EmailConsentEvent.objects.get()
    assert (event.email, event.category, event.subscribed, event.source) == (
        "reader@example.com",
        "newsletter",
        True,
        "double_opt_in",
    )
    assert newsletter_issue(commit).status == OutgoingEmail.Status.SENT
    assert len(mail.outbox) == 1


def test_confirm_needs_the_csrf_token(db, commit):
    sign_up(Client(), commit)
    browser = Client(enforce_csrf_checks=True)

    response = browser.post(confirm_path(mail.outbox[0]))

    assert response.status_code == 403
    assert not EmailPreference.objects.exists()


def test_confirming_twice_logs_one_consent(client, db, commit):
    sign_up(client, commit)
    path = confirm_path(mail.outbox[0])

    client.post(path)
    client.post(path)

    assert EmailConsentEvent.objects.count() == 1


def test_an_expired_link_is_refused(client, db, commit):
    sign_up(client, commit)
    path = confirm_path(mail.outbox[0])

    with time_machine.travel(timezone.now() + timedelta(days=7, minutes=1)):
        shown = client.get(path)
        posted = client.post(path)

    assert shown.status_code == posted.status_code == 400
    assert "This link has expired" in posted.content.decode()
    assert not EmailPreference.objects.exists()


def test_a_link_still_works_on_its_last_day(client, db, commit):
    sign_up(client, commit)
    path = confirm_path(mail.outbox[0])

    with time_machine.travel(timezone.now() + timedelta(days=6, hours=23)):
        response = client.post(path)

    assert response.status_code == 200
    assert selectors.may_send(email="reader@example.com", category="newsletter")


BAD_TOKENS = {
    "tampered": lambda: make_newsletter_confirm_token(email="reader@example.com")[:-2] + "xx",
    "preferences token": lambda: make_preferences_token(email="reader@example.com"),
    "garbage": lambda: "nonsense",
    "not a dict": lambda: signing.dumps("reader@example.com", salt="privacy.newsletter.confirm"),
}


@pytest.mark.parametrize("make_token", BAD_TOKENS.values(), ids=BAD_TOKENS.keys())
def test_a_bad_link_is_refused(client, db, make_token):
    NewsletterSignup.objects.create(email="reader@example.com", requested_at=timezone.now())
    path = reverse("newsletter:confirm", args=[make_token()])

    response = client.post(path)

    assert response.status_code == 400
    assert "This confirmation link is not valid." in response.content.decode()
    assert not EmailPreference.objects.exists()


def test_a_link_for_an_erased_signup_is_refused(client, db, commit):
    sign_up(client, commit)
    path = confirm_path(mail.outbox[0])
    services.erase_email(email="reader@example.com")

    response = client.post(path)

    assert response.status_code == 400
    assert "no longer valid" in response.content.decode()
    assert not EmailPreference.objects.exists()


def test_the_answer_does_not_tell_whether_an_address_is_subscribed(client, db, commit):
    services.set_subscription(
        email="known@example.com", category="newsletter", subscribed=True, source="staff"
    )

    known = sign_up(client, commit, email="known@example.com")
    unknown = sign_up(client, commit, email="unknown@example.com")

    assert (known.status_code, known.url) == (unknown.status_code, unknown.url)
    assert sorted(m.to[0] for m in mail.outbox) == ["known@example.com", "unknown@example.com"]
    page = client.get(known.url).content.decode()
    assert "known@example.com" not in page


@pytest.mark.parametrize("email", ["", "not-an-address", "a@" + "b" * 260 + ".com"])
def test_a_bad_address_gets_a_form_error(client, db, commit, email):
    response = sign_up(client, commit, email=email)

    assert response.status_code == 400
    assert 'class="errors"' in response.content.decode()
    assert mail.outbox == []
    assert not NewsletterSignup.objects.exists()


def test_at_most_three_confirmations_a_day_per_address(client, db, commit):
    for _ in range(3):
        assert sign_up(client, commit).status_code == 302

    refused = sign_up(client, commit, email="READER@example.com")

    assert refused.status_code == 429
    assert "three confirmation emails" in refused.content.decode()
    assert len(mail.outbox) == 3
    assert NewsletterSignup.objects.get().confirmations_sent == 3
    assert sign_up(client, commit, email="other@example.com").status_code == 302


def test_the_allowance_comes_back_the_next_day(client, db, commit):
    for _ in range(3):
        sign_up(client, commit)

    with time_machine.travel(timezone.now() + timedelta(days=1, minutes=1)):
        again = sign_up(client, commit)

    assert again.status_code == 302
    assert len(mail.outbox) == 4
    assert NewsletterSignup.objects.get().confirmations_sent == 1


def test_one_client_is_slowed_down(client, db, commit):
    for n in range(SIGNUP_ATTEMPTS.max_hits):
        assert sign_up(client, commit, email=f"reader{n}@example.com").status_code == 302

    refused = sign_up(client, commit, email="one-more@example.com")

    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert "Too many sign-up attempts" in refused.content.decode()
    assert len(mail.outbox) == SIGNUP_ATTEMPTS.max_hits
    other_client = sign_up(client, commit, email="elsewhere@example.com", REMOTE_ADDR="192.0.2.99")
    assert other_client.status_code == 302


def test_signed_in_visitors_are_pointed_to_their_preferences(client, db):
    client.force_login(UserFactory())

    response = client.get(SIGNUP)

    assert f'href="{reverse("privacy:email_preferences")}"' in response.content.decode()


def test_a_confirmed_subscriber_who_left_can_come_back(client, db, commit):
    sign_up(client, commit)
    client.post(confirm_path(mail.outbox[-1]))
    services.unsubscribe(email="reader@example.com", category="newsletter", source="one_click")
    sign_up(client, commit)

    client.post(confirm_path(mail.outbox[-1]))

    assert selectors.may_send(email="reader@example.com", category="newsletter")


@pytest.mark.parametrize("method", ["put", "delete"])
def test_other_methods_are_not_allowed(client, db, method):
    assert getattr(client, method)(SIGNUP).status_code == 405
