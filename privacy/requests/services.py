"""Every write to privacy requests: intake, verification, steps, answers.

Each step appends to the request's history and to the audit log, and moves the request
only through states.py. Emails to the requester are transactional: they are the answer
the law requires, so no preference can stop them.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from privacy import audit
from privacy.deadlines import legal_date, legal_zone
from privacy.disclosures import subject_key as make_subject_key
from privacy.email_categories import Category
from privacy.mailer import send_email
from privacy.models import (
    PrivacyRequest,
    PrivacyRequestEvent,
    SaleSharingOptOut,
    ShineTheLightNotice,
)

from . import clocks, states
from .shine_the_light import compose_notice
from .tokens import BadToken, make_verification_token, read_verification_token

if TYPE_CHECKING:
    from privacy.subjects import ErasureLine, Subject

Kind = PrivacyRequest.Kind
State = PrivacyRequest.State


# The history's proof that the account holder re-entered their password to ask.
REAUTHENTICATED = "reauthenticated"


class RequestError(Exception):
    """A step that cannot be taken; the message is shown to whoever asked."""


def record_event(
    request: PrivacyRequest, *, action: str, actor: User | None = None, note: str = ""
) -> None:
    # The person acting on their own request (deleting their account from settings) is
    # named as such: their account row outlives the erasure only as a blank.
    by_requester = actor is not None and actor.pk == request.user_id
    label = "system" if actor is None else f"user:{actor.pk}"
    PrivacyRequestEvent.objects.create(
        request=request,
        at=timezone.now(),
        actor=actor,
        actor_label=f"the requester ({label})" if by_requester else label,
        action=action,
        note=note,
    )
    audit.record(
        actor=actor,
        action=f"privacy_request.{action}",
        target_type="privacy_request",
        target_id=request.reference,
        purpose="answer a California privacy request",
        details={"kind": request.kind, **({"by_requester": True} if by_requester else {})},
    )


def _email_requester(
    request: PrivacyRequest,
    *,
    template: str,
    subject: str,
    forget_recipient: bool = False,
    **extra: Any,
) -> None:
    context = {
        "request": request,
        "site_name": settings.SITE_NAME,
        "site_url": settings.SITE_URL,
        "contact_email": settings.PRIVACY_CONTACT_EMAIL,
        **extra,
    }
    # For the Californian requester, not the staff member whose zone this request activated:
    # "received" and "answer by" are then the dates the legal clock counts.
    with timezone.override(legal_zone()):
        text = render_to_string(f"privacy/requests/email/{template}.txt", context)
    send_email(
        to=request.email,
        subject=f"{subject} [{request.reference}]",
        text=text,
        category=Category.TRANSACTIONAL,
        forget_recipient=forget_recipient,
    )


@transaction.atomic
def submit(
    *,
    kind: str,
    channel: str,
    name: str,
    email: str,
    california_resident: bool,
    postal_address: str = "",
    user: User | None = None,
    verified: bool = False,
    received_at: datetime | None = None,
    details: dict[str, Any] | None = None,
    actor: User | None = None,
    reauthenticated: bool = False,
) -> PrivacyRequest:
    """Take in a request. Unverified ones get a magic link; their clock runs from receipt.

    `reauthenticated`: the account holder re-entered their password to send it, which
    is what lets an access export go out without a privacy admin's release.
    """
    kind, channel = Kind(kind), PrivacyRequest.Channel(channel)
    if kind == Kind.SHINE_THE_LIGHT and not california_resident:
        raise RequestError("The California Privacy Rights Notice is for California residents.")
    received_at = received_at or timezone.now()
    due = clocks.deadlines_for(kind, channel, legal_date(received_at))
    now = timezone.now()
    request = PrivacyRequest.objects.create(
        kind=kind,
        state=State.RECEIVED if verified else State.UNVERIFIED,
        channel=channel,
        name=name.strip(),
        email=email.strip().lower(),
        subject_key=make_subject_key(email),
        postal_address=postal_address.strip(),
        california_resident=california_resident,
        user=user,
        received_at=received_at,
        verified_at=now if verified else None,
        due_on=due.due_on,
        clock=due.clock.name,
        confirm_due_on=due.confirm_due_on,
        # The email below confirms receipt, so the 10-business-day clock is met at once.
        confirmed_at=now,
        details=details or {},
    )
    record_event(request, action="received", actor=actor, note=f"Channel: {channel.label}")
    if reauthenticated:
        if user is None or not verified:
            raise RequestError("Only a verified account holder can have re-authenticated.")
        record_event(
            request, action=REAUTHENTICATED, actor=user, note="They re-entered their password."
        )
    if verified:
        _email_requester(request, template="received", subject="We received your request")
        _after_verification(request)
    else:
        token = make_verification_token(request_id=request.pk, email=request.email)
        link = settings.SITE_URL + reverse("privacy:request_verify", args=[token])
        _email_requester(
            request, template="verify", subject="Confirm your privacy request", link=link
        )
    return request


@transaction.atomic
def verify(*, token: str) -> PrivacyRequest:
    try:
        request_id, email = read_verification_token(token)
    except BadToken as exc:
        raise RequestError(str(exc)) from exc
    request = PrivacyRequest.objects.filter(pk=request_id, email=email).first()
    if request is None:
        raise RequestError("This link is not valid.")
    if request.state != State.UNVERIFIED:
        return request  # a second click changes nothing
    if not states.move_from(
        request.pk, current=State.UNVERIFIED, to=State.RECEIVED, verified_at=timezone.now()
    ):
        request.refresh_from_db()
        return request
    request.refresh_from_db()
    record_event(request, action="verified", note="The requester confirmed their email.")
    _after_verification(request)
    return request


def _after_verification(request: PrivacyRequest) -> None:
    """Start whatever needs no one's judgement; the rest waits in the staff queue."""
    from . import tasks

    if request.kind == Kind.SHINE_THE_LIGHT:
        transaction.on_commit(lambda: tasks.answer_shine_the_light.delay(request.pk))
    elif request.kind == Kind.ACCESS:
        from .access_export import hold_unless_reauthenticated

        hold_unless_reauthenticated(request)
        transaction.on_commit(lambda: tasks.build_access_export.delay(request.pk))
    elif request.kind in clocks.OPT_OUT_KINDS:
        _apply_opt_out(request)


def _apply_opt_out(request: PrivacyRequest) -> None:
    if request.kind == Kind.OPT_OUT and request.user is not None:
        SaleSharingOptOut.objects.get_or_create(
            user=request.user,
            defaults={"source": SaleSharingOptOut.Source.REQUEST, "opted_out_at": timezone.now()},
        )
    if request.kind == Kind.OPT_OUT:
        outcome = render_to_string(
            "privacy/requests/outcomes/opt_out.txt", {"has_account": request.user is not None}
        )
    else:
        outcome = render_to_string("privacy/requests/outcomes/limit.txt")
    complete(request=request, outcome=outcome.strip(), actor=None)


def complete(
    *,
    request: PrivacyRequest,
    outcome: str,
    actor: User | None,
    notify: bool = True,
    forget_recipient: bool = False,
) -> PrivacyRequest:
    """Close the request as done; `notify=False` when the answer went out by its own email.

    `forget_recipient`: the send log drops the address once the answer is out (deletion).
    """
    if not states.move(request.pk, to=State.COMPLETED, outcome=outcome):
        raise RequestError("This request is already closed.")
    request.refresh_from_db()
    record_event(request, action="completed", actor=actor, note=outcome)
    if notify:
        _email_requester(
            request,
            template="completed",
            subject="Your privacy request is answered",
            forget_recipient=forget_recipient,
        )
    return request


def deny(*, request: PrivacyRequest, reason: str, actor: User) -> PrivacyRequest:
    if not reason.strip():
        raise RequestError("Say why the request is denied; the requester is told.")
    if not states.move(request.pk, to=State.DENIED, outcome=reason.strip()):
        raise RequestError("This request is already closed.")
    request.refresh_from_db()
    record_event(request, action="denied", actor=actor, note=reason)
    _email_requester(request, template="denied", subject="About your privacy request")
    return request


def extend(*, request: PrivacyRequest, reason: str, actor: User) -> PrivacyRequest:
    """The one 45-day extension the CCPA allows, told to the requester with its reason."""
    if request.kind not in clocks.RESPONSE_KINDS:
        raise RequestError("Only access, deletion and correction requests can be extended.")
    if not reason.strip():
        raise RequestError("Give the reason for the extension; the requester is told.")
    new_due = clocks.extended_due(legal_date(request.received_at))
    updated = PrivacyRequest.objects.filter(
        pk=request.pk, state__in=states.OPEN, extended_at__isnull=True
    ).update(due_on=new_due, extended_at=timezone.now(), extension_reason=reason.strip())
    if not updated:
        raise RequestError("This request was already extended once, or is closed.")
    request.refresh_from_db()
    record_event(request, action="extended", actor=actor, note=reason)
    _email_requester(request, template="extended", subject="We need more time for your request")
    return request


def start(*, request: PrivacyRequest, actor: User | None) -> bool:
    moved = states.move_from(request.pk, current=State.RECEIVED, to=State.IN_PROGRESS)
    if moved:
        request.refresh_from_db()
        record_event(request, action="started", actor=actor)
    return moved


@transaction.atomic
def answer_shine_the_light(*, request: PrivacyRequest) -> PrivacyRequest:
    """Send this year's notice, or, for a second request in a year, a copy of the first."""
    if request.state not in (State.RECEIVED, State.IN_PROGRESS):
        return request
    year = legal_date(request.received_at).year
    existing = ShineTheLightNotice.objects.filter(
        customer_key=request.subject_key, request_year=year
    ).first()
    if existing is None:
        content = compose_notice(
            name=request.name,
            user_id=request.user_id,
            subject_key=request.subject_key,
            request_year=year,
        )
        try:
            with transaction.atomic():
                notice = ShineTheLightNotice.objects.create(
                    request=request,
                    customer_key=request.subject_key,
                    request_year=year,
                    covered_year=content.covered_year,
                    categories=content.categories,
                    third_parties=content.third_parties,
                    text=content.text,
                    created_at=timezone.now(),
                    delivered_at=timezone.now(),
                )
        except IntegrityError:
            existing = ShineTheLightNotice.objects.get(
                customer_key=request.subject_key, request_year=year
            )
    if existing is not None:
        outcome = (
            f"You already asked this year (request {existing.request.reference}, "
            f"answered {legal_date(existing.created_at):%d %B %Y}). The notice is once per "
            "calendar year; a copy of it is in this email."
        )
        _email_requester(
            request,
            template="notice",
            subject="Your California Privacy Rights Notice (copy)",
            notice=existing,
            repeat=True,
            notice_link=_notice_link(existing),
        )
        return complete(request=request, outcome=outcome, actor=None, notify=False)
    _email_requester(
        request,
        template="notice",
        subject="Your California Privacy Rights Notice",
        notice=notice,
        repeat=False,
        notice_link=_notice_link(notice),
    )
    return complete(
        request=request,
        outcome=f"The notice for {notice.covered_year} was sent by email.",
        actor=None,
        notify=False,
    )


def _notice_link(notice: ShineTheLightNotice) -> str:
    from .notice_links import make_notice_token

    return settings.SITE_URL + reverse("privacy:request_notice", args=[make_notice_token(notice)])


def run_access_export(*, request: PrivacyRequest) -> PrivacyRequest:
    """Build the person's ZIP, then send the link or hold it for release (access_export.py)."""
    from .access_export import run

    return run(request=request)


def record_download(*, request: PrivacyRequest, actor: User | None) -> None:
    record_event(request, action="export_downloaded", actor=actor)


def _subject_of(request: PrivacyRequest) -> Subject:
    from privacy.subjects import Subject

    return Subject.for_user(request.user) if request.user else Subject.for_email(request.email)


def erasure_preview(*, request: PrivacyRequest) -> list[ErasureLine]:
    """What a deletion would do, app by app, without changing anything (the dry run)."""
    from .provider_directions import dry_run

    return dry_run(subject=_subject_of(request))


def erase(*, request: PrivacyRequest, actor: User) -> list[ErasureLine]:
    """Carry out a verified deletion request: a privacy admin after reading the dry run,
    or the account holder themself from their settings (account_deletion.py), whom the
    history then names as the requester."""
    from .provider_directions import erase_and_direct

    if request.kind != Kind.DELETE:
        raise RequestError("Only a deletion request erases data.")
    if request.state == State.RECEIVED:
        start(request=request, actor=actor)
        request.refresh_from_db()
    if request.state != State.IN_PROGRESS:
        raise RequestError("This request is not open for deletion.")
    subject = _subject_of(request)  # before the account that gives their name is blanked
    lines = erase_and_direct(request=request, subject=subject)
    kept = [line for line in lines if line.action == "kept"]
    outcome = "We deleted your personal information."
    if kept:
        outcome += " We kept, as the law requires or allows:\n" + "\n".join(
            f"- {line.what} ({line.count}): {line.reason}" for line in kept
        )
    complete(request=request, outcome=outcome, actor=actor, forget_recipient=True)
    scrub_requester(request=request, subject=subject)
    return lines


def scrub_requester(*, request: PrivacyRequest, subject: Subject | None = None) -> None:
    """After a deletion the request itself keeps only the keyed hash of the address
    (and the columns ``erasure.KEPT`` lists); its history loses their name too."""
    from privacy.subjects import Subject

    from .erasure import scrub

    if subject is None:
        subject = Subject(user=None, email=request.email, names=(request.name,))
    scrub(PrivacyRequest.objects.filter(pk=request.pk), subject)


CORRECTABLE_FIELDS = ("full_name", "company", "job_title", "time_zone")


@transaction.atomic
def correct(*, request: PrivacyRequest, changes: dict[str, str], actor: User) -> PrivacyRequest:
    """Apply a correction staff have reviewed, through accounts' own service.

    One transaction: a value the account refuses leaves the request where it was.
    """
    from accounts.services import update_profile

    if request.kind != Kind.CORRECT:
        raise RequestError("Only a correction request changes profile fields.")
    if request.user is None:
        raise RequestError("There is no account to correct for this requester.")
    unknown = set(changes) - set(CORRECTABLE_FIELDS)
    if unknown:
        raise RequestError(f"These fields cannot be corrected here: {', '.join(sorted(unknown))}.")
    if request.state == State.RECEIVED:
        start(request=request, actor=actor)
    update_profile(user=request.user, profile=changes)
    summary = ", ".join(sorted(changes)) or "nothing"
    return complete(request=request, outcome=f"We corrected: {summary}.", actor=actor)
