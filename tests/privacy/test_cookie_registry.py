"""The cookie registry covers every cookie the site sets, and the banner version tracks it."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from privacy import cookies
from privacy.consent import selectors as consent_selectors
from privacy.cookies import CONSENT_COOKIE, JOIN_DETAILS_COOKIE, CookieCategory
from privacy.models import CookieConsent
from tests.factories import UserFactory
from tests.meetings.factories import MeetingFactory

ANALYTICS_SCRIPT = {
    "provider": "Example Analytics",
    "category": "analytics",
    "src": "https://analytics.example.net/a.js",
    "cookies": [{"name": "_ex_id", "purpose": "Counts visits.", "lifetime": "1 year"}],
}


def set_cookie_names(response) -> set[str]:
    return set(response.cookies.keys())


def walk_without_consent(client: Client, meeting) -> list[set[str]]:
    """Main pages and flows of a first-time visitor who has made no cookie choice."""
    too_young = (timezone.localdate() - timedelta(days=365 * 9)).isoformat()
    join_url = reverse("meetings:join", args=[meeting.join_token])
    responses = [
        client.get(reverse("home")),
        client.get(reverse("account_login")),
        client.get(reverse("accounts:age_screen")),
        client.post(reverse("accounts:age_screen"), {"date_of_birth": too_young}),
        client.get(reverse("privacy:cookie_settings")),
        client.get(join_url),
        client.post(join_url, {"display_name": "Ada Guest", "email": "ada@example.com"}),
        client.get(join_url),
    ]
    assert responses[3].cookies["signup_hold"].value, "the failed age check must hold"
    return [set_cookie_names(response) for response in responses]


@pytest.fixture
def meeting(db):
    return MeetingFactory(host=UserFactory(), passcode_required=False)


def test_before_consent_only_strictly_necessary_cookies_are_set(client, meeting):
    names = set().union(*walk_without_consent(client, meeting))

    assert names, "the walk should set at least the session and CSRF cookies"
    assert names <= cookies.necessary_names()
    assert JOIN_DETAILS_COOKIE not in client.cookies


def test_every_cookie_the_site_sets_is_in_the_registry(client, meeting):
    seen = set().union(*walk_without_consent(client, meeting))

    accept = client.post(reverse("privacy:cookie_consent"), {"action": "accept_all"})
    seen |= set_cookie_names(accept)
    # Joining again with preferences allowed sets the preferences cookie.
    seen |= set_cookie_names(
        client.post(
            reverse("meetings:join", args=[MeetingFactory(passcode_required=False).join_token]),
            {"display_name": "Ada Guest", "email": "ada@example.com"},
        )
    )
    seen |= set_cookie_names(
        client.post(reverse("privacy:cookie_consent"), {"action": "reject_all"})
    )
    seen |= set_cookie_names(client.get(reverse("privacy:cookie_settings")))

    assert {CONSENT_COOKIE, JOIN_DETAILS_COOKIE, "csrftoken", "signup_hold"} <= seen
    assert seen <= cookies.registered_names(), seen - cookies.registered_names()


def test_a_signed_in_walk_sets_only_registered_cookies(client, db):
    person = UserFactory()
    client.force_login(person)

    responses = [
        client.get(reverse("home")),
        client.get(reverse("accounts:settings")),
        client.get(reverse("privacy:cookie_settings")),
        client.post(
            reverse("privacy:cookie_consent"),
            {"action": "custom", "analytics": "on"},
            HTTP_SEC_GPC="1",
        ),
    ]

    names = set().union(*(set_cookie_names(r) for r in responses))
    assert names <= cookies.registered_names()


def test_the_necessary_category_lists_session_csrf_and_consent():
    necessary = {c.name for c in cookies.cookies_in(CookieCategory.NECESSARY)}
    assert {"sessionid", "csrftoken", CONSENT_COOKIE} <= necessary
    assert JOIN_DETAILS_COOKIE in {c.name for c in cookies.cookies_in(CookieCategory.PREFERENCES)}


def test_a_configured_script_and_its_cookies_join_the_registry(settings):
    settings.THIRD_PARTY_SCRIPTS = [ANALYTICS_SCRIPT]

    assert "_ex_id" in cookies.registered_names()
    (script,) = cookies.third_party_scripts()
    assert (script.category, script.provider) == (CookieCategory.ANALYTICS, "Example Analytics")


def test_a_script_cannot_claim_to_be_strictly_necessary(settings):
    settings.THIRD_PARTY_SCRIPTS = [ANALYTICS_SCRIPT | {"category": "necessary"}]

    with pytest.raises(ValueError, match="never strictly necessary"):
        cookies.third_party_scripts()


def test_the_banner_version_changes_when_what_is_asked_changes(settings):
    settings.THIRD_PARTY_SCRIPTS = []
    before = cookies.banner_version()
    assert cookies.banner_version() == before  # stable while nothing changes

    settings.THIRD_PARTY_SCRIPTS = [ANALYTICS_SCRIPT]

    after = cookies.banner_version()
    assert after != before
    assert len(after) <= 32  # fits CookieConsent.banner_version


def test_consent_to_an_older_banner_version_asks_again(client, db, settings):
    settings.THIRD_PARTY_SCRIPTS = []
    client.post(reverse("privacy:cookie_consent"), {"action": "reject_all"})
    assert 'id="cookie-banner"' not in client.get(reverse("home")).content.decode()
    first_id = consent_selectors.decode_choice(
        client.cookies[CONSENT_COOKIE].value.split(":")[0]
    ).consent_id

    settings.THIRD_PARTY_SCRIPTS = [ANALYTICS_SCRIPT]

    assert 'id="cookie-banner"' in client.get(reverse("home")).content.decode()
    client.post(reverse("privacy:cookie_consent"), {"action": "accept_all"})

    latest = CookieConsent.objects.first()
    assert latest.consent_id == first_id  # the same browser keeps its consent id
    assert latest.banner_version == cookies.banner_version()
