"""A person with data in every app, and other people around them, for export and erasure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.apps import apps
from django.contrib.auth.hashers import make_password
from django.db import models
from django.db.models import Q
from rest_framework.authtoken.models import Token

from accounts.models import UiPreferences, User
from billing.models import Customer, Invoice, Subscription, WebhookEvent
from feedback.models import CallRating
from meetings.invitations import email_request
from meetings.models import (
    Invitation,
    Meeting,
    Occurrence,
    ParticipantSession,
    ReminderDelivery,
    UsageSummaryDelivery,
)
from privacy import audit, services
from privacy.disclosures import Purpose, record_disclosure
from privacy.email_categories import Category
from privacy.mailer import send_email
from privacy.models import (
    CookieConsent,
    EmailConsentEvent,
    Newsletter,
    NewsletterDelivery,
    NewsletterSignup,
    PolicyAcknowledgement,
    PolicyNotice,
    SaleSharingOptOut,
)
from privacy.pi_categories import PersonalInfoCategory as PI
from recordings.models import ConsentReceipt, Recording
from support.models import Ticket, TicketReply
from tests.billing.factories import CustomerFactory, InvoiceFactory, SubscriptionFactory, mrr_change
from tests.contests.factories import enter as enter_contest
from tests.contests.factories import make_contest
from tests.factories import UserFactory
from tests.meetings.factories import MeetingFactory
from tests.recordings.factories import ConsentReceiptFactory, RecordingFactory, ShareLinkFactory

T0 = datetime(2030, 3, 4, 15, 0, tzinfo=UTC)
PERSON_EMAIL = "pat.person@example.com"
SECOND_EMAIL = "pat.private@example.org"
GUEST_EMAIL = "gia.guest@example.net"
TOTP_SECRET = "JBSWY3DPEHPK3PXPTOTPSECRET"
SHARE_PASSCODE = "open-sesame"


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def attend(
    occurrence: Occurrence,
    *,
    name: str,
    email: str,
    start: int,
    end: int,
    user: User | None = None,
    is_host: bool = False,
    invitation: Invitation | None = None,
) -> ParticipantSession:
    return ParticipantSession.objects.create(
        occurrence=occurrence,
        user=user,
        email=email,
        display_name=name,
        invitation=invitation,
        is_host=is_host,
        state=ParticipantSession.State.LEFT,
        requested_at=at(start),
        admitted_at=at(start),
        left_at=at(end),
        last_seen_at=at(end),
        leave_reason=ParticipantSession.LeaveReason.LEFT,
    )


@dataclass
class World:
    person: User
    other_host: User
    hosted_meeting: Meeting
    hosted_occurrence: Occurrence
    other_meeting: Meeting
    other_occurrence: Occurrence
    hosted_recording: Recording
    other_recording: Recording
    person_receipt: ConsentReceipt
    guest_receipt: ConsentReceipt
    ticket: Ticket
    other_ticket: Ticket
    token: Token
    customer: Customer
    subscription: Subscription
    invoice: Invoice


def build_world() -> World:
    """Pat hosts a meeting (recorded), attends Olga's (recorded too), wrote to support,
    has email, cookie, newsletter and policy records, a disclosure, and a cancelled
    subscription with its invoice. Olga, Ivy (invited by Pat), Xena and the guest Gia have
    their own rows around them."""
    person = UserFactory(email=PERSON_EMAIL, full_name="Pat Person", company="Pat & Co")
    EmailAddress.objects.create(user=person, email=SECOND_EMAIL, verified=True, primary=False)
    token = Token.objects.create(user=person)
    Authenticator.objects.create(
        user=person, type=Authenticator.Type.TOTP, data={"secret": TOTP_SECRET}
    )
    UiPreferences.objects.create(user=person, join_with_mic_off=True)
    other_host = UserFactory(email="olga.other@example.com", full_name="Olga Other")

    # Pat's own meeting: Ivy invited, a guest attended. Its invitation sits in the outbox.
    hosted_meeting = MeetingFactory(
        host=person, title="Pat's planning", invitees=["ivy.invitee@example.com"]
    )
    hosted_occurrence = hosted_meeting.occurrences.get()
    attend(
        hosted_occurrence,
        name="Pat Person",
        email=PERSON_EMAIL,
        start=0,
        end=30,
        user=person,
        is_host=True,
    )
    gus_session = attend(hosted_occurrence, name="Gus", email="gus@example.com", start=5, end=25)
    attend(hosted_occurrence, name="Gus (phone)", email="GUS@example.com", start=20, end=40)

    # Olga's meeting: Pat (invited, on two devices, then again), Xena, and the guest Gia.
    other_meeting = MeetingFactory(
        host=other_host,
        title="Olga's review",
        invitees=[PERSON_EMAIL, "xena@example.com", GUEST_EMAIL],
    )
    other_occurrence = other_meeting.occurrences.get()
    # The invitation emails, queued as the task queues them (the send happens on commit).
    for meeting in (hosted_meeting, other_meeting):
        for invitation in meeting.invitations.all():
            email_request(meeting=meeting, invitation_id=invitation.pk)
    pat_invite = other_meeting.invitations.get(email=PERSON_EMAIL)
    # The reminder Pat got for Olga's meeting, and Pat's own monthly usage summary.
    ReminderDelivery.objects.create(
        occurrence=other_occurrence,
        starts_at=other_occurrence.starts_at,
        kind=ReminderDelivery.Kind.DAY_BEFORE,
        email=PERSON_EMAIL,
        invitation=pat_invite,
        status=ReminderDelivery.Status.SENT,
    )
    UsageSummaryDelivery.objects.create(host=person, month=datetime(2026, 3, 1).date())
    attend(
        other_occurrence,
        name="Olga Other",
        email="olga.other@example.com",
        start=0,
        end=60,
        user=other_host,
        is_host=True,
    )
    pat_session = attend(
        other_occurrence,
        name="+Pat",
        email=PERSON_EMAIL,
        start=2,
        end=20,
        user=person,
        invitation=pat_invite,
    )
    attend(other_occurrence, name="Pat (phone)", email=PERSON_EMAIL, start=10, end=25, user=person)
    attend(other_occurrence, name="Pat as guest", email=SECOND_EMAIL, start=40, end=50)
    attend(other_occurrence, name="Xena", email="xena@example.com", start=15, end=45)
    gia_session = attend(other_occurrence, name="Gia", email=GUEST_EMAIL, start=30, end=59)

    hosted_recording = RecordingFactory(
        host=person, meeting=hosted_meeting, occurrence=hosted_occurrence, title="Planning rec"
    )
    ShareLinkFactory(recording=hosted_recording, passcode_hash=make_password(SHARE_PASSCODE))
    ConsentReceiptFactory(recording=hosted_recording, display_name="Gus", email="gus@example.com")
    other_recording = RecordingFactory(
        host=other_host, meeting=other_meeting, occurrence=other_occurrence, title="Review rec"
    )
    person_receipt = ConsentReceiptFactory(
        recording=other_recording,
        session=pat_session,
        participant_id=pat_session.public_id,
        display_name="+Pat",
        email=PERSON_EMAIL,
    )
    guest_receipt = ConsentReceiptFactory(
        recording=other_recording,
        session=gia_session,
        participant_id=gia_session.public_id,
        display_name="Gia",
        email=GUEST_EMAIL,
    )
    ConsentReceiptFactory(recording=other_recording, display_name="Xena", email="xena@example.com")

    ticket = Ticket.objects.create(
        name="Pat Person",
        email=PERSON_EMAIL,
        topic="privacy",
        message='=HYPERLINK("http://evil.example","click")',
        user=person,
    )
    TicketReply.objects.create(ticket=ticket, author_label="Sam Staff", body="@SUM(1,2) answer")
    TicketReply.objects.create(
        ticket=ticket, author_label="Sam Staff", body="internal: call them", internal=True
    )
    other_ticket = Ticket.objects.create(
        name="Olga", email="olga.other@example.com", topic="billing", message="Invoice?"
    )

    services.set_subscription(
        email=PERSON_EMAIL, category=Category.NEWSLETTER, subscribed=True, source="preferences"
    )
    services.set_subscription(
        email="olga.other@example.com",
        category=Category.NEWSLETTER,
        subscribed=False,
        source="preferences",
    )
    EmailConsentEvent.objects.create(
        email=PERSON_EMAIL,
        category=Category.NEWSLETTER,
        subscribed=True,
        source="preferences",
        at=at(-100),
    )
    send_email(
        to=PERSON_EMAIL, subject="Your receipt", text="-1 credits", category=Category.TRANSACTIONAL
    )
    CookieConsent.objects.create(
        user=person,
        action=CookieConsent.Action.CUSTOM,
        preferences=True,
        analytics=False,
        marketing=False,
        banner_version="2",
        gpc=True,
        created_at=at(-200),
    )
    SaleSharingOptOut.objects.create(user=person, source="gpc", opted_out_at=at(-200))
    NewsletterSignup.objects.create(
        email=PERSON_EMAIL, requested_at=at(-300), confirmed_at=at(-299)
    )
    newsletter = Newsletter.objects.create(subject="Spring news", body_markdown="Hello")
    NewsletterDelivery.objects.create(newsletter=newsletter, email=PERSON_EMAIL, batch=1)
    NewsletterDelivery.objects.create(
        newsletter=newsletter, email="olga.other@example.com", batch=1
    )
    PolicyNotice.objects.create(user=person, document="privacy", version=2, sent_at=at(-50))
    PolicyAcknowledgement.objects.create(
        user=person, document="privacy", version=2, seen_at=at(-40)
    )
    record_disclosure(
        third_party="amazon-ses",
        purpose=Purpose.SERVICE,
        description="Delivered an email",
        categories=[PI.EMAIL],
        user=person,
    )
    record_disclosure(
        third_party="amazon-ses",
        purpose=Purpose.SERVICE,
        description="Delivered an email",
        categories=[PI.EMAIL],
        user=other_host,
    )
    audit.record(
        actor=person,
        action="consent.change",
        target_type="user",
        target_id=str(person.pk),
        purpose=f"{PERSON_EMAIL} changed their cookie choice",
        details={"email": PERSON_EMAIL},
    )
    # Billing: Pat paid for Pro for a month, then cancelled; Olga is a customer too.
    customer = CustomerFactory(user=person, stripe_customer_id="cus_pat")
    subscription = SubscriptionFactory(
        customer=customer,
        stripe_subscription_id="sub_pat",
        status=Subscription.Status.CANCELED,
        current_period_start=at(-60 * 24 * 30),
        current_period_end=at(0),
        canceled_at=at(-10),
        ended_at=at(0),
        card_brand="visa",
        card_last4="4242",
    )
    invoice = InvoiceFactory(
        customer=customer,
        subscription=subscription,
        stripe_invoice_id="in_pat",
        number="CONF-0042",
        period_start=at(-60 * 24 * 30),
        period_end=at(0),
        created=at(-60 * 24 * 30),
        paid_at=at(-60 * 24 * 30 + 5),
        hosted_invoice_url="https://invoice.stripe.com/i/acct_test/in_pat",
    )
    mrr_change(subscription, at=at(-60 * 24 * 30), kind="new", before=0, after=1500)
    WebhookEvent.objects.create(
        stripe_event_id="evt_pat_paid",
        type="invoice.paid",
        object_id="in_pat",
        created=at(-60 * 24 * 30 + 5),
        payload={"data": {"object": {"id": "in_pat", "customer": "cus_pat"}}},
        status=WebhookEvent.Status.PROCESSED,
    )
    InvoiceFactory(customer=CustomerFactory(user=other_host), number="CONF-0043")
    # Pat and Olga each entered a contest, signed in.
    contest = make_contest(slug="pat-and-olga")
    enter_contest(contest, user=person, name="Pat Person")
    enter_contest(contest, user=other_host, name="Olga Other")
    # Pat answered the call-quality survey at Olga's (her comment names her address), and
    # Gus answered it at Pat's own meeting.
    CallRating.objects.create(
        participant=pat_session,
        occurrence=other_occurrence,
        stars=2,
        reasons=["audio"],
        comment=f"Echo all along, write to {PERSON_EMAIL}",
        browser_family="Chrome",
        browser_major=131,
    )
    CallRating.objects.create(participant=gus_session, occurrence=hosted_occurrence, stars=5)
    staff = UserFactory(email="sam.staff@example.com", roles=["support"])
    audit.record(
        actor=staff,
        action="ticket.view",
        target_type="ticket",
        target_id=ticket.reference,
        purpose=f"Answering {PERSON_EMAIL}",
    )
    return World(
        person=person,
        other_host=other_host,
        hosted_meeting=hosted_meeting,
        hosted_occurrence=hosted_occurrence,
        other_meeting=other_meeting,
        other_occurrence=other_occurrence,
        hosted_recording=hosted_recording,
        other_recording=other_recording,
        person_receipt=person_receipt,
        guest_receipt=guest_receipt,
        ticket=ticket,
        other_ticket=other_ticket,
        token=token,
        customer=customer,
        subscription=subscription,
        invoice=invoice,
    )


TEXT_FIELDS = (models.CharField, models.TextField, models.JSONField)


def tables_holding(text: str) -> dict[str, int]:
    """Every model with a text or JSON column containing `text` (any case), and how many rows."""
    found = {}
    for model in apps.get_models():
        fields = [f.name for f in model._meta.concrete_fields if isinstance(f, TEXT_FIELDS)]
        if not fields:
            continue
        query = Q()
        for name in fields:
            query |= Q(**{f"{name}__icontains": text})
        count = model._base_manager.filter(query).count()
        if count:
            found[model._meta.label] = count
    return found


def row_counts() -> dict[str, int]:
    return {model._meta.label: model._base_manager.count() for model in apps.get_models()}


def all_rows(export: dict[str, Any]) -> list[dict[str, Any]]:
    return [row for sections in export.values() for rows in sections.values() for row in rows]
