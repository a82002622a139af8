"""Routes for California privacy requests, the ledger and the registry (under /privacy/)."""

from django.urls import path

from privacy import ledger_views

from . import staff_views, views

urlpatterns = [
    path("requests/new/", views.request_new, name="request_new"),
    path("requests/sent/", views.request_sent, name="request_sent"),
    path("california/request/", views.california_request, name="california_request"),
    path("requests/verify/<str:token>/", views.request_verify, name="request_verify"),
    path("requests/download/<str:token>/", views.request_download, name="request_download"),
    path("requests/notice/<str:token>/", views.request_notice, name="request_notice"),
    path("staff/requests/", staff_views.staff_requests, name="staff_requests"),
    path("staff/requests/new/", staff_views.staff_request_new, name="staff_request_new"),
    path(
        "staff/requests/metrics/", staff_views.staff_request_metrics, name="staff_request_metrics"
    ),
    path("staff/requests/<str:reference>/", staff_views.staff_request, name="staff_request"),
    path(
        "staff/requests/<str:reference>/status/",
        staff_views.staff_request_status,
        name="staff_request_status",
    ),
    path(
        "staff/requests/<str:reference>/deny/",
        staff_views.staff_request_deny,
        name="staff_request_deny",
    ),
    path(
        "staff/requests/<str:reference>/extend/",
        staff_views.staff_request_extend,
        name="staff_request_extend",
    ),
    path(
        "staff/requests/<str:reference>/start/",
        staff_views.staff_request_start,
        name="staff_request_start",
    ),
    path(
        "staff/requests/<str:reference>/complete/",
        staff_views.staff_request_complete,
        name="staff_request_complete",
    ),
    path(
        "staff/requests/<str:reference>/erase/",
        staff_views.staff_request_erase,
        name="staff_request_erase",
    ),
    path(
        "staff/requests/<str:reference>/release/",
        staff_views.staff_request_release,
        name="staff_request_release",
    ),
    path(
        "staff/requests/<str:reference>/correct/",
        staff_views.staff_request_correct,
        name="staff_request_correct",
    ),
    path("staff/ledger/", ledger_views.staff_ledger, name="staff_ledger"),
    path("staff/third-parties/", ledger_views.staff_third_parties, name="staff_third_parties"),
    path(
        "staff/third-parties/<slug:slug>/",
        ledger_views.staff_third_party_edit,
        name="staff_third_party_edit",
    ),
]
