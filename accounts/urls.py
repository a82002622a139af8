from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("signup/age/", views.age_screen_view, name="age_screen"),
    path("settings/", views.settings_view, name="settings"),
    path("delete/", views.delete_account_view, name="delete"),
]
