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
