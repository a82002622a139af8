import re

import pytest
from channels.testing import WebsocketCommunicator
from django.urls import reverse

from conferencing.asgi import application

PUBLIC_PAGES = [
    "home",
    "account_login",
    "accounts:age_screen",
    "account_reset_password",
    "privacy:policy",
]
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.I)


@pytest.mark.parametrize("name", PUBLIC_PAGES)
def test_public_pages_render_with_a_strict_csp_and_no_inline_script(client, db, name):
    response = client.get(reverse(name))

    assert response.status_code == 200
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert not INLINE_SCRIPT.search(response.content.decode())


def test_signed_in_pages_have_no_inline_script(signed_in):
    for name in ("accounts:settings", "accounts:delete", "privacy:email_preferences", "mfa_index"):
        response = signed_in.get(reverse(name))
        assert response.status_code == 200, name
        assert not INLINE_SCRIPT.search(response.content.decode()), name


def test_every_form_field_has_a_label(client, db):
    client.post(reverse("accounts:age_screen"), {"date_of_birth": "1990-01-01"})
    html = client.get(reverse("account_signup")).content.decode()

    ids = re.findall(r'<(?:input|select|textarea)[^>]*\bid="([^"]+)"', html)
    labelled = set(re.findall(r'<label for="([^"]+)"', html))
    assert ids and set(ids) <= labelled


def test_unknown_pages_get_our_404(client, db):
    response = client.get("/no/such/page/")

    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


# Channels closes stale database connections around each websocket, hence the mark.
@pytest.mark.django_db(transaction=True)
async def test_websockets_from_a_foreign_origin_are_refused():
    communicator = WebsocketCommunicator(
        application, "/ws/meetings/abc/", headers=[(b"origin", b"https://evil.example")]
    )

    connected, _ = await communicator.connect()

    assert not connected
    await communicator.disconnect()


def test_the_policy_lists_the_email_categories_from_the_code(client, db):
    from privacy.email_categories import SUBSCRIPTIONS

    html = client.get(reverse("privacy:policy")).content.decode()

    for item in SUBSCRIPTIONS:
        assert str(item.category.label) in html
    assert "under 13" in html


def test_every_page_links_the_privacy_policy_in_its_footer(client, db):
    html = client.get(reverse("home")).content.decode()

    footer = html[html.index("<footer") :]
    assert reverse("privacy:policy") in footer
