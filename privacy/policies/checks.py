"""`manage.py check` (and every server start) refuses malformed policy texts.

Registered when this module is imported: PrivacyConfig.ready() imports it.
"""

from typing import Any

from django.core import checks

from .documents import PolicyTextError, load_all


@checks.register("privacy")
def policy_texts_are_valid(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    try:
        load_all()
    except PolicyTextError as exc:
        return [checks.Error(str(exc), id="privacy.E001")]
    return []
