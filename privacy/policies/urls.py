"""The privacy and cookie policies: versions, rendering and change notices."""

from django.urls import path

from . import views

urlpatterns = [
    path("policy/", views.policy, name="policy"),
    path("policy/v<int:version>/", views.policy_version, name="policy_version"),
    path("cookies/", views.cookie_policy, name="cookie_policy"),
    path("cookies/v<int:version>/", views.cookie_policy_version, name="cookie_policy_version"),
    path("california/", views.california, name="california"),
    path("policy/seen/", views.policy_seen, name="policy_seen"),
    path("leaving/", views.leaving, name="leaving"),
]
