"""Privacy's own records about a person, for their access and deletion requests.

Erasure deletes the email preferences and consent log, the outbox rows to them, newsletter
sign-ups and deliveries, the sale/sharing opt-out and policy notices; cookie-consent
receipts lose their link to the account. Two records are kept as legal records: the
disclosure ledger and the audit log. Neither holds the address: the ledger names a person
by account id or keyed hash, the audit log by account id (see ``audit.record``).
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q, QuerySet

from .disclosures import subject_key
from .models import (
    AuditEntry,
    CookieConsent,
    Disclosure,
    EmailConsentEvent,
    EmailPreference,
    NewsletterDelivery,
    NewsletterSignup,
    OutgoingEmail,
    PolicyAcknowledgement,
    PolicyNotice,
    SaleSharingOptOut,
)
from .requests import erasure as request_erasure
from .subjects import AppData, ErasureLine, Subject, lines_with_rows, row

APP = "privacy"
WITHDRAWN = "Not sent: it named a person whose data was erased."
WITHDRAWN_SUBJECT = "(removed on an erasure request)"
_CONTENT_FIELDS = ("subject", "text_body", "html_body", "calendar", "attachments")


def _by_user(subject: Subject) -> Q:
    return Q(user=subject.user) if subject.user is not None else Q(pk__in=[])


def _cookie_consents(subject: Subject) -> QuerySet[CookieConsent]:
    if subject.user is None:
        return CookieConsent.objects.none()
    return CookieConsent.objects.filter(user=subject.user)


def _opt_outs(subject: Subject) -> QuerySet[SaleSharingOptOut]:
    if subject.user is None:
        return SaleSharingOptOut.objects.none()
    return SaleSharingOptOut.objects.filter(user=subject.user)


def _notices(subject: Subject) -> QuerySet[PolicyNotice]:
    return PolicyNotice.objects.filter(_by_user(subject))


def _acknowledgements(subject: Subject) -> QuerySet[PolicyAcknowledgement]:
    return PolicyAcknowledgement.objects.filter(_by_user(subject))


def _disclosures(subject: Subject) -> QuerySet[Disclosure]:
    query = Q(subject_key__in=[subject_key(address) for address in subject.emails])
    if subject.user is not None:
        query |= Q(user=subject.user)
    return Disclosure.objects.filter(query)


def _outbox_to(subject: Subject) -> QuerySet[OutgoingEmail]:
    return OutgoingEmail.objects.filter(subject.email_q("to"))


def _outbox_mentioning(subject: Subject) -> QuerySet[OutgoingEmail]:
    """Messages to others that quote the address or name them (an invitation's organiser,
    a meeting title "Office hours with ..."); only distinctive names count (``Subject.names``)."""
    return OutgoingEmail.objects.filter(subject.mentioned_q(*_CONTENT_FIELDS)).exclude(
        subject.email_q("to")
    )


def _audit_entries(subject: Subject) -> QuerySet[AuditEntry]:
    if subject.user is None:
        return AuditEntry.objects.none()
    return AuditEntry.objects.filter(
        Q(actor=subject.user) | Q(target_type="user", target_id=str(subject.user.pk))
    )


def export_for(subject: Subject) -> AppData:
    email_q = subject.email_q("email")
    return {
        "email_preferences": [
            row(
                email=p.email,
                category=p.get_category_display(),
                subscribed=p.subscribed,
                source=p.get_source_display(),
                changed_at=p.changed_at,
            )
            for p in EmailPreference.objects.filter(email_q).order_by("category")
        ],
        "email_consent_log": [
            row(
                email=e.email,
                category=e.get_category_display(),
                subscribed=e.subscribed,
                source=e.get_source_display(),
                at=e.at,
            )
            for e in EmailConsentEvent.objects.filter(email_q).order_by("at", "pk")
        ],
        "emails_sent": [
            row(
                to=m.to,
                category=m.get_category_display(),
                subject=m.subject,
                status=m.get_status_display(),
                queued_at=m.created_at,
                sent_at=m.sent_at,
            )
            for m in _outbox_to(subject).order_by("created_at", "pk")
        ],
        "cookie_consents": [
            row(
                consent_id=c.consent_id,
                choice=c.get_action_display(),
                preferences=c.preferences,
                analytics=c.analytics,
                marketing=c.marketing,
                global_privacy_control=c.gpc,
                banner_version=c.banner_version,
                at=c.created_at,
            )
            for c in _cookie_consents(subject).order_by("created_at", "pk")
        ],
        "sale_sharing_opt_out": [
            row(
                source=o.get_source_display(),
                opted_out_at=o.opted_out_at,
                last_signal_at=o.last_signal_at,
            )
            for o in _opt_outs(subject)
        ],
        "newsletter_signups": [
            row(
                email=s.email,
                requested_at=s.requested_at,
                confirmations_sent=s.confirmations_sent,
                confirmed_at=s.confirmed_at,
            )
            for s in NewsletterSignup.objects.filter(email_q).order_by("requested_at", "pk")
        ],
        "newsletter_deliveries": [
            row(
                newsletter=d.newsletter.subject,
                email=d.email,
                status=d.get_status_display(),
                processed_at=d.processed_at,
            )
            for d in NewsletterDelivery.objects.filter(email_q)
            .select_related("newsletter")
            .order_by("pk")
        ],
        "policy_notices": [
            row(document=n.get_document_display(), version=n.version, sent_at=n.sent_at)
            for n in _notices(subject).order_by("sent_at", "pk")
        ],
        "policy_acknowledgements": [
            row(document=a.get_document_display(), version=a.version, seen_at=a.seen_at)
            for a in _acknowledgements(subject).order_by("seen_at", "pk")
        ],
        "disclosures": [
            row(
                third_party=d.third_party.name,
                third_party_address=d.third_party.postal_address,
                purpose=d.get_purpose_display(),
                categories=list(d.categories),
                description=d.description,
                reference=d.reference,
                at=d.at,
            )
            for d in _disclosures(subject).select_related("third_party").order_by("at", "pk")
        ],
    }


def erase_for(subject: Subject, *, dry_run: bool) -> list[ErasureLine]:
    email_q = subject.email_q("email")
    preferences = EmailPreference.objects.filter(email_q)
    consent_log = EmailConsentEvent.objects.filter(email_q)
    signups = NewsletterSignup.objects.filter(email_q)
    deliveries = NewsletterDelivery.objects.filter(email_q)
    outbox = _outbox_to(subject)
    mentioning = _outbox_mentioning(subject)
    cookies = _cookie_consents(subject)
    opt_outs = _opt_outs(subject)
    notices = _notices(subject)
    acknowledgements = _acknowledgements(subject)
    audit_legacy = AuditEntry.objects.filter(
        subject.mentioned_q("actor_label", "target_id", "purpose", "details")
    )
    lines = [
        ErasureLine(
            APP, "Email preferences (and suppression entries)", preferences.count(), "deleted"
        ),
        ErasureLine(APP, "Email consent log", consent_log.count(), "deleted"),
        ErasureLine(
            APP, "Emails sent or queued to them (outbox and send log)", outbox.count(), "deleted"
        ),
        ErasureLine(
            APP,
            "Messages to other people that quote their address or name: the content is "
            "removed, a subject line naming them replaced, a message not yet sent withdrawn",
            mentioning.count(),
            "anonymised",
        ),
        ErasureLine(APP, "Newsletter sign-ups", signups.count(), "deleted"),
        ErasureLine(APP, "Newsletter deliveries", deliveries.count(), "deleted"),
        ErasureLine(
            APP,
            "Cookie-consent receipts: the link to the account is cut, the anonymous choice stays",
            cookies.count(),
            "anonymised",
        ),
        ErasureLine(APP, "Opt-out of sale or sharing", opt_outs.count(), "deleted"),
        ErasureLine(APP, "Policy change notices sent", notices.count(), "deleted"),
        ErasureLine(APP, "Policy change acknowledgements", acknowledgements.count(), "deleted"),
        ErasureLine(
            APP,
            "Disclosure ledger entries about them",
            _disclosures(subject).count(),
            "kept",
            reason=(
                "The disclosure ledger is a legal record (Cal. Civ. Code 1798.83 notices are "
                "computed from it). It names the person only by account id or a keyed hash "
                "of the address, never the address or name."
            ),
            columns=tuple(
                f"privacy.Disclosure.{column}"
                for column in ("user", "subject_key", "purpose", "categories", "description", "at")
            ),
        ),
        ErasureLine(
            APP,
            "Audit log entries by or about their account",
            _audit_entries(subject).count(),
            "kept",
            reason=(
                "The audit log is an append-only, hash-chained legal record of who accessed "
                "personal data. It names accounts by id, never by address."
            ),
            columns=tuple(
                f"privacy.AuditEntry.{column}"
                for column in ("actor", "actor_label", "action", "target_type", "target_id", "at")
            ),
        ),
        ErasureLine(
            APP,
            "Audit log entries written before addresses were kept out of the log that "
            "quote their address or name",
            audit_legacy.count(),
            "kept",
            reason=(
                "An audit entry cannot be edited without breaking the hash chain that proves "
                "the log is complete; these rows are kept as the legal record they are."
            ),
            columns=tuple(
                f"privacy.AuditEntry.{column}"
                for column in ("actor_label", "target_id", "purpose", "details")
            ),
        ),
        *request_erasure.erase_for(subject, dry_run=True),
    ]
    if dry_run:
        return lines_with_rows(lines)
    with transaction.atomic():
        request_erasure.erase_for(subject, dry_run=False)
        _withdraw(mentioning, subject)
        for queryset in (
            preferences,
            consent_log,
            deliveries,
            outbox,
            signups,
            opt_outs,
            notices,
            acknowledgements,
        ):
            queryset.delete()
        cookies.update(user=None)
    return lines_with_rows(lines)


def _withdraw(messages: QuerySet[OutgoingEmail], subject: Subject) -> None:
    unsent = (OutgoingEmail.Status.QUEUED, OutgoingEmail.Status.SENDING)
    for message in list(messages):
        changes: dict[str, object] = {
            "text_body": "",
            "html_body": "",
            "calendar": "",
            "attachments": [],
        }
        if subject.mentions(message.subject):
            changes["subject"] = WITHDRAWN_SUBJECT
        if message.status in unsent:
            changes |= {"status": OutgoingEmail.Status.FAILED, "last_error": WITHDRAWN}
        OutgoingEmail.objects.filter(pk=message.pk).update(**changes)
