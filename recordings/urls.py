"""The recordings library (host only), share links (anyone with one) and the QA console."""

from django.urls import path

from . import share_views, staff_views, views

app_name = "recordings"

_ONE = "<uuid:public_id>/"

urlpatterns = [
    path("", views.library_page, name="library"),
    path("status.json", views.library_status, name="library_status"),
    path(_ONE, views.detail, name="detail"),
    path(_ONE + "status.json", views.status, name="status"),
    path(_ONE + "media", views.media_file, name="media"),
    path(_ONE + "thumbnail", views.thumbnail, name="thumbnail"),
    path(_ONE + "rename/", views.rename, name="rename"),
    path(_ONE + "retention/", views.retention, name="retention"),
    path(_ONE + "qa-use/", views.qa_use, name="qa_use"),
    path(_ONE + "trash/", views.trash, name="trash"),
    path(_ONE + "restore/", views.restore, name="restore"),
    path(_ONE + "delete/", views.delete_forever, name="delete_forever"),
    path(_ONE + "retry/", views.retry, name="retry"),
    path(_ONE + "share-links/", views.share_create, name="share_create"),
    path(_ONE + "share-links/<int:link_id>/revoke/", views.share_revoke, name="share_revoke"),
    path("shared/<str:token>/", share_views.shared, name="shared"),
    path("shared/<str:token>/media", share_views.shared_media, name="shared_media"),
    path("staff/qa/", staff_views.console, name="staff_qa"),
    path("staff/qa/<uuid:public_id>/", staff_views.open_recording, name="staff_qa_open"),
    path("staff/qa/watch/<str:grant>/", staff_views.watch, name="staff_qa_watch"),
    path("staff/qa/watch/<str:grant>/media", staff_views.media_file, name="staff_qa_media"),
]
