"""Headers every response gets: what browser features a page may use, and who may cache it."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.utils.cache import patch_cache_control

# Features the pages use, for this origin only: the room's camera, microphone and screen
# share; playing the others' audio and video (autoplay), choosing the speaker
# (speaker-selection), the copy-link buttons (clipboard-write) and full-screen video.
SELF_ONLY = (
    "camera",
    "microphone",
    "display-capture",
    "autoplay",
    "speaker-selection",
    "clipboard-write",
    "fullscreen",
)
# Everything else a browser lets a page or an embedded frame ask for: off.
NOBODY = (
    "accelerometer",
    "ambient-light-sensor",
    "bluetooth",
    "browsing-topics",
    "clipboard-read",
    "encrypted-media",
    "gamepad",
    "geolocation",
    "gyroscope",
    "hid",
    "identity-credentials-get",
    "idle-detection",
    "local-fonts",
    "magnetometer",
    "midi",
    "otp-credentials",
    "payment",
    "picture-in-picture",
    "publickey-credentials-create",
    "publickey-credentials-get",
    "screen-wake-lock",
    "serial",
    "storage-access",
    "usb",
    "web-share",
    "window-management",
    "xr-spatial-tracking",
)


def permissions_policy() -> str:
    self_only = [f"{feature}=(self)" for feature in SELF_ONLY]
    return ", ".join(self_only + [f"{feature}=()" for feature in NOBODY])


Middleware = Callable[[HttpRequest], HttpResponseBase]


class PermissionsPolicyMiddleware:
    """`Permissions-Policy` on every response that has none of its own."""

    def __init__(self, get_response: Middleware) -> None:
        self.get_response = get_response
        self.value = permissions_policy()

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", self.value)
        return response


class PrivateResponsesMiddleware:
    """`Cache-Control: private, no-store` on what is shown to one person.

    A response to a signed-in user, or to anyone with a session (an attendee in a lobby
    or a room holds one), may carry passcodes, join links, names and addresses: no
    shared cache may keep it and no browser may keep it on disk. Anonymous, sessionless
    requests (the public pages) keep whatever caching their view chose.
    """

    def __init__(self, get_response: Middleware) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if _personal(request):
            patch_cache_control(response, private=True, no_store=True)
            response.headers.pop("Expires", None)
        return response


def _personal(request: HttpRequest) -> bool:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return True
    return settings.SESSION_COOKIE_NAME in request.COOKIES
