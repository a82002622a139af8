"""Every write to accounts goes through here."""

from datetime import datetime

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.db import transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token

from privacy import services as privacy_services

from .models import UiPreferences, User

PROFILE_FIELDS = ("full_name", "time_zone", "how_heard", "how_heard_other", "company", "job_title")


@transaction.atomic
def complete_signup(
    *,
    user: User,
    profile: dict[str, str],
    age_screen_passed_at: datetime,
    marketing_opt_in: bool,
) -> User:
    """Fill in what the sign-up form asked beyond email and password."""
    for field, value in profile.items():
        setattr(user, field, value)
    user.age_screen_passed_at = age_screen_passed_at
    user.full_clean(exclude=["password"])
    user.save()
    UiPreferences.objects.get_or_create(user=user)
    privacy_services.record_signup_choice(email=user.email, marketing_opt_in=marketing_opt_in)
    return user


def update_profile(*, user: User, profile: dict[str, str]) -> User:
    for field in PROFILE_FIELDS:
        if field in profile:
            setattr(user, field, profile[field])
    user.full_clean(exclude=["password"])
    user.save(update_fields=[f for f in PROFILE_FIELDS if f in profile])
    return user


def update_ui_preferences(
    *, user: User, join_with_camera_off: bool, join_with_mic_off: bool, layout: str
) -> UiPreferences:
    prefs, _ = UiPreferences.objects.update_or_create(
        user=user,
        defaults={
            "join_with_camera_off": join_with_camera_off,
            "join_with_mic_off": join_with_mic_off,
            "layout": layout,
        },
    )
    return prefs


@transaction.atomic
def delete_account(*, user: User) -> None:
    """Deactivate the account and remove its personal fields now.

    The row stays so that records pointing at it (meetings hosted, invoices) keep their
    shape; nothing in it identifies the person any more. A new password hash that no one
    knows also ends every open session, since sessions carry a hash of it.
    """
    user = User.objects.select_for_update().get(pk=user.pk)
    old_email = user.email
    user.email = f"deleted-{user.pk}@deleted.invalid"
    user.full_name = ""
    user.how_heard = ""
    user.how_heard_other = ""
    user.company = ""
    user.job_title = ""
    user.time_zone = "UTC"
    user.is_active = False
    user.is_staff = False
    user.is_superuser = False
    user.deleted_at = timezone.now()
    user.set_unusable_password()
    user.save()
    user.groups.clear()
    EmailAddress.objects.filter(user=user).delete()
    Authenticator.objects.filter(user=user).delete()
    Token.objects.filter(user=user).delete()
    UiPreferences.objects.filter(user=user).delete()
    privacy_services.erase_email(email=old_email)
