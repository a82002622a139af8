import re

import pytest
from django.test import Client
from django.urls import reverse

from privacy import selectors, services
from privacy.email_categories import SUBSCRIPTIONS
from privacy.models import EmailPreference
from tests.factories import UserFactory

URL = reverse("privacy:email_preferences")


def checkboxes(response):
    """Each checkbox on the page, by name, mapped to whether it is ticked."""
    inputs = re.findall(r"<input [^>]*>", response.content.decode())
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
