"""Global Privacy Control: read the signal on every request and make it stand."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from . import selectors, services


class GlobalPrivacyControlMiddleware:
    """Sets ``request.gpc``; a signed-in user's signal records their sale/sharing opt-out.

    A later request without the signal changes nothing: the opt-out is not undone, and
    the absence of a signal is no consent.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.gpc = request.headers.get("Sec-GPC", "").strip() == "1"  # type: ignore[attr-defined]
        if request.gpc:  # type: ignore[attr-defined]
            user = selectors.signed_in_user(request)
            if user is not None:
                services.record_gpc_signal(user=user)
        return self.get_response(request)
