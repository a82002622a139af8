"""Template context: the material policy changes a signed-in user has not seen yet."""

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from .selectors import unseen_material_changes


def policy_changes(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"policy_changes": []}
    # Lazy: only a page that shows the banner (base.html) runs the query.
    return {"policy_changes": SimpleLazyObject(lambda: unseen_material_changes(user=user))}
