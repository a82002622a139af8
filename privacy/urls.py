from django.urls import include, path

from . import views

app_name = "privacy"

urlpatterns = [
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("email-preferences/", views.email_preferences, name="email_preferences"),
    path("staff/suppressions/", views.suppression_console, name="staff_suppressions"),
]
# Each area of privacy keeps its routes in its own package.
urlpatterns += [
    path("", include("privacy.policies.urls")),
    # area urls: consent
    # area urls: newsletter
]
