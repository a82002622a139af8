from datetime import datetime, timedelta

from django.db.models import QuerySet

from .models import ApiToken, UiPreferences, User


def ui_preferences_for(*, user: User) -> UiPreferences:
    """The user's saved room settings, or the defaults when they never saved any."""
    try:
        return user.ui_preferences
    except UiPreferences.DoesNotExist:
        return UiPreferences(user=user)


def api_tokens_of(*, user: User) -> QuerySet[ApiToken]:
    """The user's personal API tokens, revoked ones included, newest first."""
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-pk")


SURVEY_INTERVAL = timedelta(hours=24)


def survey_due(*, user: User, now: datetime) -> bool:
    """Whether the end screen may ask this account "How was the call?" (once per 24 hours)."""
    asked = UiPreferences.objects.filter(user=user).values_list("survey_asked_at", flat=True)
    last = asked.first()
    return last is None or last <= now - SURVEY_INTERVAL
