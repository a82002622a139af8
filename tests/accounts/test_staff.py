import pytest
from django.urls import reverse

from accounts.roles import FINANCE, MARKETING, PRIVACY_ADMIN, SUPPORT
from accounts.staff import CONSOLES
from tests.factories import UserFactory

STAFF_URL = reverse("staff")
SUPPRESSIONS_URL = reverse("privacy:staff_suppressions")
PLANS_URL = reverse("billing:staff_plans")


def test_the_role_groups_exist(db):
    from django.contrib.auth.models import Group

    assert set(Group.objects.values_list("name", flat=True)) >= {PRIVACY_ADMIN, FINANCE}


def test_anonymous_visitors_are_sent_to_sign_in(client, db):
    for url in (STAFF_URL, SUPPRESSIONS_URL, PLANS_URL):
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith(reverse("account_login"))


def test_a_host_without_a_role_gets_403_everywhere(signed_in):
    for url in (STAFF_URL, SUPPRESSIONS_URL, PLANS_URL):
        assert signed_in.get(url).status_code == 403


PRIVACY_CONSOLES = {
    "Email suppression list",
    "Cookie consent receipts",
    "Contact tickets",
    "California privacy requests",
    "Privacy request figures",
    "Disclosure ledger",
    "Third-party registry",
}
FINANCE_CONSOLES = {"Plan catalogue", "Contact tickets", "Finance", "Failed Stripe events"}


@pytest.mark.parametrize(
    ("roles", "visible", "allowed", "refused"),
    [
        ([PRIVACY_ADMIN], PRIVACY_CONSOLES, [SUPPRESSIONS_URL], [PLANS_URL]),
        ([FINANCE], FINANCE_CONSOLES, [PLANS_URL], [SUPPRESSIONS_URL]),
        (
            [PRIVACY_ADMIN, FINANCE],
            PRIVACY_CONSOLES | FINANCE_CONSOLES,
            [SUPPRESSIONS_URL, PLANS_URL],
            [],
        ),
        ([SUPPORT], {"Contact tickets"}, [], [SUPPRESSIONS_URL, PLANS_URL]),
        ([MARKETING], {"Newsletter", "Contests"}, [], [SUPPRESSIONS_URL, PLANS_URL]),
    ],
)
def test_each_role_sees_and_opens_only_its_consoles(client, db, roles, visible, allowed, refused):
    client.force_login(UserFactory(roles=roles))

    response = client.get(STAFF_URL)

    assert response.status_code == 200
    assert {console.title for console in response.context["consoles"]} == visible
    for url in allowed:
        assert client.get(url).status_code == 200
    for url in refused:
        assert client.get(url).status_code == 403


def test_every_console_opens_for_its_role(client, db):
    for console in CONSOLES:
        client.force_login(UserFactory(roles=[console.role]))
        assert client.get(reverse(console.url_name)).status_code == 200, console.title


def test_a_superuser_sees_every_console(client, db):
    client.force_login(UserFactory(is_superuser=True, is_staff=True))

    response = client.get(STAFF_URL)

    assert len(response.context["consoles"]) == len(CONSOLES)


def test_a_deactivated_staff_member_loses_access(client, db):
    member = UserFactory(roles=[FINANCE])
    client.force_login(member)
    member.is_active = False
    member.save()

    assert client.get(PLANS_URL).status_code == 302


def test_the_plan_catalogue_shows_the_free_plan_limits(client, db):
    client.force_login(UserFactory(roles=[FINANCE]))

    html = client.get(PLANS_URL).content.decode()

    assert "Free" in html and "<td>100</td>" in html and "<td>40</td>" in html
