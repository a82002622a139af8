from .models import UiPreferences, User


def ui_preferences_for(*, user: User) -> UiPreferences:
    """The user's saved room settings, or the defaults when they never saved any."""
    try:
        return user.ui_preferences
    except UiPreferences.DoesNotExist:
        return UiPreferences(user=user)
