"""What the room's signalling asks of a media server, wherever the media rooms run.

The consumer never holds a media room itself: it asks a gateway. The media server answers
through the channel layer, by sending ``media_signal_event(signal)`` to the participant
connection's ``reply_channel``, wherever that connection lives.

A participant is one peer per room; a reconnect joins the same ``peer_id`` again with a
new ``reply_channel``, and the new connection replaces the old one. ``leave`` with the
connection's ``reply_channel`` removes the peer only while that connection is the current
one, so the late leave of an old socket cannot remove its reconnected successor.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


class MediaUnavailable(Exception):
    """The media engine can't take this participant now; the message is for people."""


class MediaGateway(Protocol):
    async def join(self, *, room: str, peer_id: str, reply_channel: str) -> None: ...

    async def signal(self, *, room: str, peer_id: str, message: dict[str, Any]) -> None: ...

    async def leave(self, *, room: str, peer_id: str, reply_channel: str | None = None) -> None:
        """Remove the peer; with ``reply_channel``, only if it joined with that channel."""
        ...

    async def close_room(self, *, room: str) -> None: ...

    async def start_recording(
        self, *, room: str, recording_id: str, directory: str, consented: list[str]
    ) -> None: ...

    async def recording_consent(
        self, *, room: str, recording_id: str, peer_id: str, accepted: bool
    ) -> None: ...

    async def stop_recording(self, *, room: str, recording_id: str) -> None: ...


@runtime_checkable
class ModeratedGateway(Protocol):
    """A media server that can silence a participant itself (Janus's ``moderate``); on
    the others the muted participant's client mutes itself."""

    async def mute(self, *, room: str, peer_id: str, muted: bool) -> None: ...


def media_signal_event(signal: dict[str, Any]) -> dict[str, Any]:
    """The channel-layer event a consumer turns into a ``media`` message."""
    return {"type": "media.signal", "signal": signal}
