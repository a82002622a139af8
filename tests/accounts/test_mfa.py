from datetime import timedelta

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import SECRET_SESSION_KEY, format_hotp_value, hotp_value
from django.urls import reverse
from django.utils import timezone

LOGIN_URL = reverse("account_login")
ACTIVATE_URL = reverse("mfa_activate_totp")
MFA_LOGIN_URL = reverse("mfa_authenticate")


def totp_now(secret: str) -> str:
    return format_hotp_value(hotp_value(secret, int(timezone.now().timestamp()) // 30))


def sign_in(client, user, password):
    return client.post(LOGIN_URL, {"login": user.email, "password": password})


def start_enrolment(client, user, password) -> None:
    """Sign in, confirm the password again (allauth asks before security changes), and
    open the TOTP page, which puts a fresh secret in the session."""
    sign_in(client, user, password)
    client.post(reverse("account_reauthenticate"), {"password": password})
    client.get(ACTIVATE_URL)


@pytest.fixture
def enrolled(client, user, password, time_machine):
    """A user who turned on TOTP; returns the shared secret."""
    time_machine.move_to(timezone.now(), tick=False)
    start_enrolment(client, user, password)
    secret = client.session[SECRET_SESSION_KEY]
    response = client.post(ACTIVATE_URL, {"code": totp_now(secret)})
    assert response.status_code == 302, response.content
    client.post(reverse("account_logout"))
    # A fresh 30-second window, so the login code is not a replay of the enrolment code.
    time_machine.shift(timedelta(seconds=31))
    return secret


def test_enrolment_stores_a_totp_authenticator_and_recovery_codes(enrolled, user):
    types = set(Authenticator.objects.filter(user=user).values_list("type", flat=True))

    assert types == {Authenticator.Type.TOTP, Authenticator.Type.RECOVERY_CODES}


def test_enrolment_asks_for_the_password_again(client, user, password):
    sign_in(client, user, password)

    response = client.get(ACTIVATE_URL)

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_reauthenticate"))


def test_a_wrong_code_does_not_enrol(client, user, password):
    start_enrolment(client, user, password)

    response = client.post(ACTIVATE_URL, {"code": "000000"})

    assert response.status_code == 200
    assert response.context["form"].errors["code"]
    assert not Authenticator.objects.filter(user=user).exists()


def test_login_asks_for_the_second_factor(enrolled, client, user, password):
    response = sign_in(client, user, password)

    assert response.status_code == 302
    assert response.url == MFA_LOGIN_URL
    assert "_auth_user_id" not in client.session


def test_login_with_a_totp_code(enrolled, client, user, password):
    sign_in(client, user, password)

    response = client.post(MFA_LOGIN_URL, {"code": totp_now(enrolled)})

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


def test_login_with_a_wrong_code_fails(enrolled, client, user, password):
    sign_in(client, user, password)

    response = client.post(MFA_LOGIN_URL, {"code": "123456"})

    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_login_with_a_recovery_code_uses_it_up(enrolled, client, user, password):
    codes = (
        Authenticator.objects.get(user=user, type=Authenticator.Type.RECOVERY_CODES)
        .wrap()
        .get_unused_codes()
    )
    sign_in(client, user, password)

    response = client.post(MFA_LOGIN_URL, {"code": codes[0]})

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)
    client.post(reverse("account_logout"))
    sign_in(client, user, password)
    again = client.post(MFA_LOGIN_URL, {"code": codes[0]})
    assert again.status_code == 200
