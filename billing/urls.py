from django.urls import path

from . import views

app_name = "billing"

urlpatterns = [
    path("staff/plans/", views.staff_plans, name="staff_plans"),
]
