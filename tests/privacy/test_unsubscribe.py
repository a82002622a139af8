import re

import pytest
from django.core import mail, signing
from django.test import Client
from django.urls import reverse

from privacy import mailer, selectors, services
from privacy.email_categories import Category
from privacy.models import EmailPreference, OutgoingEmail
from privacy.tokens import make_unsubscribe_token

INVALID = "This unsubscribe link is not valid."
ONE_CLICK_BODY = "List-Unsubscribe=One-Click"
FORM = "application/x-www-form-urlencoded"


def unsubscribe_url(email="someone@example.com", category=Category.MEETING_REMINDERS):
    token = make_unsubscribe_token(email=email, category=category)
    return reverse("privacy:unsubscribe", args=[token])


def crafted_url(payload, salt="privacy.unsubscribe"):
    return reverse("privacy:unsubscribe", args=[signing.dumps(payload, salt=salt, compress=True)])


def tampered_url():
    token = make_unsubscribe_token(email="someone@example.com", category="meeting_reminders")
    last = "A" if token[-1] != "A" else "B"
    return reverse("privacy:unsubscribe", args=[token[:-1] + last])


def forged_payload_url():
    token = make_unsubscribe_token(email="someone@example.com", category="meeting_reminders")
    other = make_unsubscribe_token(email="victim@example.com", category="meeting_reminders")
    payload = other.split(":", 1)[0]
    return reverse("privacy:unsubscribe", args=[payload + ":" + token.split(":", 1)[1]])


def mail_provider():
    """A mail provider's one-click request: no cookies, no CSRF token."""
    return Client(enforce_csrf_checks=True)


def test_get_asks_for_confirmation_without_unsubscribing(client, db):
    response = client.get(unsubscribe_url("someone@example.com", Category.MEETING_REMINDERS))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Unsubscribe" in page
    assert "someone@example.com" in page
    assert "Meeting reminders" in page
    assert '<form method="post">' in page
    assert not EmailPreference.objects.exists()
    assert selectors.may_send(email="someone@example.com", category="meeting_reminders")


def test_get_does_not_touch_an_existing_opt_in(client, db):
    services.record_signup_choice(email="someone@example.com", marketing_opt_in=True)

    response = client.get(unsubscribe_url(category=Category.NEWSLETTER))

    assert response.status_code == 200
    assert selectors.preferences_for(email="someone@example.com")["newsletter"] is True


def test_head_does_not_unsubscribe(client, db):
    response = client.head(unsubscribe_url())

    assert response.status_code == 200
    assert not EmailPreference.objects.exists()


def test_one_click_post_without_cookies_unsubscribes(db):
    provider = mail_provider()

    response = provider.post(
        unsubscribe_url("someone@example.com", Category.MEETING_REMINDERS),
        data=ONE_CLICK_BODY,
        content_type=FORM,
    )

    assert response.status_code == 200
    assert "You are unsubscribed" in response.content.decode()
    row = EmailPreference.objects.get()
    assert row.email == "someone@example.com"
    assert row.category == Category.MEETING_REMINDERS
    assert row.subscribed is False
    assert row.source == EmailPreference.Source.ONE_CLICK


def test_one_click_post_as_multipart_form_unsubscribes(db):
    provider = mail_provider()

    response = provider.post(unsubscribe_url(), data={"List-Unsubscribe": "One-Click"})

    assert response.status_code == 200
    assert EmailPreference.objects.get().source == EmailPreference.Source.ONE_CLICK


def test_one_click_post_overrides_an_opt_in(db):
    services.record_signup_choice(email="someone@example.com", marketing_opt_in=True)

    response = mail_provider().post(
        unsubscribe_url(category=Category.NEWSLETTER), data=ONE_CLICK_BODY, content_type=FORM
    )

    assert response.status_code == 200
    choices = selectors.preferences_for(email="someone@example.com")
    assert choices["newsletter"] is False
    assert choices["promotions"] is True


def test_form_post_from_the_confirmation_page_unsubscribes(client, db):
    url = unsubscribe_url("someone@example.com", Category.SURVEYS)

    response = client.post(url)

    assert response.status_code == 200
    row = EmailPreference.objects.get()
    assert (row.email, row.category, row.subscribed) == ("someone@example.com", "surveys", False)
    assert row.source == EmailPreference.Source.UNSUBSCRIBE_LINK


def test_form_post_needs_no_csrf_token(db):
    browser = Client(enforce_csrf_checks=True)

    response = browser.post(unsubscribe_url())

    assert response.status_code == 200
    assert EmailPreference.objects.get().source == EmailPreference.Source.UNSUBSCRIBE_LINK


def test_unsubscribing_twice_keeps_one_row(db):
    provider = mail_provider()
    url = unsubscribe_url()

    first = provider.post(url, data=ONE_CLICK_BODY, content_type=FORM)
    second = provider.post(url, data=ONE_CLICK_BODY, content_type=FORM)

    assert first.status_code == second.status_code == 200
    assert EmailPreference.objects.count() == 1


def test_unsubscribe_stops_only_that_category(db):
    mail_provider().post(
        unsubscribe_url(category=Category.MEETING_REMINDERS),
        data=ONE_CLICK_BODY,
        content_type=FORM,
    )

    assert not selectors.may_send(email="someone@example.com", category="meeting_reminders")
    assert selectors.may_send(email="someone@example.com", category="transactional")
    assert EmailPreference.objects.filter(category="newsletter").count() == 0


def test_link_in_a_sent_email_unsubscribes_with_one_click(
    db, settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        mailer.send_email(
            to="Someone@Example.com",
            subject="Soon",
            text="Soon.",
            category=Category.MEETING_REMINDERS,
        )
    [message] = mail.outbox
    header = message.extra_headers["List-Unsubscribe"]
    path = header.removeprefix("<" + settings.SITE_URL).removesuffix(">")

    response = mail_provider().post(path, data=ONE_CLICK_BODY, content_type=FORM)

    assert response.status_code == 200
    assert not selectors.may_send(email="someone@example.com", category="meeting_reminders")
    with django_capture_on_commit_callbacks(execute=True):
        again = mailer.send_email(
            to="someone@example.com", subject="Soon", text="Soon.", category="meeting_reminders"
        )
    again.refresh_from_db()
    assert again.status == OutgoingEmail.Status.SUPPRESSED
    assert len(mail.outbox) == 1


BAD_URLS = {
    "tampered signature": tampered_url,
    "forged payload": forged_payload_url,
    "garbage": lambda: reverse("privacy:unsubscribe", args=["not-a-token"]),
    "wrong salt": lambda: crafted_url(
        {"e": "someone@example.com", "c": "meeting_reminders"}, salt="other"
    ),
    "transactional category": lambda: crafted_url(
        {"e": "someone@example.com", "c": "transactional"}
    ),
    "unknown category": lambda: crafted_url({"e": "someone@example.com", "c": "spam"}),
    "missing address": lambda: crafted_url({"c": "meeting_reminders"}),
    "not a dict": lambda: crafted_url(["someone@example.com", "meeting_reminders"]),
}


@pytest.mark.parametrize("make_url", BAD_URLS.values(), ids=BAD_URLS.keys())
def test_get_with_bad_token_is_rejected(client, db, make_url):
    response = client.get(make_url())

    assert response.status_code == 400
    page = response.content.decode()
    assert "This link does not work" in page
    assert INVALID in page
    assert not EmailPreference.objects.exists()


@pytest.mark.parametrize("make_url", BAD_URLS.values(), ids=BAD_URLS.keys())
def test_one_click_post_with_bad_token_changes_nothing(db, make_url):
    response = mail_provider().post(make_url(), data=ONE_CLICK_BODY, content_type=FORM)

    assert response.status_code == 400
    assert INVALID in response.content.decode()
    assert not EmailPreference.objects.exists()


@pytest.mark.parametrize("make_url", BAD_URLS.values(), ids=BAD_URLS.keys())
def test_form_post_with_bad_token_changes_nothing(client, db, make_url):
    response = client.post(make_url())

    assert response.status_code == 400
    assert INVALID in response.content.decode()
    assert not EmailPreference.objects.exists()


def test_transactional_mail_cannot_be_unsubscribed_by_forged_link(
    client, db, django_capture_on_commit_callbacks
):
    url = crafted_url({"e": "someone@example.com", "c": "transactional"})

    response = client.post(url, data=ONE_CLICK_BODY, content_type=FORM)

    assert response.status_code == 400
    with django_capture_on_commit_callbacks(execute=True):
        mailer.send_email(
            to="someone@example.com", subject="Receipt", text="Thanks.", category="transactional"
        )
    assert len(mail.outbox) == 1


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_other_methods_are_not_allowed(db, method):
    response = getattr(mail_provider(), method)(unsubscribe_url())

    assert response.status_code == 405
    assert sorted(response["Allow"].split(", ")) == ["GET", "HEAD", "POST"]
    assert not EmailPreference.objects.exists()


def test_get_writes_no_consent_and_queues_no_task(client, db, django_capture_on_commit_callbacks):
    from privacy.models import EmailConsentEvent

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.get(unsubscribe_url())

    assert response.status_code == 200
    assert callbacks == []
    assert not EmailConsentEvent.objects.exists()


def test_confirmation_page_links_to_all_choices_without_sending_mail(
    db, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = mail_provider().post(
            unsubscribe_url("someone@example.com", Category.SURVEYS),
            data=ONE_CLICK_BODY,
            content_type=FORM,
        )

    link = re.search(r'href="(/privacy/email-preferences/[^"]+/)"', response.content.decode())
    assert link
    page = Client().get(link.group(1))
    assert page.status_code == 200
    assert "someone@example.com" in page.content.decode()
    assert mail.outbox == []
