import re

import pytest
from django.core import signing
from django.test import Client
from django.urls import reverse

from privacy import selectors, services
from privacy.email_categories import SUBSCRIPTIONS
from privacy.forms import UNVERIFIED_OPT_IN
from privacy.models import EmailConsentEvent, EmailPreference
from privacy.tokens import make_preferences_token, make_unsubscribe_token
from tests.factories import UserFactory

URL = reverse("privacy:email_preferences")


def checkboxes(response):
    """Each checkbox of the preferences form, by name, mapped to whether it is ticked."""
    page = response.content.decode()
    form = re.search(r'<form [^>]*class="email-preferences".*?</form>', page, re.S).group(0)
    inputs = re.findall(r"<input [^>]*>", form)
    boxes = {}
    for tag in inputs:
        if 'type="checkbox"' in tag:
            name = re.search(r'name="([^"]+)"', tag).group(1)
            boxes[name] = bool(re.search(r"\schecked\b", tag))
    return boxes


def test_anonymous_visitor_is_sent_to_login(client, db):
    response = client.get(URL)

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))
    assert "next=" in response.url


def test_anonymous_post_saves_nothing(client, db):
    response = client.post(URL, {"newsletter": "on"})

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))
    assert not EmailPreference.objects.exists()


def test_page_shows_one_checkbox_per_subscription_with_defaults(signed_in, user):
    response = signed_in.get(URL)

    assert response.status_code == 200
    assert checkboxes(response) == {
        "newsletter": False,
        "meeting_reminders": True,
        "promotions": False,
        "surveys": False,
        "usage_summary": False,
    }
    page = response.content.decode()
    for item in SUBSCRIPTIONS:
        assert item.category.label in page
    assert user.email in page


def test_transactional_mail_is_not_a_choice(signed_in):
    response = signed_in.get(URL)

    assert "transactional" not in checkboxes(response)
    assert "Account and service messages" not in response.content.decode()


def test_page_shows_saved_choices(signed_in, user):
    services.record_signup_choice(email=user.email, marketing_opt_in=True)
    services.unsubscribe(
        email=user.email, category="meeting_reminders", source=services.Source.ONE_CLICK
    )

    response = signed_in.get(URL)

    assert checkboxes(response) == {
        "newsletter": True,
        "meeting_reminders": False,
        "promotions": True,
        "surveys": False,
        "usage_summary": False,
    }


def test_post_saves_choices(signed_in, user):
    response = signed_in.post(URL, {"newsletter": "on", "surveys": "on"})

    assert response.status_code == 302
    assert response.url == URL
    assert selectors.preferences_for(email=user.email) == {
        "newsletter": True,
        "meeting_reminders": False,
        "promotions": False,
        "surveys": True,
        "usage_summary": False,
    }
    rows = EmailPreference.objects.filter(email=user.email)
    assert rows.count() == len(SUBSCRIPTIONS)
    assert {row.source for row in rows} == {EmailPreference.Source.PREFERENCES}


def test_saved_choices_govern_sending(signed_in, user):
    signed_in.post(URL, {"promotions": "on"})

    assert selectors.may_send(email=user.email, category="promotions")
    assert not selectors.may_send(email=user.email, category="meeting_reminders")
    assert not selectors.may_send(email=user.email, category="newsletter")
    assert selectors.may_send(email=user.email, category="transactional")


def test_save_confirms_and_shows_new_choices(signed_in):
    response = signed_in.post(URL, {"newsletter": "on"}, follow=True)

    assert response.status_code == 200
    assert "Your email preferences are saved." in response.content.decode()
    assert checkboxes(response) == {
        "newsletter": True,
        "meeting_reminders": False,
        "promotions": False,
        "surveys": False,
        "usage_summary": False,
    }


def test_unticking_every_box_in_a_browser_saves_all_off(user):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    browser.get(URL)
    token = browser.cookies["csrftoken"].value

    response = browser.post(URL, {"csrfmiddlewaretoken": token})

    assert response.status_code == 302
    assert selectors.preferences_for(email=user.email) == {
        item.category: False for item in SUBSCRIPTIONS
    }


def test_post_without_csrf_token_is_refused(user):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)

    response = browser.post(URL, {"newsletter": "on"})

    assert response.status_code == 403
    assert not EmailPreference.objects.exists()


def test_choices_apply_to_the_signed_in_users_address_only(client, db):
    me = UserFactory(email="me@example.com")
    other = UserFactory(email="other@example.com")
    services.record_signup_choice(email=other.email, marketing_opt_in=True)
    client.force_login(me)

    client.post(URL, {"surveys": "on", "email": other.email})

    saved_for = EmailPreference.objects.filter(source="preferences").values_list("email")
    assert set(saved_for) == {("me@example.com",)}
    assert selectors.preferences_for(email="me@example.com")["surveys"] is True
    assert selectors.preferences_for(email="other@example.com") == {
        "newsletter": True,
        "meeting_reminders": True,
        "promotions": True,
        "surveys": False,
        "usage_summary": False,
    }


def test_page_follows_a_change_of_address(client, db):
    user = UserFactory(email="old@example.com")
    client.force_login(user)
    client.post(URL, {"newsletter": "on"})
    user.email = "new@example.com"
    user.save()

    response = client.get(URL)

    assert "new@example.com" in response.content.decode()
    assert checkboxes(response)["newsletter"] is False


def test_unknown_fields_are_ignored(signed_in, user):
    signed_in.post(URL, {"transactional": "", "meeting_reminders": "on"})

    assert not EmailPreference.objects.filter(category="transactional").exists()
    assert selectors.may_send(email=user.email, category="transactional")


@pytest.mark.parametrize("method", ["put", "delete"])
def test_other_methods_are_not_allowed(signed_in, method):
    response = getattr(signed_in, method)(URL)

    assert response.status_code == 405


# Through the signed link in an email, without signing in ------------------------------


def link_for(email):
    return reverse("privacy:email_preferences_link", args=[make_preferences_token(email=email)])


def test_signed_link_shows_the_same_form_without_signing_in(client, db):
    services.set_subscription(
        email="reader@example.com", category="surveys", subscribed=True, source="staff"
    )

    response = client.get(link_for("Reader@Example.com"))

    assert response.status_code == 200
    page = response.content.decode()
    assert "reader@example.com" in page
    assert checkboxes(response) == {
        "newsletter": False,
        "meeting_reminders": True,
        "promotions": False,
        "surveys": True,
        "usage_summary": False,
    }
    assert "Always sent" in page
    assert "transactional" not in checkboxes(response)


def test_signed_link_saves_choices_for_that_address_and_logs_them(client, db):
    url = link_for("reader@example.com")

    response = client.post(url, {"newsletter": "on"}, follow=True)

    assert response.redirect_chain == [(url, 302)]
    assert "Your email preferences are saved." in response.content.decode()
    assert selectors.preferences_for(email="reader@example.com") == {
        "newsletter": True,
        "meeting_reminders": False,
        "promotions": False,
        "surveys": False,
        "usage_summary": False,
    }
    newsletter = EmailConsentEvent.objects.get(category="newsletter")
    assert (newsletter.email, newsletter.subscribed, newsletter.source) == (
        "reader@example.com",
        True,
        "preferences",
    )


def test_signed_link_post_needs_the_csrf_token(db):
    browser = Client(enforce_csrf_checks=True)

    response = browser.post(link_for("reader@example.com"), {"newsletter": "on"})

    assert response.status_code == 403
    assert not EmailPreference.objects.exists()


def tampered(token):
    return token[:-1] + ("A" if token[-1] != "A" else "B")


BAD_LINKS = {
    "tampered": lambda: reverse(
        "privacy:email_preferences_link",
        args=[tampered(make_preferences_token(email="reader@example.com"))],
    ),
    "unsubscribe token": lambda: reverse(
        "privacy:email_preferences_link",
        args=[make_unsubscribe_token(email="reader@example.com", category="surveys")],
    ),
    "garbage": lambda: reverse("privacy:email_preferences_link", args=["nonsense"]),
    "no address": lambda: reverse(
        "privacy:email_preferences_link",
        args=[signing.dumps({"e": 3}, salt="privacy.email_preferences")],
    ),
}


@pytest.mark.parametrize("make_url", BAD_LINKS.values(), ids=BAD_LINKS.keys())
def test_bad_signed_link_is_refused(client, db, make_url):
    url = make_url()

    shown = client.get(url)
    posted = client.post(url, {"newsletter": "on"})

    assert shown.status_code == posted.status_code == 400
    assert "This preferences link is not valid." in shown.content.decode()
    assert not EmailPreference.objects.exists()


def test_preferences_token_cannot_unsubscribe(client, db):
    token = make_preferences_token(email="reader@example.com")

    response = client.post(reverse("privacy:unsubscribe", args=[token]))

    assert response.status_code == 400
    assert not EmailPreference.objects.exists()


# Accounts whose address is not verified ------------------------------------------------


@pytest.fixture
def unverified(client, db):
    person = UserFactory(email="new@example.com", verified=False)
    client.force_login(person)
    return client


def test_unverified_account_cannot_opt_in_to_marketing(unverified):
    response = unverified.post(URL, {"newsletter": "on", "meeting_reminders": "on"})

    assert response.status_code == 400
    assert UNVERIFIED_OPT_IN in response.content.decode()
    assert not EmailPreference.objects.exists()
    assert not EmailConsentEvent.objects.exists()


def test_unverified_account_may_still_stop_mail(unverified):
    response = unverified.post(URL, {})

    assert response.status_code == 302
    assert not selectors.may_send(email="new@example.com", category="meeting_reminders")


def test_unverified_account_is_told_why(unverified):
    response = unverified.get(URL)

    assert "not confirmed yet" in response.content.decode()


def test_verified_account_subscribes_directly(signed_in, user):
    signed_in.post(URL, {"newsletter": "on"})

    assert selectors.may_send(email=user.email, category="newsletter")
