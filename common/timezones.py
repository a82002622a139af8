"""The viewer's time zone, activated once for every request.

Pages then show times with ``|date`` and ``localtime`` in the signed-in person's zone
(their profile's ``time_zone``), or in ``settings.TIME_ZONE`` for anyone else, instead of
each view picking a zone its own way. A page that must show another zone (a meeting's own
clock, a privacy request's legal dates, which are California dates) says so with
``timezone.override`` or ``{% timezone %}``. Email rendered during a request is for someone
else: render it inside ``timezone.override(None)`` (the default zone), or in the zone its
dates belong to (a privacy requester's email: California).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.utils import timezone


def viewer_zone(user: Any) -> ZoneInfo | None:
    """The zone a signed-in user chose, or None (meaning the default) for anyone else."""
    if not getattr(user, "is_authenticated", False):
        return None
    name = getattr(user, "time_zone", "") or ""
    try:
        return ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None  # a zone the tz database no longer has: the default, not an error page


class ViewerTimeZoneMiddleware:
    """Activate `viewer_zone(request.user)` for the request; the default zone afterwards."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        zone = self._zone(request)
        if zone is None:
            timezone.deactivate()
        else:
            timezone.activate(zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()

    @staticmethod
    def _zone(request: HttpRequest) -> ZoneInfo | None:
        # Without a session cookie nobody is signed in; reading request.user would load
        # the session (and add "Vary: Cookie" to every public page) for nothing.
        if settings.SESSION_COOKIE_NAME not in request.COOKIES:
            return None
        return viewer_zone(getattr(request, "user", None))
