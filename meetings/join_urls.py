"""Join links, open to anyone who has one."""

from django.urls import path

from . import join_views, room_views

urlpatterns = [
    path("j/<str:token>/", join_views.join, name="join"),
    path("j/<str:token>/lobby/", join_views.lobby_page, name="lobby"),
    path("j/<str:token>/status/", join_views.lobby_status, name="lobby_status"),
    path("j/<str:token>/leave/", join_views.leave, name="leave"),
    path("j/<str:token>/room/", room_views.room, name="room"),
]
