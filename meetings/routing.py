"""Websocket routes: the meeting room, by its join link's token."""

from django.urls import URLPattern, re_path

from meetings.room.consumer import RoomConsumer

websocket_urlpatterns: list[URLPattern] = [
    re_path(r"^ws/meetings/(?P<token>[A-Za-z0-9_-]{16,64})/$", RoomConsumer.as_asgi()),
]
