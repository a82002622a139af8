"""A person's account for a privacy request: what we hold about it, and erasing it.

Secrets stay out of the export: no password hash, no two-factor secrets or recovery
codes, no API token key (only that a token exists, and since when).
"""

from __future__ import annotations

import json

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.models import Session
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from rest_framework.authtoken.models import Token

from privacy.subjects import AppData, ErasureLine, Subject, lines_with_rows, row

from . import services
from .models import ApiToken, UiPreferences, User
from .tasks import clear_expired_sessions

APP = "accounts"
ERASED_REPR = "(removed on an erasure request)"


def export_for(subject: Subject) -> AppData:
    user = subject.user
    if user is None:
        return {
            "account": [],
            "email_addresses": [],
            "meeting_room_preferences": [],
            "sign_in_security": [],
        }
    account = row(
        email=user.email,
        full_name=user.full_name,
        time_zone=user.time_zone,
        how_heard=user.get_how_heard_display() if user.how_heard else "",
        how_heard_other=user.how_heard_other,
        company=user.company,
        job_title=user.job_title,
        age_screen_passed_at=user.age_screen_passed_at,
        date_joined=user.date_joined,
        last_login=user.last_login,
        is_active=user.is_active,
        roles=sorted(user.groups.values_list("name", flat=True)),
        deleted_at=user.deleted_at,
    )
    addresses = [
        row(email=a.email, verified=a.verified, primary=a.primary)
        for a in EmailAddress.objects.filter(user=user).order_by("-primary", "email")
    ]
    preferences = [
        row(
            join_with_camera_off=p.join_with_camera_off,
            join_with_mic_off=p.join_with_mic_off,
            layout=p.get_layout_display(),
            call_survey_last_asked_at=p.survey_asked_at,
            updated_at=p.updated_at,
        )
        for p in UiPreferences.objects.filter(user=user)
    ]
    security = [
        row(
            kind="two-factor method",
            what=a.get_type_display(),
            created_at=a.created_at,
            last_used_at=a.last_used_at,
        )
        for a in Authenticator.objects.filter(user=user).order_by("created_at")
    ]
    security += [
        row(
            kind="API token",
            what=f"An API token exists, created {token.created:%Y-%m-%d %H:%M} UTC.",
            created_at=token.created,
            last_used_at=None,
        )
        for token in Token.objects.filter(user=user)
    ]
    security += [
        row(
            kind="Personal API token",
            what=f"“{token.name}”, starting {token.prefix}…"
            + (" (revoked)" if token.revoked_at else ""),
            created_at=token.created_at,
            last_used_at=token.last_used_at,
        )
        for token in ApiToken.objects.filter(user=user).order_by("created_at", "pk")
    ]
    return {
        "account": [account],
        "email_addresses": addresses,
        "meeting_room_preferences": preferences,
        "sign_in_security": security,
    }


def _admin_log(subject: Subject) -> QuerySet[LogEntry]:
    """Admin history rows that name the person: about their account, or quoting an address."""
    query = subject.mentioned_q("object_repr", "change_message")
    if subject.user is not None:
        user_type = ContentType.objects.get_for_model(User)
        query |= Q(content_type=user_type, object_id=str(subject.user.pk))
    return LogEntry.objects.filter(query)


def _sessions(subject: Subject) -> list[str]:
    """Session keys of their account, or whose data holds their address or name (a guest's
    join details, a message waiting to be shown). The data is encoded, so each live one is
    read; expired ones are deleted whoever they name (``tasks.clear_expired_sessions`` does
    so daily, and the erasure first), which keeps the pass to the sessions in use."""
    user_id = str(subject.user.pk) if subject.user is not None else None
    keys = []
    live = Session.objects.filter(expire_date__gt=timezone.now())
    for session in live.iterator(chunk_size=2000):
        data = session.get_decoded()
        if (user_id and data.get("_auth_user_id") == user_id) or subject.mentions(
            json.dumps(data, default=str, ensure_ascii=False)
        ):
            keys.append(session.session_key)
    return keys


def erase_for(subject: Subject, *, dry_run: bool) -> list[ErasureLine]:
    user = subject.user
    admin_log = _admin_log(subject)
    sessions = _sessions(subject)
    lines = [
        ErasureLine(
            APP,
            "Admin history entries that name the person (the name is replaced, the entry stays)",
            admin_log.count(),
            "anonymised",
        ),
        ErasureLine(
            APP,
            "Browser sessions: signed in to the account, or holding their address or name",
            len(sessions),
            "deleted",
        ),
    ]
    if user is not None:
        lines = [
            ErasureLine(
                APP,
                "The account: email, name, company, job title, how they heard of us, roles and "
                "password are removed; the row stays deactivated so meetings and invoices keep "
                "their shape",
                1,
                "anonymised",
            ),
            ErasureLine(
                APP,
                "Email addresses of the account",
                EmailAddress.objects.filter(user=user).count(),
                "deleted",
            ),
            ErasureLine(
                APP,
                "Two-factor methods (authenticator apps, security keys, recovery codes)",
                Authenticator.objects.filter(user=user).count(),
                "deleted",
            ),
            ErasureLine(
                APP,
                "API tokens",
                Token.objects.filter(user=user).count()
                + ApiToken.objects.filter(user=user).count(),
                "deleted",
            ),
            ErasureLine(
                APP,
                "Meeting-room preferences",
                UiPreferences.objects.filter(user=user).count(),
                "deleted",
            ),
            *lines,
        ]
    if dry_run:
        return lines_with_rows(lines)
    with transaction.atomic():
        admin_log.update(object_repr=ERASED_REPR, change_message="")
        clear_expired_sessions()
        Session.objects.filter(session_key__in=sessions).delete()
        if user is not None:
            services.delete_account(user=user)
    return lines_with_rows(lines)
