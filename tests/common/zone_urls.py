"""A page that says which zone is active, for the time-zone middleware's tests."""

from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.utils import timezone


def active_zone(request: HttpRequest) -> HttpResponse:
    return HttpResponse(timezone.get_current_timezone_name())


urlpatterns = [path("zone/", active_zone)]
