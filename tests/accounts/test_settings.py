import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.urls import reverse

from accounts.models import UiPreferences, User
from accounts.selectors import ui_preferences_for
from privacy import services as privacy_services
from privacy.models import EmailPreference

SETTINGS_URL = reverse("accounts:settings")
DELETE_URL = reverse("accounts:delete")


def profile_post(**overrides):
    data = {
        "save_profile": "",
        "profile-full_name": "Grace Hopper",
        "profile-time_zone": "America/New_York",
        "profile-how_heard": "event",
        "profile-how_heard_other": "",
        "profile-company": "Navy",
        "profile-job_title": "",
    }
    return data | overrides


def test_anonymous_visitors_are_sent_to_sign_in(client, db):
    response = client.get(SETTINGS_URL)

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


def test_settings_show_the_current_profile(signed_in, user):
    response = signed_in.get(SETTINGS_URL)

    assert response.status_code == 200
    assert response.context["profile_form"].initial["full_name"] == user.full_name
    assert reverse("privacy:email_preferences") in response.content.decode()


def test_profile_edit_is_saved(signed_in, user):
    response = signed_in.post(SETTINGS_URL, profile_post())

    assert response.status_code == 302
    user.refresh_from_db()
    assert (user.full_name, user.time_zone, user.how_heard, user.company) == (
        "Grace Hopper",
        "America/New_York",
        "event",
        "Navy",
    )


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"profile-time_zone": "Europe/Atlantis"}, "time_zone"),
        ({"profile-full_name": ""}, "full_name"),
        ({"profile-how_heard": "other", "profile-how_heard_other": " "}, "how_heard_other"),
        ({"profile-company": "x" * 151}, "company"),
    ],
)
def test_bad_profile_input_is_refused_with_an_inline_error(signed_in, user, overrides, field):
    before = User.objects.values().get(pk=user.pk)

    response = signed_in.post(SETTINGS_URL, profile_post(**overrides))

    assert response.status_code == 200
    assert response.context["profile_form"].errors[field]
    assert 'aria-invalid="true"' in response.content.decode()
    assert User.objects.values().get(pk=user.pk) == before


def test_other_free_text_is_dropped_when_another_answer_is_chosen(signed_in, user):
    signed_in.post(SETTINGS_URL, profile_post(**{"profile-how_heard_other": "a billboard"}))

    user.refresh_from_db()
    assert user.how_heard_other == ""


def test_meeting_settings_are_saved_server_side(signed_in, user):
    assert ui_preferences_for(user=user).join_with_camera_off is False

    response = signed_in.post(
        SETTINGS_URL,
        {"save_preferences": "", "ui-join_with_camera_off": "on", "ui-layout": "speaker"},
    )

    assert response.status_code == 302
    prefs = UiPreferences.objects.get(user=user)
    assert prefs.join_with_camera_off is True
    assert prefs.join_with_mic_off is False
    assert prefs.layout == "speaker"


def test_an_unknown_layout_is_refused(signed_in, user):
    response = signed_in.post(SETTINGS_URL, {"save_preferences": "", "ui-layout": "carousel"})

    assert response.status_code == 200
    assert response.context["prefs_form"].errors["layout"]
    assert not UiPreferences.objects.filter(user=user).exists()


def test_delete_needs_the_password_and_the_tick(signed_in, user):
    response = signed_in.post(DELETE_URL, {"password": "wrong", "confirm": ""})

    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "not your password" in errors["password"][0]
    assert "Tick the box" in errors["confirm"][0]
    user.refresh_from_db()
    assert user.is_active


def test_delete_removes_personal_fields_and_signs_out(signed_in, user, password):
    email = user.email
    privacy_services.unsubscribe(email=email, category="surveys", source="preferences")
    Authenticator.objects.create(user=user, type=Authenticator.Type.TOTP, data={})

    response = signed_in.post(DELETE_URL, {"password": password, "confirm": "on"})

    assert response.status_code == 200
    user.refresh_from_db()
    assert not user.is_active
    assert user.deleted_at is not None
    assert email not in user.email
    assert (user.full_name, user.company, user.job_title, user.how_heard) == ("", "", "", "")
    assert not user.has_usable_password()
    assert not EmailAddress.objects.filter(email__iexact=email).exists()
    assert not Authenticator.objects.filter(user=user).exists()
    assert not EmailPreference.objects.filter(email=email).exists()
    assert "_auth_user_id" not in signed_in.session
    assert signed_in.get(SETTINGS_URL).status_code == 302


def test_delete_ends_sessions_on_other_devices(client, user, password):
    from django.test import Client

    other_device = Client()
    other_device.force_login(user)
    client.force_login(user)

    client.post(DELETE_URL, {"password": password, "confirm": "on"})

    assert other_device.get(SETTINGS_URL).status_code == 302
