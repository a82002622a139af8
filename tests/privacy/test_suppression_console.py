import pytest
from django.urls import reverse

from privacy import audit, services
from privacy.email_categories import Category
from privacy.models import AuditEntry
from tests.factories import UserFactory

URL = reverse("privacy:staff_suppressions")
Source = services.Source


@pytest.fixture
def privacy_admin(client, db):
    client.force_login(UserFactory(roles=["privacy_admin"]))
    return client


@pytest.fixture
def mixed_list(db):
    services.unsubscribe(
        email="gone@example.com", category=Category.NEWSLETTER, source=Source.ONE_CLICK
    )
    services.unsubscribe(
        email="left@elsewhere.test", category=Category.SURVEYS, source=Source.UNSUBSCRIBE_LINK
    )
    services.set_subscription(
        email="keen@example.com",
        category=Category.NEWSLETTER,
        subscribed=True,
        source=Source.SIGNUP,
    )


def test_anonymous_visitor_is_sent_to_login(client, db):
    response = client.get(URL)

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))
    assert "next=" in response.url


def test_signed_in_user_without_role_is_forbidden(signed_in):
    response = signed_in.get(URL)

    assert response.status_code == 403


def test_finance_role_is_forbidden(client, db):
    client.force_login(UserFactory(roles=["finance"]))

    response = client.get(URL)

    assert response.status_code == 403


def test_django_staff_flag_alone_is_forbidden(client, db):
    client.force_login(UserFactory(is_staff=True))

    response = client.get(URL)

    assert response.status_code == 403


def test_privacy_admin_sees_suppressed_addresses_only(privacy_admin, mixed_list):
    response = privacy_admin.get(URL)

    assert response.status_code == 200
    page = response.content.decode()
    assert "gone@example.com" in page
    assert "Newsletter and product updates" in page
    assert "One-click unsubscribe (RFC 8058)" in page
    assert "left@elsewhere.test" in page
    assert "Surveys and feedback requests" in page
    assert "keen@example.com" not in page


def test_privacy_admin_with_other_roles_too_is_allowed(client, mixed_list):
    client.force_login(UserFactory(roles=["finance", "privacy_admin"]))

    response = client.get(URL)

    assert response.status_code == 200


def test_superuser_is_allowed(client, mixed_list):
    client.force_login(UserFactory(is_superuser=True))

    response = client.get(URL)

    assert response.status_code == 200
    assert "gone@example.com" in response.content.decode()


def test_resubscribed_address_leaves_the_list(privacy_admin, mixed_list):
    services.set_subscription(
        email="gone@example.com",
        category=Category.NEWSLETTER,
        subscribed=True,
        source=Source.PREFERENCES,
    )

    response = privacy_admin.get(URL)

    assert "gone@example.com" not in response.content.decode()


def test_empty_list_says_so(privacy_admin):
    response = privacy_admin.get(URL)

    assert response.status_code == 200
    assert "No address is suppressed." in response.content.decode()


def test_search_filters_by_address(privacy_admin, mixed_list):
    response = privacy_admin.get(URL, {"q": "gone"})

    page = response.content.decode()
    assert "gone@example.com" in page
    assert "left@elsewhere.test" not in page
    assert 'value="gone"' in page


def test_search_ignores_case_and_surrounding_spaces(privacy_admin, mixed_list):
    response = privacy_admin.get(URL, {"q": "  ELSEWHERE "})

    page = response.content.decode()
    assert "left@elsewhere.test" in page
    assert "gone@example.com" not in page


def test_search_does_not_surface_subscribed_addresses(privacy_admin, mixed_list):
    response = privacy_admin.get(URL, {"q": "keen"})

    page = response.content.decode()
    assert "keen@example.com" not in page
    assert "No address is suppressed matching “keen”." in page


def test_search_term_is_escaped(privacy_admin, mixed_list):
    response = privacy_admin.get(URL, {"q": "<script>alert(1)</script>"})

    assert response.status_code == 200
    assert "<script>alert(1)</script>" not in response.content.decode()


def test_each_view_writes_one_audit_entry_naming_the_search_by_its_keyed_hash(client, mixed_list):
    staff = UserFactory(roles=["privacy_admin"])
    client.force_login(staff)

    client.get(URL, {"q": " gone@example.com "})
    client.get(URL)

    searched, listed = AuditEntry.objects.filter(action="suppression_list.view").order_by("pk")
    assert searched.actor == listed.actor == staff
    assert searched.details == {
        "search": audit.search_key("gone@example.com"),
        "results": 1,
    }
    assert "gone@example.com" not in str(searched.details)
    assert listed.details == {"search": "", "results": 2}
    assert audit.verify_chain().ok
