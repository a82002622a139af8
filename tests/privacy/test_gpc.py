"""Global Privacy Control: the header, the page's signal, the standing opt-out, gpc.json."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from privacy.consent import selectors
from privacy.cookies import CONSENT_COOKIE
from privacy.models import CookieConsent, SaleSharingOptOut

CONSENT_URL = reverse("privacy:cookie_consent")
SETTINGS_URL = reverse("privacy:cookie_settings")
GPC_URL = reverse("privacy:gpc_signal")
HONORED = "Opt-out preference signal honored"
MARKETING = {
    "provider": "Example Ads",
    "category": "marketing",
    "src": "https://ads.example.net/ads.js",
    "cookies": [{"name": "_ads", "purpose": "Recognises browsers.", "lifetime": "1 year"}],
}


def stored(client: Client) -> selectors.StoredChoice:
    return selectors.decode_choice(client.cookies[CONSENT_COOKIE].value.split(":")[0])


def test_the_header_records_a_signed_in_users_opt_out_and_it_is_shown(signed_in, user):
    signed_in.get("/", HTTP_SEC_GPC="1")

    opt_out = SaleSharingOptOut.objects.get(user=user)
    assert opt_out.source == SaleSharingOptOut.Source.GPC
    assert opt_out.last_signal_at == opt_out.opted_out_at
    account_page = signed_in.get(reverse("accounts:settings")).content.decode()
    assert HONORED in account_page
    assert HONORED in signed_in.get(SETTINGS_URL).content.decode()


def test_a_later_request_without_the_signal_neither_undoes_it_nor_consents(signed_in, user):
    signed_in.get("/", HTTP_SEC_GPC="1")

    html = signed_in.get("/", follow=True).content.decode()

    assert SaleSharingOptOut.objects.filter(user=user).exists()
    assert 'id="cookie-banner"' in html  # still no choice made
    assert HONORED in html  # the banner says the standing opt-out is honored
    assert not CookieConsent.objects.exists()
    assert HONORED in signed_in.get(reverse("accounts:settings")).content.decode()


def test_a_later_accept_all_without_the_signal_still_holds_marketing_off(signed_in, user):
    signed_in.get("/", HTTP_SEC_GPC="1")

    signed_in.post(CONSENT_URL, {"action": "accept_all"})

    receipt = CookieConsent.objects.get()
    assert (receipt.analytics, receipt.marketing, receipt.gpc) == (True, False, False)


def test_the_signal_is_noted_at_most_hourly(signed_in, user, time_machine):
    start = timezone.now()
    time_machine.move_to(start, tick=False)
    signed_in.get("/", HTTP_SEC_GPC="1")
    time_machine.move_to(start + timedelta(minutes=30), tick=False)
    signed_in.get("/", HTTP_SEC_GPC="1")
    assert SaleSharingOptOut.objects.get().last_signal_at == start

    time_machine.move_to(start + timedelta(hours=2), tick=False)
    signed_in.get("/", HTTP_SEC_GPC="1")

    opt_out = SaleSharingOptOut.objects.get()
    assert (opt_out.opted_out_at, opt_out.last_signal_at) == (start, start + timedelta(hours=2))


@pytest.mark.django_db
def test_an_anonymous_signal_is_honored_without_storing_anything_about_the_person(client):
    html = client.get("/", HTTP_SEC_GPC="1").content.decode()

    assert HONORED in html
    assert 'data-gpc-seen="true"' in html
    assert not SaleSharingOptOut.objects.exists()
    assert 'data-gpc-seen="false"' in client.get("/").content.decode()


@pytest.mark.django_db
def test_gpc_forces_marketing_off_in_an_accept_all_receipt(client):
    client.post(CONSENT_URL, {"action": "accept_all"}, HTTP_SEC_GPC="1")

    receipt = CookieConsent.objects.get()
    assert receipt.action == CookieConsent.Action.ACCEPT_ALL
    assert (receipt.preferences, receipt.analytics, receipt.marketing, receipt.gpc) == (
        True,
        True,
        False,
        True,
    )
    assert stored(client).marketing is False


@pytest.mark.django_db
def test_gpc_turns_marketing_off_even_when_the_cookie_says_on(client, settings):
    settings.THIRD_PARTY_SCRIPTS = [MARKETING]
    client.post(CONSENT_URL, {"action": "accept_all"})
    assert "ads.example.net" in client.get("/").content.decode()

    html = client.get("/", HTTP_SEC_GPC="1").content.decode()

    assert 'data-allowed="necessary preferences analytics"' in html
    assert "ads.example.net" not in html.split('id="cookie-consent-config"')[1].split(">")[0]
    assert "&quot;_ads&quot;" in html  # consent.js deletes the marketing cookie


@pytest.mark.django_db
def test_the_pages_signal_is_recorded_once_for_the_session(client, user):
    client.post(CONSENT_URL, {"action": "accept_all"})
    assert stored(client).marketing is True
    client.force_login(user)

    response = client.post(GPC_URL, HTTP_SEC_FETCH_SITE="same-origin")

    assert response.status_code == 200 and response.json() == {"recorded": True}
    assert SaleSharingOptOut.objects.get(user=user).source == SaleSharingOptOut.Source.GPC
    turned_off = CookieConsent.objects.first()
    assert (turned_off.action, turned_off.marketing, turned_off.gpc) == ("custom", False, True)
    assert turned_off.consent_id == stored(client).consent_id
    assert stored(client).marketing is False
    html = client.get("/", follow=True).content.decode()
    assert 'data-gpc-seen="true"' in html  # consent.js will not post it again
    assert "Signal received from this browser" in client.get(SETTINGS_URL).content.decode()


@pytest.mark.django_db
def test_another_site_cannot_post_the_signal(client):
    assert client.post(GPC_URL, HTTP_SEC_FETCH_SITE="cross-site").status_code == 403
    assert client.post(GPC_URL, HTTP_ORIGIN="https://evil.example.com").status_code == 403
    assert client.post(GPC_URL).status_code == 403
    assert client.get(GPC_URL).status_code == 405
    assert client.post(GPC_URL, HTTP_ORIGIN="http://testserver").status_code == 200


def test_the_account_page_says_nothing_is_honored_without_an_opt_out(signed_in):
    html = signed_in.get(reverse("accounts:settings")).content.decode()

    assert HONORED not in html
    assert "no opt-out of the sale or sharing" in html


@pytest.mark.django_db
def test_gpc_json_is_served(client):
    response = client.get("/.well-known/gpc.json")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"gpc": True, "lastUpdate": "2026-11-28"}
