"""The one way staff reach recording media: for quality assurance, if the host allowed it.

`open_for_qa` checks the role, the purpose and the host's choice, and writes the audit log
either way: an opening with its purpose, or a refused attempt with the reason.

The QA console plays what it opened through a grant: a signed, 30-minute token naming the
audit entry of that opening. A video player fetches the file in many range requests; each
one is checked again (role, the host's choice, the recording's state) but not audited
again, because the entry for the opening already says who, what and why, and hundreds of
identical entries per viewing would bury the ones that matter.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction

from accounts.models import User
from accounts.roles import QUALITY_ASSURANCE, has_role
from common.signed_links import BadSignedValue, sign, unsign
from privacy import audit

from . import storage
from .models import Recording

ACCESS = "recording.qa_access"
REFUSED = "recording.qa_access_refused"
PURPOSE_MIN = 10
GRANT_SECONDS = 30 * 60
_GRANT_SALT = "recordings.qa-grant"


class QAUseNotAllowed(Exception):
    """Staff may not open this recording for quality assurance; `message` says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class PurposeTooShort(QAUseNotAllowed):
    pass


@dataclass(frozen=True)
class Opening:
    recording: Recording
    path: Path
    entry_id: int  # the audit entry that records this opening


def _refusal(staff: User, recording: Recording, purpose: str) -> tuple[str, Exception] | None:
    """(reason code, error to raise) when this opening must be refused, else None."""
    if not has_role(staff, QUALITY_ASSURANCE):
        return "no_role", PermissionDenied("Only quality-assurance staff may do this.")
    if len(purpose) < PURPOSE_MIN:
        return "no_purpose", PurposeTooShort(
            f"Say why you open this recording, in at least {PURPOSE_MIN} characters."
        )
    problem = _why_not_openable(recording)
    if problem is not None:
        return problem[0], QAUseNotAllowed(problem[1])
    return None


def _why_not_openable(recording: Recording) -> tuple[str, str] | None:
    """(reason code, message) when the recording can't be opened for QA, else None."""
    if not recording.qa_use_allowed:
        return (
            "qa_use_not_allowed",
            "The host turned off quality-assurance use for this recording.",
        )
    if recording.trashed_at is not None or recording.state != Recording.State.READY:
        return "not_available", "This recording is not available."
    if not storage.composed_path(recording).is_file():
        return "file_missing", "This recording's file is missing."
    return None


def _open(*, staff: User, recording: Recording, purpose: str) -> Opening:
    purpose = " ".join(purpose.split())
    with transaction.atomic():
        # Read the host's choice under a lock: switching QA off wins over an open in flight.
        fresh = Recording.objects.select_for_update().filter(pk=recording.pk).first()
        refusal: tuple[str, Exception]
        if fresh is None:  # deleted for good a moment ago
            refusal = ("not_available", QAUseNotAllowed("This recording is not available."))
        elif (found := _refusal(staff, fresh, purpose)) is not None:
            refusal = found
        else:
            entry = audit.record(
                actor=staff,
                action=ACCESS,
                target_type="recording",
                target_id=str(fresh.public_id),
                purpose=purpose,
                # Not the title: it is the meeting's, which may name people, and the
                # append-only log could never be rid of it on an erasure request.
                details={"host_id": fresh.host_id},
            )
            return Opening(recording=fresh, path=storage.composed_path(fresh), entry_id=entry.pk)
    # Outside the block, so raising cannot roll the record of the attempt back.
    reason, error = refusal
    audit.record(
        actor=staff,
        action=REFUSED,
        target_type="recording",
        target_id=str(recording.public_id),
        purpose=purpose,
        details={"reason": reason},
    )
    raise error


def open_for_qa(*, staff: User, recording: Recording, purpose: str) -> Path:
    """The composed file, after checking and auditing. Refusals raise and are audited too.

    Raises PermissionDenied without the QA role, QAUseNotAllowed (PurposeTooShort for a
    missing purpose) otherwise.
    """
    return _open(staff=staff, recording=recording, purpose=purpose).path


def start_viewing(*, staff: User, recording: Recording, purpose: str) -> str:
    """Open for QA (audited) and return a grant for the console's player."""
    opening = _open(staff=staff, recording=recording, purpose=purpose)
    payload: dict[str, Any] = {"entry": opening.entry_id, "staff": staff.pk}
    return sign(payload, salt=_GRANT_SALT)


def media_for_grant(*, staff: User, grant: str) -> tuple[Recording, Path]:
    """What a grant from `start_viewing` plays, checked again on every request.

    Raises QAUseNotAllowed for a bad, expired or foreign grant, or when the recording can't
    be opened any more (the host switched QA off, it went to the trash).
    """
    if not has_role(staff, QUALITY_ASSURANCE):
        raise PermissionDenied("Only quality-assurance staff may do this.")
    expired = QAUseNotAllowed("This viewing has ended. Open the recording again.")
    try:
        payload = unsign(grant, salt=_GRANT_SALT, max_age=GRANT_SECONDS)
    except BadSignedValue:
        raise expired from None
    if not isinstance(payload, dict) or payload.get("staff") != staff.pk:
        raise expired
    entry_pk = payload.get("entry")
    if not isinstance(entry_pk, int):
        raise expired
    target = audit.target_of(entry_id=entry_pk, action=ACCESS, actor=staff, target_type="recording")
    recording = Recording.objects.filter(public_id=target).first() if target is not None else None
    if recording is None:
        raise expired
    problem = _why_not_openable(recording)
    if problem is not None:
        raise QAUseNotAllowed(problem[1])
    return recording, storage.composed_path(recording)
