"""Join links: the meeting's own, and a signed personal one per invitee."""

from urllib.parse import urlencode

from django.conf import settings
from django.urls import reverse

from common.signed_links import BadSignedValue, sign_text, unsign_text

from .models import Invitation, Meeting

PERSONAL_PARAM = "i"


def _salt(meeting: Meeting) -> str:
    # Per meeting, so a personal link cannot be carried over to another meeting.
    return f"meetings.personal-link.{meeting.pk}"


def join_path(meeting: Meeting) -> str:
    return reverse("meetings:join", args=[meeting.join_token])


def join_url(meeting: Meeting) -> str:
    return settings.SITE_URL + join_path(meeting)


def personal_join_url(invitation: Invitation) -> str:
    value = sign_text(str(invitation.pk), salt=_salt(invitation.meeting))
    return f"{join_url(invitation.meeting)}?{urlencode({PERSONAL_PARAM: value})}"


def invitation_from_link(meeting: Meeting, value: str | None) -> Invitation | None:
    """The invitation a personal link names, or None if absent, forged or removed."""
    if not value:
        return None
    try:
        pk = int(unsign_text(value, salt=_salt(meeting)))
    except (BadSignedValue, ValueError):
        return None
    return meeting.invitations.filter(pk=pk).first()
