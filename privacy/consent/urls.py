from django.urls import path

from . import views

# Included from privacy/urls.py, so these names live in the "privacy" namespace.
urlpatterns = [
    path("cookies/consent/", views.cookie_consent, name="cookie_consent"),
    path("cookies/settings/", views.cookie_settings, name="cookie_settings"),
    path("gpc/", views.gpc_signal, name="gpc_signal"),
    path("staff/consents/", views.staff_consents, name="staff_consents"),
]
