"""Recording from the room: the host starts and stops it, each participant consents."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from meetings.models import Occurrence, ParticipantSession
from recordings import services as recording_services
from recordings import storage as recording_storage
from recordings.errors import RecordingError

from .. import effects
from ..auth import Member
from ..snapshot import JANUS_RECORDING_REFUSAL, NO_MEDIA_TO_RECORD
from .common import ActionRefused, Actor, audit, occurrence_for, room_of, stop_recording


def _refused(exc: RecordingError) -> ActionRefused:
    return ActionRefused(exc.code, exc.message)


def start(*, occurrence_id: int, by: Actor) -> str:
    """The host starts recording; they consent by starting it. Returns the recording's id."""
    with transaction.atomic():
        occurrence = occurrence_for(occurrence_id, by)
        if by.session_id is None:
            raise ActionRefused("invalid_action", "Recording starts from inside the meeting.")
        if occurrence.media_engine == "janus":
            raise ActionRefused("recording_unavailable", JANUS_RECORDING_REFUSAL)
        if not occurrence.media_engine and settings.MEDIA_ENGINE != "aiortc":
            # No engine could take this sitting (Janus down): there is nothing to record.
            raise ActionRefused("recording_unavailable", NO_MEDIA_TO_RECORD)
        session = ParticipantSession.objects.select_related("occurrence__meeting__host").get(
            pk=by.session_id
        )
        try:
            recording = recording_services.start_recording(occurrence=occurrence, by=session)
        except RecordingError as exc:
            raise _refused(exc) from exc
        audit(occurrence, "recording_start", by, recording=str(recording.public_id))
        public_id = str(recording.public_id)
        command = effects.MediaCommand(
            "start_recording",
            recording_id=public_id,
            directory=str(recording_storage.tracks_directory(recording)),
            consented=(str(session.public_id),),
        )
        started = {
            "id": public_id,
            "started_at": recording.started_at.isoformat(),
            "started_by": str(session.public_id),
        }
        effects.queue(
            effects.Effects(
                occurrence.pk,
                room_of(occurrence),
                media=(command,),
                events=(effects.RoomEvent({"type": "recording_started", "recording": started}),),
            )
        )
    return public_id


def stop(*, occurrence_id: int, by: Actor) -> None:
    """The host stops recording: the media server closes its files, processing follows."""
    with transaction.atomic():
        occurrence = occurrence_for(occurrence_id, by)
        try:
            recording_services.require_running(occurrence_id=occurrence.pk)
        except RecordingError as exc:
            raise _refused(exc) from exc
        stopped = stop_recording(occurrence.pk)
        if not stopped.media:
            raise ActionRefused("not_recording", "Nothing is being recorded.")
        audit(occurrence, "recording_stop", by)
        effects.queue(
            effects.Effects(
                occurrence.pk, room_of(occurrence), media=stopped.media, events=stopped.events
            )
        )


def consent(*, member: Member, recording_id: str, accepted: bool) -> str:
    """A participant agrees to be recorded, or not; the media server follows at once.
    Returns the decision as recorded."""
    with transaction.atomic():
        session = ParticipantSession.objects.get(pk=member.session_id)
        try:
            recording, receipt = recording_services.record_consent(
                recording_id=recording_id, session=session, accepted=accepted
            )
        except RecordingError as exc:
            raise _refused(exc) from exc
        except (ValidationError, ValueError) as exc:
            raise ActionRefused(
                "not_found", "That recording isn't running in this meeting."
            ) from exc
        public_id = str(recording.public_id)
        effects.queue(
            effects.Effects(
                member.occurrence_id,
                member.room,
                direct=(
                    effects.Direct(
                        member.id,
                        {
                            "type": "recording_consent",
                            "recording": public_id,
                            "consent": receipt.decision,
                        },
                    ),
                ),
                media=(
                    effects.MediaCommand(
                        "recording_consent",
                        recording_id=public_id,
                        peer_id=member.id,
                        accepted=accepted,
                    ),
                ),
            )
        )
    return receipt.decision


def stop_abandoned() -> int:
    """For the periodic task: stop the recordings of sittings that ended or emptied while
    their room's own stop was lost, as the host's stop would (media server, event,
    processing). Returns how many were stopped."""
    stopped = 0
    for occurrence_id in recording_services.abandoned_sittings():
        with transaction.atomic():
            occurrence = Occurrence.objects.get(pk=occurrence_id)
            result = stop_recording(occurrence.pk)
            if not result.media:
                continue  # stopped meanwhile by someone else
            audit(occurrence, "recording_stop", Actor.system(), abandoned=True)
            effects.queue(
                effects.Effects(
                    occurrence.pk, room_of(occurrence), media=result.media, events=result.events
                )
            )
            stopped += 1
    return stopped
