"""Everything under /api/: the apps' endpoints, the OpenAPI schema and its docs page.

Anything else under /api/ is a JSON 404, so API clients never get an HTML page or a
redirect to the slashed address.
"""

from typing import Any

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.views import APIView

app_name = "api"


class UnknownEndpoint(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    schema = None  # not part of the documented API

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        raise NotFound("There is no such API endpoint. API addresses end with a slash.")


urlpatterns = [
    path("", include("meetings.api_urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view loads its start-up script from a URL, not inline, as the CSP requires.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    re_path(r"^", UnknownEndpoint.as_view(), name="unknown"),
]
