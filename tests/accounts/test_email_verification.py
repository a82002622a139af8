import re

from allauth.account.models import EmailAddress
from django.core import mail
from django.urls import reverse

from tests.factories import UserFactory


def confirmation_path(message) -> str:
    return re.search(r"https?://[^/\s]+(/accounts/confirm-email/[^\s]+/)", message.body).group(1)


def test_an_unverified_user_cannot_sign_in_until_confirming(
    client, db, password, django_capture_on_commit_callbacks
):
    user = UserFactory(verified=False)
    EmailAddress.objects.create(user=user, email=user.email, verified=False, primary=True)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("account_login"), {"login": user.email, "password": password}
        )

    assert response.url == reverse("account_email_verification_sent")
    assert "_auth_user_id" not in client.session
    [message] = mail.outbox
    confirm = client.post(confirmation_path(message))
    assert confirm.status_code == 302
    assert EmailAddress.objects.get(user=user).verified
    assert client.session["_auth_user_id"] == str(user.pk)


def test_changing_email_needs_the_new_address_confirmed(
    signed_in, user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        signed_in.post(reverse("account_email"), {"action_add": "", "email": "new@example.com"})

    user.refresh_from_db()
    assert user.email != "new@example.com"
    [message] = [m for m in mail.outbox if m.to == ["new@example.com"]]
    signed_in.post(confirmation_path(message))
    user.refresh_from_db()
    assert user.email == "new@example.com"
    assert EmailAddress.objects.get(user=user, email="new@example.com").verified


def test_password_reset_mail_is_transactional(client, user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("account_reset_password"), {"email": user.email})

    [message] = mail.outbox
    assert message.to == [user.email]
    assert "List-Unsubscribe" not in message.extra_headers
