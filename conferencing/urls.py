from django.contrib import admin
from django.urls import include, path

from accounts import views as account_views
from privacy.consent.views import gpc_json

urlpatterns = [
    path("", account_views.home, name="home"),
    # Before allauth's own route, so sign-up always passes the age screen first.
    path("accounts/signup/", account_views.SignupView.as_view(), name="account_signup"),
    path("accounts/", include("accounts.urls")),
    path("accounts/", include("allauth.urls")),
    path("staff/", account_views.staff_index, name="staff"),
    path("", include("meetings.urls")),
    path("recordings/", include("recordings.urls")),
    path("privacy/", include("privacy.urls")),
    path("newsletter/", include(("privacy.newsletter.urls", "newsletter"))),
    path(".well-known/gpc.json", gpc_json, name="gpc_json"),
    path("billing/", include("billing.urls")),
    path("staff/finance/", include("billing.finance.urls")),
    path("contact/", include("support.urls")),
    path("contests/", include("contests.urls")),
    path("", include("feedback.urls")),
    path("api/", include("conferencing.api_urls")),
    path("admin/", admin.site.urls),
]
