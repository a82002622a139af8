"""Access requests: build the person's ZIP, then send its link, at once or after release.

An account holder who signed in and re-entered their password gets the link as soon as
the ZIP is built. Anyone else proved no more than that they read a mailbox (or a staff
member logged the request for them): releasing meetings and attendance on that alone is
a low degree of certainty (11 CCR 7062), so the built ZIP waits until a privacy admin
has looked at what it holds and at the verification evidence, and releases it. The
answer clock keeps running meanwhile; the requester is told the copy is being reviewed.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from privacy.models import PrivacyRequest, PrivacyRequestEvent

from . import exports, services

State = PrivacyRequest.State


def reauthenticated_account_holder(request: PrivacyRequest) -> bool:
    """Whether the account holder re-entered their password to send the request (the web
    form asks a signed-in person for it, ``reauthentication_required``)."""
    return PrivacyRequestEvent.objects.filter(
        request=request, action=services.REAUTHENTICATED
    ).exists()


def hold_unless_reauthenticated(request: PrivacyRequest) -> None:
    """At verification: mark the export for release unless the account holder asked."""
    if not reauthenticated_account_holder(request):
        PrivacyRequest.objects.filter(pk=request.pk).update(release_required=True)
        request.release_required = True


def awaiting_release() -> Q:
    """Built exports that wait for a privacy admin (the queue's filter and the claim)."""
    return Q(state=State.IN_PROGRESS, release_required=True, released_at__isnull=True) & ~Q(
        export_file=""
    )


def run(*, request: PrivacyRequest) -> PrivacyRequest:
    """Build the ZIP with a live progress figure; send the link, or hold it for release."""
    from .export_zip import build_export_zip

    if request.state == State.RECEIVED:
        services.start(request=request, actor=None)
        request.refresh_from_db()
    if request.state != State.IN_PROGRESS or request.released_at is not None:
        return request
    if request.release_required and request.export_file:
        return request  # built already (a task run twice): it waits for release
    name = exports.new_export_name(request)
    destination = Path(settings.PRIVACY_EXPORTS_ROOT) / name
    destination.parent.mkdir(parents=True, exist_ok=True)

    def progress(percent: int) -> None:
        PrivacyRequest.objects.filter(pk=request.pk).update(progress=min(percent, 99))

    build_export_zip(services._subject_of(request), destination=destination, progress=progress)
    # A held export has no expiry yet: its link's days start at release.
    PrivacyRequest.objects.filter(pk=request.pk).update(export_file=name, progress=100)
    request.refresh_from_db()
    if request.release_required:
        services.record_event(
            request, action="export_held", note="Built; waits for a privacy admin's release."
        )
        services._email_requester(
            request, template="export_review", subject="Your copy is being reviewed"
        )
        return request
    return _deliver(request, actor=None)


@transaction.atomic
def release_export(*, request: PrivacyRequest, actor: User) -> PrivacyRequest:
    """A privacy admin lets a held export go: the link is emailed, the request completes.

    The claim is one conditional UPDATE, so of two admins releasing at once exactly one
    does; the other gets a RequestError saying who did.
    """
    claimed = PrivacyRequest.objects.filter(awaiting_release(), pk=request.pk).update(
        released_at=timezone.now(), released_by=actor
    )
    request.refresh_from_db()
    if not claimed:
        raise services.RequestError(_why_not_releasable(request))
    if not exports.export_path(request).is_file():
        raise services.RequestError(
            "The built copy is missing from storage, so nothing was released. "
            "Deny the request with a reason, or ask an engineer to rebuild it."
        )
    services.record_event(
        request, action="export_released", actor=actor, note="The download link was emailed."
    )
    return _deliver(request, actor=actor)


def _why_not_releasable(request: PrivacyRequest) -> str:
    if request.released_at is not None:
        who = request.released_by.email if request.released_by else "someone"
        return f"Already released by {who} at {request.released_at:%Y-%m-%d %H:%M} UTC."
    if request.state not in (State.RECEIVED, State.IN_PROGRESS):
        return "This request is not open; nothing was released."
    if not request.release_required:
        return "This request does not wait for a release; its link goes out by itself."
    return "The copy is still being built; release it once it is ready."


def _deliver(request: PrivacyRequest, *, actor: User | None) -> PrivacyRequest:
    """The one door a download link leaves by, automatic or released."""
    expires = timezone.now() + timedelta(days=settings.PRIVACY_EXPORT_LINK_DAYS)
    PrivacyRequest.objects.filter(pk=request.pk).update(export_expires_at=expires)
    request.refresh_from_db()
    link = settings.SITE_URL + reverse(
        "privacy:request_download", args=[exports.make_download_token(request)]
    )
    services._email_requester(
        request, template="export_ready", subject="Your data is ready", link=link, expires=expires
    )
    return services.complete(
        request=request,
        outcome=f"A copy of your data was sent as a download link, valid until {expires:%d %B %Y}.",
        actor=actor,
        notify=False,
    )


@dataclass(frozen=True)
class Section:
    app: str
    section: str
    rows: int


@dataclass(frozen=True)
class Contents:
    """What the built ZIP holds, in counts: the release preview."""

    sections: list[Section]
    media_files: int
    size_bytes: int


def export_contents(request: PrivacyRequest) -> Contents | None:
    """Sections and row counts read from the built ZIP itself: what would go out."""
    path = exports.export_path(request) if request.export_file else None
    if path is None or not path.is_file():
        return None
    with zipfile.ZipFile(path) as archive:
        data = json.loads(archive.read("data.json"))["data"]
        media = [info for info in archive.infolist() if info.filename.startswith("recordings/")]
    sections = [
        Section(app, section, len(rows))
        for app, app_sections in data.items()
        for section, rows in app_sections.items()
    ]
    return Contents(sections, len(media), path.stat().st_size)


@dataclass(frozen=True)
class Evidence:
    """How the requester was verified; no IP address, no device."""

    channel: str
    has_account: bool
    reauthenticated: bool
    how: str
    verified_at: datetime | None


def verification_evidence(request: PrivacyRequest) -> Evidence:
    events = {event.action: event for event in request.events.select_related("actor")}
    received, verified = events.get("received"), events.get("verified")
    reauthenticated = reauthenticated_account_holder(request)
    if reauthenticated:
        how = "Signed in to their account and re-entered the password before sending the form."
    elif verified is not None:
        how = f"Opened the confirmation link emailed to {request.email}."
    elif received is not None and received.actor is not None:
        how = f"Marked as verified by {received.actor.email} when the request was logged."
    else:
        how = "Marked as verified when the request was taken in."
    return Evidence(
        channel=request.get_channel_display(),
        has_account=request.user_id is not None,
        reauthenticated=reauthenticated,
        how=how,
        verified_at=request.verified_at,
    )
