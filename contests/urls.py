from django.urls import path

from . import staff_views, views

app_name = "contests"

urlpatterns = [
    path("staff/", staff_views.staff_list, name="staff_list"),
    path("staff/new/", staff_views.staff_new, name="staff_new"),
    path("staff/<slug:slug>/", staff_views.staff_detail, name="staff_detail"),
    path("staff/<slug:slug>/edit/", staff_views.staff_edit, name="staff_edit"),
    path("staff/<slug:slug>/entrants/", staff_views.staff_entrants, name="staff_entrants"),
    path("staff/<slug:slug>/draw/", staff_views.staff_draw, name="staff_draw"),
    path("confirm/<str:token>/", views.confirm, name="confirm"),
    path("<slug:slug>/", views.detail, name="detail"),
    path("<slug:slug>/check-your-inbox/", views.entry_sent, name="entry_sent"),
]
