"""Scheduling, invitations, join links, the lobby, the realtime room and attendance."""
