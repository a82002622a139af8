"""The meetings API, mounted under /api/ in the `api:meetings` namespace."""

from django.urls import path

from . import api

app_name = "meetings"

MEETING = "meetings/<uuid:meeting_id>/"
OCCURRENCE = MEETING + "occurrences/<uuid:occurrence_id>/"
INVITATION = MEETING + "invitations/<int:invitation_id>/"

urlpatterns = [
    path("meetings/", api.MeetingListView.as_view(), name="meeting-list"),
    path(MEETING, api.MeetingDetailView.as_view(), name="meeting-detail"),
    path(MEETING + "occurrences/", api.OccurrenceListView.as_view(), name="occurrence-list"),
    path(OCCURRENCE, api.OccurrenceDetailView.as_view(), name="occurrence-detail"),
    path(OCCURRENCE + "cancel/", api.OccurrenceCancelView.as_view(), name="occurrence-cancel"),
    path(OCCURRENCE + "attendance/", api.AttendanceView.as_view(), name="attendance"),
    path(
        OCCURRENCE + "attendance.csv",
        api.AttendanceCSVView.as_view(),
        {"format": "csv"},
        name="attendance-csv",
    ),
    path(MEETING + "invitations/", api.InvitationListView.as_view(), name="invitation-list"),
    path(INVITATION, api.InvitationDetailView.as_view(), name="invitation-detail"),
    path(INVITATION + "resend/", api.InvitationResendView.as_view(), name="invitation-resend"),
]
