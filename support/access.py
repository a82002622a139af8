"""Who on staff handles which topic, and the check that guards the ticket pages.

Support answers every topic; privacy admins and finance each see their own one, so a
billing question is not read by the privacy team and the other way round.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from accounts.roles import FINANCE, PRIVACY_ADMIN, SUPPORT, roles_of

from .models import Topic

View = Callable[..., HttpResponse]

# The role that owns each topic, besides SUPPORT which owns them all.
TOPIC_ROLES: dict[str, str] = {
    Topic.PRIVACY: PRIVACY_ADMIN,
    Topic.BILLING: FINANCE,
    Topic.SUPPORT: SUPPORT,
    Topic.OTHER: SUPPORT,
}
QUEUE_ROLES = frozenset({SUPPORT, PRIVACY_ADMIN, FINANCE})


def roles_for_topic(topic: str) -> frozenset[str]:
    return frozenset({SUPPORT, TOPIC_ROLES[topic]})


def visible_topics(user: Any) -> list[str]:
    """The topics whose tickets `user` may read, in the Topic order; empty for non-staff."""
    held = roles_of(user)
    return [topic for topic in Topic.values if roles_for_topic(topic) & held]


def queue_access_required(view: View) -> View:
    """Anonymous visitors go to the login page; signed-in ones with no queue role get 403.

    `role_required` takes one role; the queue is shared by three.
    """

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not roles_of(request.user) & QUEUE_ROLES:
            raise PermissionDenied("Your role does not include the contact ticket queue.")
        return view(request, *args, **kwargs)

    return wrapped
