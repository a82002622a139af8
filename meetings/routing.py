"""Websocket routes. The meeting room's consumer is added here by the room's module."""

from django.urls import URLPattern

websocket_urlpatterns: list[URLPattern] = []
