"""Every write to accounts goes through here."""

from datetime import datetime

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from rest_framework.authtoken.models import Token

from privacy import audit
from privacy import services as privacy_services

from . import api_tokens
from .models import ApiToken, UiPreferences, User
from .selectors import SURVEY_INTERVAL

PROFILE_FIELDS = ("full_name", "time_zone", "how_heard", "how_heard_other", "company", "job_title")


@transaction.atomic
def complete_signup(
    *,
    user: User,
    profile: dict[str, str],
    age_screen_passed_at: datetime,
    marketing_opt_in: bool,
    usage_summary_opt_in: bool = False,
) -> User:
    """Fill in what the sign-up form asked beyond email and password."""
    for field, value in profile.items():
        setattr(user, field, value)
    user.age_screen_passed_at = age_screen_passed_at
    user.full_clean(exclude=["password"])
    user.save()
    UiPreferences.objects.get_or_create(user=user)
    privacy_services.record_signup_choice(
        email=user.email,
        marketing_opt_in=marketing_opt_in,
        usage_summary_opt_in=usage_summary_opt_in,
    )
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
def claim_survey(*, user: User, now: datetime) -> bool:
    """Record that the survey was answered or skipped now, if it was due (at most once per
    24 hours); False when another sitting's answer within the last 24 hours holds it."""
    UiPreferences.objects.get_or_create(user=user)
    due = Q(survey_asked_at__isnull=True) | Q(survey_asked_at__lte=now - SURVEY_INTERVAL)
    return bool(
        UiPreferences.objects.filter(due, user=user).update(survey_asked_at=now, updated_at=now)
    )


@transaction.atomic
def delete_account(*, user: User) -> None:
    """Deactivate the account and remove its personal fields: the accounts step of an
    erasure (``privacy_data.erase_for``). Settings → Delete account runs the whole erasure
    through ``privacy.requests.account_deletion``, never this step alone.

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
    ApiToken.objects.filter(user=user).delete()
    UiPreferences.objects.filter(user=user).delete()
    privacy_services.erase_email(email=old_email)


API_TOKEN_CREATED = "api_token.created"
API_TOKEN_REVOKED = "api_token.revoked"


@transaction.atomic
def create_api_token(
    *, user: User, name: str, expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    """A new personal API token and its key, which is never stored and cannot be shown again."""
    key = api_tokens.new_key()
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=key[:8],
        key_hash=api_tokens.hash_key(key),
        expires_at=expires_at,
    )
    audit.record(
        actor=user,
        action=API_TOKEN_CREATED,
        target_type="api_token",
        target_id=str(token.pk),
        purpose="The account holder created a personal API token.",
        # Not the name the holder typed: it may name people, and the append-only log
        # could never be rid of it on an erasure request.
        details={
            "prefix": token.prefix,
            "expires_at": expires_at.isoformat() if expires_at else None,
        },
    )
    return token, key


@transaction.atomic
def revoke_api_token(*, user: User, token_id: int) -> bool:
    """Revoke one of the user's own tokens; False when there is no such live token."""
    now = timezone.now()
    revoked = ApiToken.objects.filter(user=user, pk=token_id, revoked_at__isnull=True).update(
        revoked_at=now
    )
    if revoked:
        audit.record(
            actor=user,
            action=API_TOKEN_REVOKED,
            target_type="api_token",
            target_id=str(token_id),
            purpose="The account holder revoked a personal API token.",
        )
    return bool(revoked)
