from django.urls import path

from . import promotions, views

app_name = "finance"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("metrics.csv", views.metrics_csv, name="metrics_csv"),
    path("subscriptions/", views.subscriptions, name="subscriptions"),
    path("subscriptions.csv", views.subscriptions_csv, name="subscriptions_csv"),
    path("failed-payments/", views.failed_payments, name="failed_payments"),
    path("failed-payments.csv", views.failed_payments_csv, name="failed_payments_csv"),
    path("promotions/", promotions.promotion_list, name="promotions"),
    path("promotions/deactivate/", promotions.promotion_deactivate, name="promotion_deactivate"),
    path("promotions.csv", promotions.promotions_csv, name="promotions_csv"),
    path("customers/<str:stripe_customer_id>/", views.customer, name="customer"),
    path(
        "customers/<str:stripe_customer_id>/invoices.csv",
        views.customer_invoices_csv,
        name="customer_invoices_csv",
    ),
]
