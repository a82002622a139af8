"""The cookie banner, consent receipts, withdrawal, the preferences cookie, staff lookup."""

import re
import uuid

import pytest
from django.test import Client
from django.urls import reverse

from accounts.roles import PRIVACY_ADMIN
from privacy import cookies
from privacy.audit import entries_for
from privacy.consent import selectors
from privacy.cookies import CONSENT_COOKIE, JOIN_DETAILS_COOKIE
from privacy.models import AuditEntry, CookieConsent
from tests.factories import UserFactory
from tests.meetings.factories import MeetingFactory

CONSENT_URL = reverse("privacy:cookie_consent")
SETTINGS_URL = reverse("privacy:cookie_settings")
STAFF_URL = reverse("privacy:staff_consents")
ANALYTICS = {
    "provider": "Example Analytics",
    "category": "analytics",
    "src": "https://analytics.example.net/a.js",
    "cookies": [{"name": "_ex_id", "purpose": "Counts visits.", "lifetime": "1 year"}],
}
Action = CookieConsent.Action


def consent_id_in(client: Client) -> uuid.UUID:
    value = client.cookies[CONSENT_COOKIE].value.split(":")[0]
    return selectors.decode_choice(value).consent_id


def banner_shown(client: Client, url: str = "/") -> bool:
    return 'id="cookie-banner"' in client.get(url).content.decode()


def config_attr(html: str, name: str) -> str:
    match = re.search(rf'id="cookie-consent-config"[^>]*\b{name}="([^"]*)"', html, re.S)
    assert match, f"{name} missing from the consent config"
    return match.group(1)


@pytest.fixture
def with_script(settings):
    settings.THIRD_PARTY_SCRIPTS = [ANALYTICS]
    return ANALYTICS


# --- The banner ----------------------------------------------------------------------


@pytest.mark.django_db
def test_the_first_visit_shows_the_banner_with_every_category_and_equal_buttons(client):
    html = client.get("/").content.decode()

    assert 'aria-labelledby="cookie-banner-title"' in html
    for label in ("Strictly necessary", "Preferences", "Analytics", "Marketing"):
        assert label in html
    for name in ("sessionid", "csrftoken", CONSENT_COOKIE, JOIN_DETAILS_COOKIE):
        assert f"<code>{name}</code>" in html
    # Nothing is configured for analytics or marketing today, and the banner says so.
    assert html.count("Nothing in this category is in use today.") == 2
    accept = re.search(r'<button[^>]*value="accept_all"[^>]*>', html).group(0)
    reject = re.search(r'<button[^>]*value="reject_all"[^>]*>', html).group(0)
    assert accept.replace("accept_all", "X") == reject.replace("reject_all", "X")
    assert f'href="{SETTINGS_URL}?next=%2F"' in html  # "Choose": per-category settings
    assert "Opt-out preference signal honored" not in html


@pytest.mark.django_db
def test_a_choice_hides_the_banner_on_later_pages(client):
    assert banner_shown(client)

    client.post(CONSENT_URL, {"action": "reject_all"})

    assert not banner_shown(client)
    assert not banner_shown(client, reverse("account_login"))


@pytest.mark.django_db
def test_no_third_party_script_is_in_the_page_before_consent(client, with_script):
    html = client.get("/").content.decode()

    assert f'<script src="{ANALYTICS["src"]}"' not in html
    assert 'data-scripts="[]"' in html
    assert "_ex_id" in config_attr(html, "data-blocked-cookies")
    assert "Example Analytics" in html  # named in the banner, not loaded

    client.post(CONSENT_URL, {"action": "custom", "analytics": "on"})

    html = client.get("/").content.decode()
    assert ANALYTICS["src"] in config_attr(html, "data-scripts")
    assert not re.search(r"<script[^>]*analytics\.example\.net", html)
    assert config_attr(html, "data-allowed") == "necessary analytics"


@pytest.mark.django_db
def test_a_tampered_consent_cookie_is_no_consent(client):
    client.post(CONSENT_URL, {"action": "accept_all"})
    genuine = client.cookies[CONSENT_COOKIE].value
    value, stamp, signature = genuine.split(":")

    assert value.endswith(".111")
    client.cookies[CONSENT_COOKIE] = f"{value[:-3]}011:{stamp}:{signature}"
    assert banner_shown(client)
    client.cookies[CONSENT_COOKIE] = f"{value}:{stamp}:{signature[:-2]}xx"
    assert banner_shown(client)
    client.cookies[CONSENT_COOKIE] = "not-even-signed"
    assert banner_shown(client)

    client.post(CONSENT_URL, {"action": "reject_all"})
    assert CookieConsent.objects.values("consent_id").distinct().count() == 2


# --- Receipts ------------------------------------------------------------------------


@pytest.mark.django_db
def test_reject_all_writes_a_receipt_and_a_signed_consent_cookie(client):
    response = client.post(CONSENT_URL, {"action": "reject_all"}, REMOTE_ADDR="203.0.113.77")

    receipt = CookieConsent.objects.get()
    assert (receipt.action, receipt.preferences, receipt.analytics, receipt.marketing) == (
        Action.REJECT_ALL,
        False,
        False,
        False,
    )
    assert (receipt.user, receipt.gpc) == (None, False)
    assert receipt.banner_version == cookies.banner_version()
    assert receipt.created_at is not None
    morsel = response.cookies[CONSENT_COOKIE]
    assert morsel["httponly"] and morsel["samesite"] == "Lax"
    assert int(morsel["max-age"]) == 183 * 24 * 3600
    assert not morsel["secure"]  # Secure only in production
    assert consent_id_in(client) == receipt.consent_id
    assert response.status_code == 302 and response["Location"] == "/"


@pytest.mark.django_db
def test_the_consent_cookie_is_secure_in_production(client, settings):
    settings.SESSION_COOKIE_SECURE = True

    response = client.post(CONSENT_URL, {"action": "reject_all"})

    assert response.cookies[CONSENT_COOKIE]["secure"]


@pytest.mark.django_db
def test_accept_all_by_a_signed_in_user_keeps_the_browsers_consent_id(client, user):
    client.post(CONSENT_URL, {"action": "reject_all"})
    first = consent_id_in(client)
    client.force_login(user)

    client.post(CONSENT_URL, {"action": "accept_all"})

    latest, earlier = CookieConsent.objects.all()
    assert latest.consent_id == earlier.consent_id == first
    assert (latest.action, latest.user, earlier.user) == (Action.ACCEPT_ALL, user, None)
    assert (latest.preferences, latest.analytics, latest.marketing) == (True, True, True)


@pytest.mark.django_db
def test_no_ip_address_is_stored_anywhere(client, user):
    client.force_login(user)
    address = "203.0.113.77"

    client.post(CONSENT_URL, {"action": "accept_all"}, REMOTE_ADDR=address)
    client.post(CONSENT_URL, {"action": "reject_all"}, HTTP_X_FORWARDED_FOR=address)

    field_names = {field.name for field in CookieConsent._meta.get_fields()}
    assert not {name for name in field_names if "ip" in name.split("_") or "addr" in name}
    for row in CookieConsent.objects.values():
        assert address not in repr(row)
    assert address not in repr(dict(client.session.items()))


@pytest.mark.django_db
def test_a_custom_choice_records_exactly_the_ticked_categories(client):
    client.post(CONSENT_URL, {"action": "custom", "preferences": "on", "marketing": "on"})

    receipt = CookieConsent.objects.get()
    assert receipt.action == Action.CUSTOM
    assert (receipt.preferences, receipt.analytics, receipt.marketing) == (True, False, True)


@pytest.mark.django_db
def test_a_bad_choice_gets_a_clear_error_not_a_receipt(client):
    response = client.post(CONSENT_URL, {"action": "sell_everything"})

    assert response.status_code == 400
    assert "Choose Accept all, Reject all or Save my choices." in response.content.decode()
    json_response = client.post(CONSENT_URL, {}, HTTP_ACCEPT="application/json")
    assert json_response.status_code == 400
    assert "Choose Accept all" in json_response.json()["error"]
    assert not CookieConsent.objects.exists()
    assert client.get(CONSENT_URL).status_code == 405


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("next_url", "expected"),
    [
        ("/accounts/login/?x=1", "/accounts/login/?x=1"),
        ("https://evil.example.com/", "/"),
        ("//evil.example.com/", "/"),
        ("", "/"),
    ],
)
def test_the_plain_form_goes_back_only_to_this_site(client, next_url, expected):
    response = client.post(f"{CONSENT_URL}?next={next_url}", {"action": "reject_all"})
    assert response["Location"] == expected

    response = client.post(CONSENT_URL, {"action": "reject_all", "next": next_url})
    assert response["Location"] == expected


@pytest.mark.django_db
def test_the_script_gets_json_with_what_to_load_and_what_to_delete(client, with_script):
    response = client.post(
        CONSENT_URL, {"action": "custom", "analytics": "on"}, HTTP_ACCEPT="application/json"
    )

    body = response.json()
    assert response.status_code == 200
    assert body["allowed"] == ["necessary", "analytics"]
    assert body["scripts"] == [
        {"src": ANALYTICS["src"], "category": "analytics", "provider": "Example Analytics"}
    ]
    assert JOIN_DETAILS_COOKIE in body["blocked_cookies"]
    assert "_ex_id" not in body["blocked_cookies"]
    assert body["consent_id"] == str(CookieConsent.objects.get().consent_id)
    assert CONSENT_COOKIE in response.cookies


# --- Settings page and withdrawal ----------------------------------------------------


@pytest.mark.django_db
def test_the_settings_page_shows_the_choice_its_id_and_when(client):
    html = client.get(SETTINGS_URL).content.decode()
    assert "You have not made a choice" in html
    assert 'id="cookie-banner"' not in html  # the page itself is the banner's long form

    client.post(CONSENT_URL, {"action": "custom", "analytics": "on"})
    html = client.get(SETTINGS_URL).content.decode()

    receipt = CookieConsent.objects.get()
    assert str(receipt.consent_id) in html
    assert receipt.created_at.strftime("%Y-%m-%d") in html
    assert "No signal from this browser" in html
    assert re.search(
        r'<input type="checkbox" id="consent-analytics" name="analytics" checked', html
    )
    assert re.search(r'<input type="checkbox" id="consent-marketing" name="marketing" aria', html)
    for action in ("accept_all", "reject_all", "custom"):
        assert f'value="{action}"' in html


@pytest.mark.django_db
def test_reject_all_after_consent_is_a_withdrawal_that_deletes_the_cookies(client, with_script):
    client.post(CONSENT_URL, {"action": "accept_all"})
    client.cookies["_ex_id"] = "tracking"
    client.cookies[JOIN_DETAILS_COOKIE] = "remembered"

    response = client.post(CONSENT_URL, {"action": "reject_all", "next": SETTINGS_URL})

    withdrawal = CookieConsent.objects.first()
    assert withdrawal.action == Action.WITHDRAW
    assert not (withdrawal.preferences or withdrawal.analytics or withdrawal.marketing)
    for name in ("_ex_id", JOIN_DETAILS_COOKIE):
        assert response.cookies[name].value == ""
        assert int(response.cookies[name]["max-age"]) == 0
    assert response["Location"] == SETTINGS_URL
    html = client.get(SETTINGS_URL).content.decode()
    assert "Withdrew consent" in html or "withdrew consent" in html


@pytest.mark.django_db
def test_unticking_one_category_deletes_only_its_cookies(client, with_script):
    client.post(CONSENT_URL, {"action": "accept_all"})
    client.cookies["_ex_id"] = "tracking"
    client.cookies[JOIN_DETAILS_COOKIE] = "remembered"

    response = client.post(CONSENT_URL, {"action": "custom", "preferences": "on"})

    assert CookieConsent.objects.first().action == Action.CUSTOM
    assert response.cookies["_ex_id"]["max-age"] == 0
    assert JOIN_DETAILS_COOKIE not in response.cookies


@pytest.mark.django_db
def test_unticking_everything_after_consent_is_a_withdrawal(client):
    client.post(CONSENT_URL, {"action": "custom", "preferences": "on"})

    client.post(CONSENT_URL, {"action": "custom"})

    assert CookieConsent.objects.first().action == Action.WITHDRAW


# --- The preferences cookie ----------------------------------------------------------


@pytest.fixture
def meeting(db):
    return MeetingFactory(host=UserFactory(), passcode_required=False)


def join_as_guest(client, meeting, name="Ada Guest", email="ada@example.com"):
    return client.post(
        reverse("meetings:join", args=[meeting.join_token]),
        {"display_name": name, "email": email},
    )


@pytest.mark.django_db
def test_without_consent_the_join_details_are_never_kept_in_a_cookie(client, meeting):
    response = join_as_guest(client, meeting)
    assert response.status_code == 302
    assert JOIN_DETAILS_COOKIE not in response.cookies

    client.post(CONSENT_URL, {"action": "custom", "analytics": "on"})
    response = join_as_guest(client, MeetingFactory(passcode_required=False))
    assert JOIN_DETAILS_COOKIE not in response.cookies


@pytest.mark.django_db
def test_with_preferences_consent_the_next_join_form_is_filled_in(client, meeting):
    client.post(CONSENT_URL, {"action": "custom", "preferences": "on"})

    response = join_as_guest(client, meeting, name="Grace Guest", email="grace@example.com")

    morsel = response.cookies[JOIN_DETAILS_COOKIE]
    assert morsel["httponly"] and int(morsel["max-age"]) == 365 * 24 * 3600
    assert "grace@example.com" not in morsel.value  # signed and encoded, not plain
    # A new browser session (no session memory) with the same cookies.
    fresh = Client()
    fresh.cookies = client.cookies
    fresh.cookies.pop("sessionid", None)
    other = MeetingFactory(passcode_required=False)
    html = fresh.get(reverse("meetings:join", args=[other.join_token])).content.decode()
    assert 'value="Grace Guest"' in html and 'value="grace@example.com"' in html
    assert "Filled in from this browser's preferences cookie" in html


@pytest.mark.django_db
def test_after_withdrawal_the_join_details_cookie_is_neither_used_nor_kept(client, meeting):
    client.post(CONSENT_URL, {"action": "accept_all"})
    join_as_guest(client, meeting, name="Grace Guest")
    kept = client.cookies[JOIN_DETAILS_COOKIE].value

    response = client.post(CONSENT_URL, {"action": "reject_all"})
    assert response.cookies[JOIN_DETAILS_COOKIE]["max-age"] == 0

    fresh = Client()
    fresh.cookies = client.cookies
    fresh.cookies.pop("sessionid", None)
    fresh.cookies[JOIN_DETAILS_COOKIE] = kept  # a browser that ignored the deletion
    other = MeetingFactory(passcode_required=False)
    html = fresh.get(reverse("meetings:join", args=[other.join_token])).content.decode()
    assert "Grace Guest" not in html


@pytest.mark.django_db
def test_a_forged_join_details_cookie_is_ignored(client):
    client.post(CONSENT_URL, {"action": "accept_all"})
    client.cookies[JOIN_DETAILS_COOKIE] = '{"n": "Mallory", "e": "m@example.com"}'
    other = MeetingFactory(passcode_required=False)

    html = client.get(reverse("meetings:join", args=[other.join_token])).content.decode()

    assert "Mallory" not in html


# --- Staff lookup --------------------------------------------------------------------


@pytest.fixture
def privacy_admin_client(db):
    admin = UserFactory(roles=[PRIVACY_ADMIN])
    client = Client()
    client.force_login(admin)
    client.admin = admin
    return client


def test_the_staff_lookup_needs_the_privacy_admin_role(client, user, privacy_admin_client):
    response = client.get(STAFF_URL)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]

    client.force_login(user)
    assert client.get(STAFF_URL).status_code == 403

    assert privacy_admin_client.get(STAFF_URL).status_code == 200


def test_staff_find_every_receipt_of_a_consent_id_newest_first(privacy_admin_client, user):
    browser = Client()
    browser.post(CONSENT_URL, {"action": "accept_all"})
    browser.force_login(user)
    browser.post(CONSENT_URL, {"action": "reject_all"}, HTTP_SEC_GPC="1")
    consent_id = consent_id_in(browser)

    response = privacy_admin_client.get(STAFF_URL, {"q": str(consent_id)})

    html = response.content.decode()
    assert response.status_code == 200
    assert html.index("Withdrew consent") < html.index("Accepted all")
    assert user.email in html
    assert "Global Privacy Control signal" in html  # the user's opt-out
    (entry,) = [
        entry
        for entry in entries_for(target_type="cookie_consent", target_id=str(consent_id))
        if entry.action == "cookie_consent.lookup"
    ]
    assert entry.actor == privacy_admin_client.admin
    assert entry.action == "cookie_consent.lookup"


def test_staff_find_a_users_receipts_by_email(privacy_admin_client, user):
    browser = Client()
    browser.post(CONSENT_URL, {"action": "custom", "analytics": "on"})  # before signing in
    browser.force_login(user)
    browser.post(CONSENT_URL, {"action": "accept_all"})
    CookieConsent.objects.create(
        consent_id=uuid.uuid4(),
        action=Action.ACCEPT_ALL,
        preferences=True,
        analytics=True,
        marketing=True,
        banner_version="x",
        created_at=CookieConsent.objects.first().created_at,
    )  # someone else's browser

    response = privacy_admin_client.get(STAFF_URL, {"q": user.email.upper()})

    html = response.content.decode()
    # Both of the user's browser's receipts, not the other browser's.
    assert (html.count("Chose categories"), html.count("Accepted all")) == (1, 1)
    assert "no opt-out on record" in html
    assert entries_for(target_type="user", target_id=str(user.pk))


@pytest.mark.parametrize(
    ("query", "message", "status"),
    [
        ("not-a-uuid", "Enter a consent id (a UUID", 400),
        ("nobody@", "That is not a valid email address.", 400),
        ("", "Enter a consent id or an email address.", 400),
        ("nobody@example.com", "No account uses that email address.", 200),
        (str(uuid.uuid4()), "No receipt has that consent id.", 200),
    ],
)
def test_staff_lookup_bad_input_gets_a_clear_message(privacy_admin_client, query, message, status):
    response = privacy_admin_client.get(STAFF_URL, {"q": query})

    assert response.status_code == status
    assert message in response.content.decode()
    assert not AuditEntry.objects.exists()  # nobody was looked at
