from django.urls import path

from . import views

app_name = "privacy"

urlpatterns = [
    path("policy/", views.policy, name="policy"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("email-preferences/", views.email_preferences, name="email_preferences"),
    path("staff/suppressions/", views.suppression_console, name="staff_suppressions"),
]
# Each area of privacy adds its routes below, from its own package's urls module.
