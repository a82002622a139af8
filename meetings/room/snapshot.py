"""What the room shows: participants, the lobby queue, and the whole room for one member."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import timezone

from meetings import lobby, time_limit
from meetings.media.ice import browser_ice_servers
from meetings.models import Occurrence, ParticipantSession
from recordings import services as recording_services

from .auth import Member
from .sequence import current_seq

State = ParticipantSession.State


def participant(session: ParticipantSession) -> dict[str, Any]:
    return {
        "id": str(session.public_id),
        "name": session.display_name,
        "is_host": session.is_host,
        "audio_muted": session.audio_muted,
        "video_off": session.video_off,
        "hand_raised": session.hand_raised,
        "screen_sharing": session.screen_sharing,
    }


def waiting_entry(session: ParticipantSession) -> dict[str, Any]:
    return {
        "id": str(session.public_id),
        "name": session.display_name,
        "email": session.email,
        "since": session.requested_at.isoformat(),
    }


def _fresh_since(now: datetime | None = None) -> datetime:
    # Sessions whose heartbeats stopped are gone already, even before they are closed.
    return (now or timezone.now()) - lobby.HEARTBEAT_TIMEOUT


def participants(*, occurrence_id: int) -> list[dict[str, Any]]:
    sessions = ParticipantSession.objects.filter(
        occurrence_id=occurrence_id, state=State.ADMITTED, last_seen_at__gte=_fresh_since()
    ).order_by("admitted_at", "pk")
    return [participant(session) for session in sessions]


def lobby_queue(*, occurrence_id: int) -> list[dict[str, Any]]:
    sessions = ParticipantSession.objects.filter(
        occurrence_id=occurrence_id, state=State.WAITING, last_seen_at__gte=_fresh_since()
    ).order_by("requested_at", "pk")
    return [waiting_entry(session) for session in sessions]


def participant_of(*, session_id: int) -> dict[str, Any]:
    return participant(ParticipantSession.objects.get(pk=session_id))


def ice_servers_for(member: Member) -> list[dict[str, Any]]:
    return browser_ice_servers(
        settings.ICE_SERVER_URLS,
        turn_secret=settings.TURN_SHARED_SECRET or None,
        user_id=member.id,
        ttl=settings.TURN_CREDENTIAL_TTL_SECONDS,
    )


def recording_state(*, occurrence_id: int, member: Member) -> dict[str, Any] | None:
    """The running recording as ``member`` sees it (with their own latest decision)."""
    recording = recording_services.running_recording(occurrence_id=occurrence_id)
    if recording is None:
        return None
    return {
        "id": str(recording.public_id),
        "started_at": recording.started_at.isoformat(),
        "consent": recording_services.consent_of(recording=recording, participant_id=member.id),
    }


# Janus records per publisher, but the consent-aware pipeline for it is not built yet.
JANUS_RECORDING_REFUSAL = "Recording is not yet available in large rooms."
NO_MEDIA_TO_RECORD = (
    "Audio and video haven't started in this meeting, so there is nothing to record."
)


def recording_control(occurrence: Occurrence) -> dict[str, Any]:
    if occurrence.media_engine == "janus":
        return {"allowed": False, "reason": JANUS_RECORDING_REFUSAL, "upgrade_url": None}
    if not occurrence.media_engine and settings.MEDIA_ENGINE != "aiortc":
        return {"allowed": False, "reason": NO_MEDIA_TO_RECORD, "upgrade_url": None}
    return recording_services.recording_control(occurrence=occurrence).as_message()


def snapshot(*, member: Member) -> dict[str, Any]:
    """The whole room as this member may see it, with the sequence number it is current at.

    The number is read first: an event racing with the reads is at worst applied twice,
    and every event is an idempotent replacement (chat aside).
    """
    seq = current_seq(occurrence_id=member.occurrence_id)
    occurrence = Occurrence.objects.select_related("meeting").get(pk=member.occurrence_id)
    return {
        "type": "snapshot",
        "seq": seq,
        "you": member.id,
        "is_host": member.is_host,
        "meeting": {"title": occurrence.meeting.title, "ends_at": occurrence.ends_at.isoformat()},
        "locked": occurrence.locked,
        "unmute_locked": occurrence.unmute_locked,
        "time_limit": time_limit.snapshot_entry(occurrence),
        "recording": recording_state(occurrence_id=member.occurrence_id, member=member),
        "recording_control": recording_control(occurrence) if member.is_host else None,
        # Which media engine the client's media speaks to (null: none yet, see engine.py).
        "media_engine": occurrence.media_engine or None,
        "participants": participants(occurrence_id=member.occurrence_id),
        "lobby": lobby_queue(occurrence_id=member.occurrence_id) if member.is_host else [],
        "ice_servers": ice_servers_for(member),
    }
