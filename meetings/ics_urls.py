"""The host's calendar-file download."""

from django.urls import path

from . import ics_views

urlpatterns = [
    path("meetings/<uuid:public_id>/invite.ics", ics_views.download_ics, name="ics"),
]
