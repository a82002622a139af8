from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("signup/age/", views.age_screen_view, name="age_screen"),
    path("settings/", views.settings_view, name="settings"),
    path("settings/api-tokens/", views.api_tokens_view, name="api_tokens"),
    path(
        "settings/api-tokens/<int:token_id>/revoke/",
        views.revoke_api_token_view,
        name="revoke_api_token",
    ),
    path("delete/", views.delete_account_view, name="delete"),
]
