"""The meetings API, mounted under /api/ in the `api:meetings` namespace."""

from django.urls import path

from . import api, attendance_api, live_api

app_name = "meetings"

MEETING = "meetings/<uuid:meeting_id>/"
OCCURRENCE = MEETING + "occurrences/<uuid:occurrence_id>/"
LIVE = OCCURRENCE + "live/"
PARTICIPANT = LIVE + "participants/<uuid:participant_id>/"
INVITATION = MEETING + "invitations/<int:invitation_id>/"

urlpatterns = [
    path("meetings/", api.MeetingListView.as_view(), name="meeting-list"),
    path(MEETING, api.MeetingDetailView.as_view(), name="meeting-detail"),
    path(MEETING + "occurrences/", api.OccurrenceListView.as_view(), name="occurrence-list"),
    path(OCCURRENCE, api.OccurrenceDetailView.as_view(), name="occurrence-detail"),
    path(OCCURRENCE + "cancel/", api.OccurrenceCancelView.as_view(), name="occurrence-cancel"),
    path(OCCURRENCE + "attendance/", attendance_api.AttendanceView.as_view(), name="attendance"),
    path(
        OCCURRENCE + "attendance.csv",
        attendance_api.AttendanceCSVView.as_view(),
        {"format": "csv"},
        name="attendance-csv",
    ),
    path(LIVE, live_api.LiveStateView.as_view(), name="live"),
    *(
        path(
            PARTICIPANT + f"{action}/",
            live_api.participant_action_view(action).as_view(),
            name=f"live-{action}",
        )
        for action in live_api.PARTICIPANT_ACTIONS
    ),
    path(LIVE + "admit-all/", live_api.AdmitAllView.as_view(), name="live-admit-all"),
    path(LIVE + "mute-all/", live_api.MuteAllView.as_view(), name="live-mute-all"),
    path(LIVE + "lock/", live_api.lock_view(True).as_view(), name="live-lock"),
    path(LIVE + "unlock/", live_api.lock_view(False).as_view(), name="live-unlock"),
    path(LIVE + "end/", live_api.EndView.as_view(), name="live-end"),
    path(MEETING + "invitations/", api.InvitationListView.as_view(), name="invitation-list"),
    path(INVITATION, api.InvitationDetailView.as_view(), name="invitation-detail"),
    path(INVITATION + "resend/", api.InvitationResendView.as_view(), name="invitation-resend"),
]
