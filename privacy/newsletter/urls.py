from django.urls import path

from . import views

urlpatterns = [
    path("", views.signup, name="signup"),
    path("check-your-inbox/", views.signup_sent, name="signup_sent"),
    path("confirm/<str:token>/", views.confirm, name="confirm"),
    path("staff/", views.staff_list, name="staff_list"),
    path("staff/new/", views.staff_new, name="staff_new"),
    path("staff/<int:pk>/", views.staff_detail, name="staff_detail"),
    path("staff/<int:pk>/edit/", views.staff_edit, name="staff_edit"),
    path("staff/<int:pk>/test/", views.staff_send_test, name="staff_send_test"),
    path("staff/<int:pk>/send/", views.staff_send, name="staff_send"),
    path("staff/<int:pk>/log/", views.staff_log, name="staff_log"),
]
