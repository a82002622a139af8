from django.urls import path

from . import staff_views, views

app_name = "feedback"

urlpatterns = [
    path("feedback/survey/", views.answer, name="survey"),
    path("staff/quality/", staff_views.dashboard, name="staff_quality"),
    path("staff/quality/answers.csv", staff_views.dashboard_csv, name="staff_quality_csv"),
]
