from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "privacy"

    def ready(self) -> None:
        # A malformed policy file fails `manage.py check` and every start-up, not a visitor.
        from .policies import checks  # noqa: F401
