"""Every route of the URLconf against every kind of visitor, judged by one table.

The routes come from ``get_resolver()`` (ours, allauth's, the API, the staff consoles,
Django's admin); each has one line in ROUTES saying who may use it. A route without a
line fails the test, so a new page has to say who it is for. Each identity asks each
route once (GET; POST with an empty body where GET is not allowed), inside a savepoint
that is rolled back, so every request sees the same data. Judged:

- no 5xx, for anyone;
- an identity the route is not for is refused: a redirect to sign in, 401, 403 or 404,
  and the refusal shows none of the host's data (the CANARY strings);
- an identity the route is for is not refused (the table tells the truth), and pages
  for any account (dashboards, libraries, lists) show the host's data to the host alone.
"""

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.core.signals import request_finished
from django.db import close_old_connections, transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from accounts.models import ApiToken, User
from accounts.roles import FINANCE, MARKETING, PRIVACY_ADMIN, QUALITY_ASSURANCE, SUPPORT
from accounts.services import create_api_token
from billing.models import Subscription, WebhookEvent
from feedback.models import CallRating
from meetings import lobby
from meetings.models import Invitation, Meeting, Occurrence, ParticipantSession, RoomAction
from privacy import tokens as privacy_tokens
from privacy.models import Newsletter, ShineTheLightNotice, ThirdParty
from privacy.requests.exports import make_download_token
from privacy.requests.notice_links import make_notice_token
from privacy.requests.tokens import make_verification_token
from recordings import qa
from recordings.models import Recording, ShareLink
from support.models import Ticket, Topic
from tests.billing.factories import CustomerFactory, InvoiceFactory, SubscriptionFactory
from tests.contests.factories import matrix_contest
from tests.factories import UserFactory
from tests.meetings.factories import MeetingFactory, schedule_in
from tests.privacy.request_helpers import submit
from tests.recordings.factories import RecordingFactory, ShareLinkFactory

CANARY = "Canary7f3a"  # in the host's meeting, invitee, recording, ticket and request

ANONYMOUS, HOST, OTHER_HOST, ATTENDEE = "anonymous", "host", "other host", "attendee"
SUPERUSER = "superuser"
ROLE_OF = {
    "privacy admin": PRIVACY_ADMIN,
    "finance": FINANCE,
    "support": SUPPORT,
    "marketing": MARKETING,
    "quality assurance": QUALITY_ASSURANCE,
}
IDENTITIES = (ANONYMOUS, HOST, OTHER_HOST, ATTENDEE, *ROLE_OF, SUPERUSER)
SIGNED_IN = frozenset(IDENTITIES) - {ANONYMOUS, ATTENDEE}

# Who a route is for:
#   public       anyone, the attendee's and the signed-in's own view of it included
#   link         anyone holding the link (a token or signed value in the URL)
#   signed-in    any account; visitors without one are sent to sign in
#   owner        the host whose meeting, recording or account it is
#   attendee     the browser that asked to join through the link; any other is sent to
#                the join page
#   role:<name>  that staff role (a superuser holds every role)
#   staff-any    any staff role
#   admin        Django's admin: superusers (is_staff)
#   grant-holder the quality-assurance member the signed grant in the URL was issued to
#   own-authenticator  an account with its own TOTP authenticator: nobody here has one
#   admin-unknown  the admin's, asked without a real object or query: refused to all, the
#                admin included (403/404)
# "role:a|b" is for either role. PAYMENTS_OFF lists the routes that answer 503 ("payments
# are off") to those they are for, since no Stripe key is configured here.
ROUTES: dict[str, str] = {
    "home": "public",
    # accounts
    "account_signup": "public",
    "accounts:age_screen": "public",
    "accounts:settings": "signed-in",
    "accounts:api_tokens": "signed-in",
    "accounts:revoke_api_token": "signed-in",  # another's token: nothing happens
    "accounts:delete": "signed-in",
    "staff": "staff-any",
    # allauth
    "account_login": "public",
    "account_logout": "public",
    "account_inactive": "public",
    "account_reauthenticate": "signed-in",
    "account_request_reauthentication_code": "signed-in",
    "account_confirm_reauthentication_code": "signed-in",
    "account_email": "signed-in",
    "account_email_verification_sent": "public",
    "account_change_password": "signed-in",
    "account_set_password": "signed-in",
    "account_reset_password": "public",
    "account_confirm_login_code": "public",
    "account_confirm_email": "link",
    "account_reset_password_from_key_done": "public",
    "account_reset_password_from_key": "link",
    "account_reset_password_done": "public",
    "mfa_index": "signed-in",
    "mfa_authenticate": "public",
    "mfa_reauthenticate": "signed-in",
    "mfa_activate_totp": "signed-in",
    "mfa_deactivate_totp": "own-authenticator",
    "mfa_view_recovery_codes": "own-authenticator",
    "mfa_generate_recovery_codes": "signed-in",
    "mfa_download_recovery_codes": "own-authenticator",
    # meetings
    "meetings:dashboard": "signed-in",
    "meetings:schedule": "signed-in",
    "meetings:meet_now": "signed-in",
    "meetings:detail": "owner",
    "meetings:edit": "owner",
    "meetings:cancel": "owner",
    "meetings:invitation_add": "owner",
    "meetings:invitation_remove": "owner",
    "meetings:invitation_resend": "owner",
    "meetings:lobby_admit": "owner",
    "meetings:lobby_deny": "owner",
    "meetings:lobby_remove": "owner",
    "meetings:lobby_mute": "owner",
    "meetings:occurrence_edit": "owner",
    "meetings:occurrence_cancel": "owner",
    "meetings:lobby_admit_all": "owner",
    "meetings:occurrence_mute_all": "owner",
    "meetings:occurrence_lock": "owner",
    "meetings:occurrence_unlock": "owner",
    "meetings:occurrence_end": "owner",
    "meetings:report": "owner",
    "meetings:report_csv": "owner",
    "meetings:join": "link",
    "meetings:lobby": "attendee",
    "meetings:lobby_status": "attendee",
    "meetings:leave": "link",
    "meetings:room": "link",
    "meetings:ics": "owner",
    # recordings
    "recordings:library": "signed-in",
    "recordings:library_status": "signed-in",
    "recordings:detail": "owner",
    "recordings:status": "owner",
    "recordings:media": "owner",
    "recordings:thumbnail": "owner",
    "recordings:rename": "owner",
    "recordings:retention": "owner",
    "recordings:qa_use": "owner",
    "recordings:trash": "owner",
    "recordings:restore": "owner",
    "recordings:delete_forever": "owner",
    "recordings:retry": "owner",
    "recordings:share_create": "owner",
    "recordings:share_revoke": "owner",
    "recordings:shared": "link",
    "recordings:shared_media": "link",
    "recordings:staff_qa": "role:quality_assurance",
    "recordings:staff_qa_open": "role:quality_assurance",
    "recordings:staff_qa_watch": "grant-holder",
    "recordings:staff_qa_media": "grant-holder",
    # privacy
    "privacy:unsubscribe": "link",
    "privacy:email_preferences": "public",
    "privacy:email_preferences_link": "link",
    "privacy:staff_suppressions": "role:privacy_admin",
    "privacy:policy": "public",
    "privacy:policy_version": "public",
    "privacy:cookie_policy": "public",
    "privacy:cookie_policy_version": "public",
    "privacy:california": "public",
    "privacy:policy_seen": "public",
    "privacy:leaving": "public",
    "privacy:cookie_consent": "public",
    "privacy:cookie_settings": "public",
    "privacy:gpc_signal": "public",
    "privacy:staff_consents": "role:privacy_admin",
    "privacy:request_new": "public",
    "privacy:request_sent": "public",
    "privacy:california_request": "public",
    "privacy:request_verify": "link",
    "privacy:request_download": "link",
    "privacy:request_notice": "link",
    "privacy:staff_requests": "role:privacy_admin",
    "privacy:staff_request_new": "role:privacy_admin",
    "privacy:staff_request_metrics": "role:privacy_admin",
    "privacy:staff_request": "role:privacy_admin",
    "privacy:staff_request_status": "role:privacy_admin",
    "privacy:staff_request_deny": "role:privacy_admin",
    "privacy:staff_request_extend": "role:privacy_admin",
    "privacy:staff_request_start": "role:privacy_admin",
    "privacy:staff_request_complete": "role:privacy_admin",
    "privacy:staff_request_erase": "role:privacy_admin",
    "privacy:staff_request_correct": "role:privacy_admin",
    "privacy:staff_request_release": "role:privacy_admin",
    "privacy:staff_ledger": "role:privacy_admin",
    "privacy:staff_third_parties": "role:privacy_admin",
    "privacy:staff_third_party_edit": "role:privacy_admin",
    "newsletter:signup": "public",
    "newsletter:signup_sent": "public",
    "newsletter:confirm": "link",
    "newsletter:staff_list": "role:marketing",
    "newsletter:staff_new": "role:marketing",
    "newsletter:staff_detail": "role:marketing",
    "newsletter:staff_edit": "role:marketing",
    "newsletter:staff_send_test": "role:marketing",
    "newsletter:staff_send": "role:marketing",
    "newsletter:staff_log": "role:marketing",
    # contests
    "contests:detail": "public",
    "contests:entry_sent": "public",
    "contests:confirm": "link",
    "contests:staff_list": "role:marketing",
    "contests:staff_new": "role:marketing",
    "contests:staff_detail": "role:marketing",
    "contests:staff_edit": "role:marketing",
    "contests:staff_entrants": "role:marketing",
    "contests:staff_draw": "role:marketing",
    # feedback: the survey answers for the participant its signed token names (in the body)
    "feedback:survey": "public",
    "feedback:staff_quality": "role:quality_assurance",
    "feedback:staff_quality_csv": "role:quality_assurance",
    "gpc_json": "public",
    # billing
    "billing:plans": "public",
    "billing:checkout": "signed-in",
    "billing:portal": "signed-in",
    "billing:change_plan": "signed-in",
    "billing:cancel": "signed-in",
    "billing:resume": "signed-in",
    "billing:stripe_webhook": "public",
    "billing:staff_plans": "role:finance",
    "billing:staff_failed_events": "role:finance",
    "billing:staff_retry_event": "role:finance",
    "finance:overview": "role:finance",
    "finance:metrics_csv": "role:finance",
    "finance:subscriptions": "role:finance",
    "finance:subscriptions_csv": "role:finance",
    "finance:failed_payments": "role:finance",
    "finance:failed_payments_csv": "role:finance",
    "finance:customer": "role:finance",
    "finance:customer_invoices_csv": "role:finance",
    "finance:promotions": "role:finance",
    "finance:promotion_deactivate": "role:finance",
    "finance:promotions_csv": "role:finance",
    # support
    "support:contact": "public",
    "support:contact_sent": "public",
    "support:staff_tickets": "role:support|privacy_admin|finance",
    "support:staff_ticket": "role:support",
    "support:staff_ticket_to_request": "role:privacy_admin",
    # API
    "api:meetings:meeting-list": "signed-in",
    "api:meetings:meeting-detail": "owner",
    "api:meetings:occurrence-list": "owner",
    "api:meetings:occurrence-detail": "owner",
    "api:meetings:occurrence-cancel": "owner",
    "api:meetings:attendance": "owner",
    "api:meetings:attendance-csv": "owner",
    "api:meetings:live": "owner",
    "api:meetings:live-admit": "owner",
    "api:meetings:live-deny": "owner",
    "api:meetings:live-remove": "owner",
    "api:meetings:live-mute": "owner",
    "api:meetings:live-admit-all": "owner",
    "api:meetings:live-mute-all": "owner",
    "api:meetings:live-lock": "owner",
    "api:meetings:live-unlock": "owner",
    "api:meetings:live-end": "owner",
    "api:meetings:invitation-list": "owner",
    "api:meetings:invitation-detail": "owner",
    "api:meetings:invitation-resend": "owner",
    "api:schema": "public",
    "api:docs": "public",
    "api:unknown": "public",
    # Django's admin, every model page of it: one gate, the AdminSite's.
    "admin:login": "public",
    "admin:logout": "public",
    "admin:autocomplete": "admin-unknown",
    "admin:view_on_site": "admin-unknown",
    "admin/(?P<url>.*)$": "admin-unknown",
    "admin:*": "admin",
}
PAYMENTS_OFF = {
    "billing:checkout",
    "billing:portal",
    "billing:change_plan",
    "billing:cancel",
    "billing:resume",
}


@dataclass(frozen=True)
class Route:
    key: str  # the name, or the pattern of an unnamed route
    name: str | None
    pattern: str


def all_routes() -> list[Route]:
    found: dict[str, Route] = {}

    def walk(patterns: list[Any], prefix: str, namespace: str | None) -> None:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                inner = namespace
                if entry.namespace:
                    inner = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
                walk(entry.url_patterns, prefix + str(entry.pattern), inner)
            elif isinstance(entry, URLPattern):
                pattern = prefix + str(entry.pattern)
                name = entry.name and (f"{namespace}:{entry.name}" if namespace else entry.name)
                key = name or pattern
                found.setdefault(key, Route(key=key, name=name, pattern=pattern))

    walk(get_resolver().url_patterns, "", None)
    return list(found.values())


def table_entry(route: Route) -> str | None:
    if route.key in ROUTES:
        return ROUTES[route.key]
    if route.key.startswith("admin:") or route.pattern.startswith("admin/"):
        return ROUTES.get("admin:*")
    return None


def test_every_route_has_a_line_in_the_table():
    missing = [route.key for route in all_routes() if table_entry(route) is None]

    assert not missing, f"say who these routes are for in ROUTES: {missing}"


# --- the world the routes are asked about ------------------------------------------


@pytest.fixture
def world(db, client):
    host = UserFactory(full_name=f"Host {CANARY}")
    meeting = MeetingFactory(
        host=host,
        title=f"Board meeting {CANARY}",
        schedule=schedule_in(1, recurrence="daily", count=3),
        invitees=[f"invitee-{CANARY.lower()}@example.com"],
    )
    occurrence = meeting.occurrences.first()
    other_host = UserFactory()
    MeetingFactory(host=other_host)

    attendee = Client()
    joined = attendee.post(
        reverse("meetings:join", args=[meeting.join_token]),
        {"display_name": "Ada Guest", "email": "ada@example.com", "passcode": meeting.passcode},
    )
    assert joined.status_code == 302, joined.status_code
    participant = ParticipantSession.objects.get(occurrence=occurrence)

    admitted = lobby.admit(
        session=lobby.request_entry(
            occurrence=occurrence, display_name="Bo In", email="bo@example.com"
        )
    )
    recording = RecordingFactory(
        host=host,
        meeting=meeting,
        occurrence=occurrence,
        title=f"Rec {CANARY}",
        has_thumbnail=True,
    )
    RecordingFactory(host=other_host)
    share = ShareLinkFactory(recording=recording)

    customer = CustomerFactory(user=host)
    SubscriptionFactory(customer=customer)
    InvoiceFactory(customer=customer)
    event = WebhookEvent.objects.create(
        stripe_event_id="evt_matrix",
        type="invoice.paid",
        created=timezone.now() - timedelta(hours=1),
        payload={},
        status=WebhookEvent.Status.FAILED,
    )

    privacy_request = submit(name=f"Pat {CANARY}", email="pat@example.com")
    notice = ShineTheLightNotice.objects.create(
        request=privacy_request,
        customer_key="c" * 64,
        request_year=timezone.now().year,
        covered_year=timezone.now().year - 1,
        text="We disclosed nothing.",
        created_at=timezone.now(),
    )
    ticket = Ticket.objects.create(
        name="Ada", email="ada@example.com", topic=Topic.SUPPORT, message=f"Help {CANARY}"
    )
    privacy_ticket = Ticket.objects.create(
        name="Ada", email="ada@example.com", topic=Topic.PRIVACY, message=f"Data {CANARY}"
    )
    api_token, _ = create_api_token(user=host, name=f"CI {CANARY}")
    newsletter = Newsletter.objects.create(subject="News", body_markdown="Hello", created_by=None)
    third_party = ThirdParty.objects.first()
    assert third_party is not None
    contest, contest_token = matrix_contest()
    CallRating.objects.create(
        participant=participant, occurrence=occurrence, stars=2, comment=f"Echo {CANARY}"
    )

    signed_in = {}
    users = {}
    for identity in SIGNED_IN:
        if identity == HOST:
            user = host
        elif identity == OTHER_HOST:
            user = other_host
        elif identity == SUPERUSER:
            user = UserFactory(is_superuser=True, is_staff=True)
        else:
            user = UserFactory(roles=[ROLE_OF[identity]])
        browser = Client()
        browser.force_login(user)
        signed_in[identity] = browser
        users[identity] = user
    grant = qa.start_viewing(
        staff=users["quality assurance"], recording=recording, purpose="Audio check, ticket 42"
    )

    values = {
        "meetings": {
            "public_id": meeting.public_id,
            "occurrence_id": occurrence.public_id,
            "invitation_id": meeting.invitations.get().pk,
            "session_id": participant.public_id,
            "token": meeting.join_token,
        },
        "api": {
            "meeting_id": meeting.public_id,
            "occurrence_id": occurrence.public_id,
            "participant_id": participant.public_id,
            "invitation_id": meeting.invitations.get().pk,
        },
        "recordings": {
            "public_id": recording.public_id,
            "link_id": share.pk,
            "token": share.token,
            "grant": grant,
        },
        "api:meetings:live-remove": {"participant_id": admitted.public_id},
        "api:meetings:live-mute": {"participant_id": admitted.public_id},
        "support:staff_ticket_to_request": {"reference": privacy_ticket.reference},
        "privacy:unsubscribe": {
            "token": privacy_tokens.make_unsubscribe_token(
                email="pat@example.com", category="newsletter"
            )
        },
        "privacy:email_preferences_link": {
            "token": privacy_tokens.make_preferences_token(email="pat@example.com")
        },
        "privacy:request_verify": {
            "token": make_verification_token(
                request_id=privacy_request.pk, email=privacy_request.email
            )
        },
        "privacy:request_download": {"token": make_download_token(privacy_request)},
        "privacy:request_notice": {"token": make_notice_token(notice)},
        "privacy": {
            "reference": privacy_request.reference,
            "slug": third_party.slug,
            "version": 1,
            "token": "not-a-token",
        },
        "newsletter": {
            "pk": newsletter.pk,
            "token": privacy_tokens.make_newsletter_confirm_token(email="pat@example.com"),
        },
        "contests": {"slug": contest.slug, "token": contest_token},
        "billing": {"pk": event.pk},
        "finance": {"stripe_customer_id": customer.stripe_customer_id},
        "support": {"reference": ticket.reference},
        "accounts": {"token_id": api_token.pk},
        "admin": {"object_id": host.pk, "content_type_id": 1, "app_label": "auth"},
        "": {"key": "not-a-key", "uidb36": "1", "url": "no-such-page/"},
    }
    browsers = {ANONYMOUS: client, ATTENDEE: attendee, **signed_in}

    def host_state() -> list[Any]:
        """Every row of the host's meeting, sittings, invitations, participants, room
        actions, recording, share links, token, subscription and account."""
        return [
            list(queryset.order_by("pk").values())
            for queryset in (
                Meeting.objects.filter(pk=meeting.pk),
                Occurrence.objects.filter(meeting=meeting),
                Invitation.objects.filter(meeting=meeting),
                ParticipantSession.objects.filter(occurrence__meeting=meeting),
                RoomAction.objects.filter(occurrence__meeting=meeting),
                Recording.objects.filter(host=host),
                ShareLink.objects.filter(recording=recording),
                ApiToken.objects.filter(user=host),
                Subscription.objects.filter(customer=customer),
                User.objects.filter(pk=host.pk),
            )
        ]

    return browsers, values, host_state


def url_of(route: Route, values: dict[str, dict[str, Any]]) -> str:
    namespace = route.name.rsplit(":", 1)[0] if route.name and ":" in route.name else ""
    candidates = [route.name or "", namespace, namespace.split(":")[0], ""]
    if route.name is None:
        # Unnamed: the admin's redirects and catch-all; fill the pattern by hand.
        fill = values["admin"] | values[""]
        path = route.pattern.replace("(?P<url>.*)$", fill["url"])
        path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(fill[m.group(1)]), path)
        return "/" + path
    kwargs: dict[str, Any] = {}
    needed = re.findall(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>", route.pattern)
    for converter_name, regex_name in needed:
        name = converter_name or regex_name
        for candidate in candidates:
            if name in values.get(candidate, {}):
                kwargs[name] = values[candidate][name]
                break
        else:
            raise AssertionError(f"no value for <{name}> of {route.key}")
    return reverse(route.name, kwargs=kwargs)


# --- judging ------------------------------------------------------------------------


def permitted(entry: str, identity: str) -> bool:
    if entry in ("public", "link"):
        return True
    if entry == "signed-in":
        return identity in SIGNED_IN
    if entry == "owner":
        return identity == HOST
    if entry == "attendee":
        return identity == ATTENDEE
    if entry == "staff-any":
        return identity in ROLE_OF or identity == SUPERUSER
    if entry == "admin":
        return identity == SUPERUSER
    if entry == "grant-holder":
        return identity == "quality assurance"
    if entry in ("own-authenticator", "admin-unknown"):
        return False
    if entry.startswith("role:"):
        roles = entry.removeprefix("role:").split("|")
        return identity == SUPERUSER or ROLE_OF.get(identity) in roles
    raise AssertionError(f"unknown table entry {entry!r}")


def refused(response: Any, *, elsewhere: tuple[str, ...] = ()) -> bool:
    """401, 403, 404, or a redirect to sign in (or to ``elsewhere``)."""
    if response.status_code in (401, 403, 404):
        return True
    location = response.headers.get("Location", "") if response.status_code == 302 else ""
    return location.startswith((reverse("account_login"), reverse("admin:login"), *elsewhere))


def body_of(response: Any) -> str:
    if getattr(response, "streaming", False):
        return ""
    return response.content.decode(errors="replace")


def close(response: Any) -> None:
    """Close a response (its file, for media) as the test client does: without the
    request_finished handler that would close the test's database connection."""
    request_finished.disconnect(close_old_connections)
    try:
        response.close()
    finally:
        request_finished.connect(close_old_connections)


def ask(
    browser: Client, url: str, api: bool, watch: Callable[[], Any] | None, before: Any
) -> tuple[Any, bool]:
    """The first method the route allows, with an empty body; nothing it does is kept:
    not its writes (a savepoint rolled back), not its cookies (a sign-out). Also whether,
    after an action (a method other than GET), ``watch()`` reads something else than
    ``before``."""
    cookies = copy.deepcopy(browser.cookies)
    extra = {"content_type": "application/json"} if api else {}
    with transaction.atomic():
        response = browser.get(url)
        acted = False
        for method in ("post", "patch", "delete"):
            if response.status_code != 405:
                break
            close(response)
            response = getattr(browser, method)(url, "{}" if api else {}, **extra)
            acted = True
        changed = acted and watch is not None and watch() != before
        transaction.set_rollback(True)
    browser.cookies = cookies
    return response, changed


def test_every_identity_gets_what_the_table_says(world):
    browsers, values, host_state = world
    pristine = host_state()  # what every request starts from: each one is rolled back
    problems: list[str] = []
    requests = 0
    join_page = reverse("meetings:join", args=[values["meetings"]["token"]])

    for route in all_routes():
        entry = table_entry(route)
        assert entry is not None, route.key
        url = url_of(route, values)
        api = url.startswith("/api/")
        elsewhere = (join_page,) if entry == "attendee" else ()
        for identity in IDENTITIES:
            # What is not theirs to change: the host's, for anyone but the host (and the
            # attendee and link holders, whom the link lets in), on any route.
            guarded = identity != HOST and not (
                permitted(entry, identity) and entry in ("public", "link", "attendee")
            )
            response, changed = ask(
                browsers[identity], url, api, host_state if guarded else None, pristine
            )
            requests += 1
            status = response.status_code
            where = f"{route.key} {url} as {identity}: {status} {response.get('Location', '')}"
            if status == 503 and route.key in PAYMENTS_OFF and permitted(entry, identity):
                pass
            elif status >= 500:
                problems.append(f"server error: {where}")
            elif permitted(entry, identity):
                if entry not in ("public", "link") and refused(response, elsewhere=elsewhere):
                    problems.append(f"refused though the table allows it ({entry}): {where}")
                elif entry == "signed-in" and identity != HOST and CANARY in body_of(response):
                    problems.append(f"someone else's page shows the host's data: {where}")
            else:
                if not refused(response, elsewhere=elsewhere):
                    problems.append(f"not refused ({entry}): {where}")
                elif CANARY in body_of(response):
                    problems.append(f"a refusal shows the host's data: {where}")
            if changed:
                problems.append(f"changed the host's data: {where}")
            close(response)

    print(f"{len(all_routes())} routes x {len(IDENTITIES)} identities, {requests} requests")
    assert not problems, "\n".join(problems)
