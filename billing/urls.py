from django.urls import path

from . import staff_views, views

app_name = "billing"

urlpatterns = [
    path("plans/", views.plans, name="plans"),
    path("checkout/", views.checkout, name="checkout"),
    path("portal/", views.portal, name="portal"),
    path("subscription/change/", views.change_plan, name="change_plan"),
    path("subscription/cancel/", views.cancel, name="cancel"),
    path("subscription/resume/", views.resume, name="resume"),
    path("stripe/webhook/", views.stripe_webhook, name="stripe_webhook"),
    path("staff/plans/", views.staff_plans, name="staff_plans"),
    path("staff/webhooks/failed/", staff_views.failed_events, name="staff_failed_events"),
    path("staff/webhooks/<int:pk>/retry/", staff_views.retry_event, name="staff_retry_event"),
]
