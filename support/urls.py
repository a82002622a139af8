from django.urls import path

from . import views

app_name = "support"

urlpatterns = [
    path("", views.contact, name="contact"),
    path("sent/", views.contact_sent, name="contact_sent"),
    path("staff/", views.staff_tickets, name="staff_tickets"),
    path("staff/<str:reference>/", views.staff_ticket, name="staff_ticket"),
    path(
        "staff/<str:reference>/privacy-request/",
        views.staff_ticket_to_request,
        name="staff_ticket_to_request",
    ),
]
