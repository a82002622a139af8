from django.urls import URLPattern, URLResolver, include, path

from . import views

app_name = "privacy"

urlpatterns: list[URLPattern | URLResolver] = [
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("email-preferences/", views.email_preferences, name="email_preferences"),
    path(
        "email-preferences/<str:token>/",
        views.email_preferences_link,
        name="email_preferences_link",
    ),
    path("staff/suppressions/", views.suppression_console, name="staff_suppressions"),
]
# Each area of privacy keeps its routes in its own package.
urlpatterns += [
    path("", include("privacy.policies.urls")),
    path("", include("privacy.consent.urls")),
    # area urls: consent
    # area urls: newsletter
    path("", include("privacy.requests.urls")),
    # area urls: requests
]
