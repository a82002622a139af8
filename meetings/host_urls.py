"""The host's pages; each needs sign-in and shows only the host's own meetings."""

from django.urls import path

from . import live_views, report_views, views

_MEETING = "meetings/<uuid:public_id>/"
_OCCURRENCE = _MEETING + "occurrences/<uuid:occurrence_id>/"

urlpatterns = [
    path("meetings/", views.dashboard, name="dashboard"),
    path("meetings/new/", views.schedule, name="schedule"),
    path("meetings/now/", views.meet_now, name="meet_now"),
    path(_MEETING, views.detail, name="detail"),
    path(_MEETING + "edit/", views.edit, name="edit"),
    path(_MEETING + "cancel/", views.cancel, name="cancel"),
    path(_MEETING + "invitations/", views.invitation_add, name="invitation_add"),
    path(
        _MEETING + "invitations/<int:invitation_id>/remove/",
        views.invitation_remove,
        name="invitation_remove",
    ),
    path(
        _MEETING + "invitations/<int:invitation_id>/resend/",
        views.invitation_resend,
        name="invitation_resend",
    ),
    *(
        path(
            _MEETING + f"lobby/<uuid:session_id>/{action}/",
            live_views.participant_action,
            {"action": action},
            name=f"lobby_{action}",
        )
        for action in live_views.PARTICIPANT_ACTIONS
    ),
    path(_OCCURRENCE + "edit/", views.occurrence_edit, name="occurrence_edit"),
    path(_OCCURRENCE + "cancel/", views.occurrence_cancel, name="occurrence_cancel"),
    path(_OCCURRENCE + "admit-all/", live_views.admit_all, name="lobby_admit_all"),
    path(_OCCURRENCE + "mute-all/", live_views.mute_all, name="occurrence_mute_all"),
    path(_OCCURRENCE + "lock/", live_views.lock, {"locked": True}, name="occurrence_lock"),
    path(_OCCURRENCE + "unlock/", live_views.lock, {"locked": False}, name="occurrence_unlock"),
    path(_OCCURRENCE + "end/", live_views.end, name="occurrence_end"),
    path(_OCCURRENCE + "attendance/", report_views.attendance_report, name="report"),
    path(_OCCURRENCE + "attendance.csv", report_views.attendance_csv, name="report_csv"),
]
