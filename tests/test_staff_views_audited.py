"""Every staff page that shows a person's data writes the audit log: one entry per view.

The staff routes are those the authorization matrix (tests/test_authorization_matrix.py)
gives to a staff role, to any staff, to the holder of a QA grant, or to Django's admin.
Each one is classified here: a page that shows people (AUDITED, with the query that makes
it show someone and what it shows), a page that shows nobody (SHOWS_NOBODY, with why),
an action that answers no GET (POST_ONLY: it writes its own entry for what it does), or
a QA player covered by the entry of its opening (BY_GRANT). A staff route without a line
fails, so a new staff page has to say whether it shows people, and if it does, write its
entry. Each AUDITED page is asked with the matrix's world of seeded data, as a member of
the role it is for: it must show the person and write exactly one entry by that member,
and the hash chain must still verify.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from allauth.mfa.models import Authenticator
from django.contrib import admin
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token

from accounts.models import User
from billing.models import Customer
from privacy import audit
from privacy import services as privacy_services
from privacy.disclosures import record_disclosure
from privacy.email_categories import Category
from privacy.models import AuditEntry, Disclosure, Newsletter, NewsletterDelivery, ThirdParty
from privacy.pi_categories import PersonalInfoCategory
from recordings import qa
from support.models import Ticket
from tests import test_authorization_matrix as matrix
from tests.billing.factories import InvoiceFactory

world = matrix.world  # the matrix's fixture: its seeded data, browsers for every identity

STAFF_ENTRIES = ("role:", "staff-any", "grant-holder", "admin")


@dataclass(frozen=True)
class Page:
    query: str = ""  # appended to the URL; {placeholders} come from `seeded`
    shows: str = ""  # in the page (or the CSV): proof that it shows a person


AUDITED: dict[str, tuple[Page, ...]] = {
    "privacy:staff_suppressions": (Page("?q=reader", "reader@example.com"),),
    "privacy:staff_consents": (Page("?q={host_email}", "{host_email}"),),
    "privacy:staff_request": (Page(shows=matrix.CANARY),),
    "privacy:staff_ledger": (Page(shows="{host_email}"), Page("?format=csv", "{host_email}")),
    "newsletter:staff_log": (Page(shows="reader@example.com"),),
    "contests:staff_entrants": (Page(shows="entrant@example.com"),),
    "feedback:staff_quality": (Page(shows=matrix.CANARY),),
    "feedback:staff_quality_csv": (Page(shows=matrix.CANARY),),
    "finance:subscriptions": (Page(shows="{host_email}"),),
    "finance:subscriptions_csv": (Page(shows="{host_email}"),),
    "finance:failed_payments": (Page(shows="{host_email}"),),
    "finance:failed_payments_csv": (Page(shows="{host_email}"),),
    "finance:customer": (Page(shows="{host_email}"),),
    "finance:customer_invoices_csv": (Page(shows="{invoice_number}"),),
    "support:staff_tickets": (Page(shows="ada@example.com"),),
    "support:staff_ticket": (Page(shows=matrix.CANARY),),
}
SHOWS_NOBODY: dict[str, str] = {
    "staff": "the list of consoles the member may open",
    "recordings:staff_qa": "titles, dates and lengths, never who took part; opening one is audited",
    "recordings:staff_qa_open": "the title and date of one recording, and the purpose form",
    "privacy:staff_requests": "references, kinds, dates and states; no name or address",
    "privacy:staff_request_new": "an empty intake form",
    "privacy:staff_request_metrics": "counts and medians per kind and year",
    "privacy:staff_request_status": "the state and progress of an export, as JSON",
    "privacy:staff_third_parties": "the companies that receive data, not people",
    "privacy:staff_third_party_edit": "one company's registry entry",
    "newsletter:staff_list": "issues and their colleague authors; a count of subscribers",
    "newsletter:staff_new": "an empty draft form",
    "newsletter:staff_detail": "the issue, with the viewer's own address in the preview footer",
    "newsletter:staff_edit": "the draft's subject and body",
    "contests:staff_list": "contest titles, dates and entry counts",
    "contests:staff_new": "an empty contest form",
    "contests:staff_edit": "the contest's settings and rules (refused once it has opened)",
    "contests:staff_detail": "the contest, its counts and its draw record (random entry ids)",
    "billing:staff_plans": "the plan catalogue",
    "billing:staff_failed_events": "Stripe event types, ids and error texts; no name or address",
    "finance:overview": "monthly totals",
    "finance:metrics_csv": "monthly totals",
    "finance:promotions": "promotion codes, limits and totals; no customer",
    "finance:promotions_csv": "promotion codes, limits and totals; no customer",
    "admin:index": "the list of models",
    "admin:app_list": "the models of one app",
    "admin:password_change": "the superuser's own password form",
    "admin:password_change_done": "a confirmation",
    "admin:jsi18n": "the admin's translated strings",
    # Refused to everyone in the matrix (asked without a real object or query):
    "admin:autocomplete": "answers only for a field named in an admin's autocomplete_fields, "
    "and no registered admin names one",
    "admin:view_on_site": "a redirect to the object's own page",
    "admin/(?P<url>.*)$": "the admin's catch-all: a redirect or 404",
}
POST_ONLY: dict[str, str] = {
    "privacy:staff_request_deny": "audited by services.deny",
    "privacy:staff_request_extend": "audited by services.extend",
    "privacy:staff_request_start": "audited by services.start",
    "privacy:staff_request_complete": "audited by services.complete",
    "privacy:staff_request_erase": "audited by services.erase",
    "privacy:staff_request_correct": "audited by services.correct",
    "privacy:staff_request_release": "audited by access_export.release_export",
    "newsletter:staff_send_test": "sends a copy to the viewer",
    "newsletter:staff_send": "starts a send",
    "contests:staff_draw": "audited by draws.run_draw",
    "billing:staff_retry_event": "requeues a Stripe event",
    "finance:promotion_deactivate": "audited by promotions.deactivate",
    "support:staff_ticket_to_request": "audited by the request it opens; a form error re-shows "
    "the ticket with its own ticket.view entry",
}
# The player and its media requests are covered by the entry `qa.start_viewing` wrote
# for the opening: the grant in the URL names that entry (recordings/qa.py says why).
BY_GRANT = ("recordings:staff_qa_watch", "recordings:staff_qa_media")

# Django's admin, model by model: the models that name people have their list, change,
# history and delete pages audited (accounts/admin.py); their add forms are empty.
ADMIN_PEOPLE = ("account.emailaddress", "authtoken.tokenproxy", "mfa.authenticator")
ADMIN_NOBODY = {
    "auth.group": "groups and their permissions",
    "django_celery_beat.periodictask": "scheduled tasks",
    "django_celery_beat.clockedschedule": "schedules",
    "django_celery_beat.crontabschedule": "schedules",
    "django_celery_beat.solarschedule": "schedules",
    "django_celery_beat.intervalschedule": "schedules",
}
ADMIN_AUDITED_VIEWS = ("changelist", "change", "history", "delete")
ADMIN_REDIRECT = re.compile(r"^admin/(\w+)/(\w+)/<path:object_id>/$")


def staff_routes() -> list[matrix.Route]:
    return [
        route
        for route in matrix.all_routes()
        if (matrix.table_entry(route) or "").startswith(STAFF_ENTRIES)
    ]


def admin_model_of(route: matrix.Route) -> tuple[str, str] | None:
    """(model label, admin view) of a model's admin route, else None."""
    redirect = ADMIN_REDIRECT.match(route.pattern)
    if redirect:
        return f"{redirect[1]}.{redirect[2]}", "redirect"
    for model in admin.site._registry:
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}_"
        if route.name and route.name.startswith(prefix):
            return model._meta.label_lower, route.name.removeprefix(prefix)
    return None


def classify(route: matrix.Route) -> str | None:
    """audited, nobody, post-only, grant, or None for a route nobody classified."""
    if route.key in AUDITED:
        return "audited"
    if route.key in SHOWS_NOBODY:
        return "nobody"
    if route.key in POST_ONLY:
        return "post-only"
    if route.key in BY_GRANT:
        return "grant"
    found = admin_model_of(route)
    if found is None:
        return None
    model, view = found
    if model in ADMIN_PEOPLE:
        return "audited" if view in ADMIN_AUDITED_VIEWS else "nobody"
    return "nobody" if model in ADMIN_NOBODY else None


def test_every_staff_route_says_whether_it_shows_people():
    routes = staff_routes()
    keys = {route.key for route in matrix.all_routes()}

    missing = [route.key for route in routes if classify(route) is None]
    stale = [key for key in (*AUDITED, *SHOWS_NOBODY, *POST_ONLY, *BY_GRANT) if key not in keys]

    assert not missing, (
        f"classify these staff routes here; a page that shows people writes the audit "
        f"log once per view: {missing}"
    )
    assert not stale, f"no route has these names any more: {stale}"


# --- asking the pages -----------------------------------------------------------------


def identity_for(entry: str) -> str:
    """The first role a route names (the superuser for the admin and staff-any routes)."""
    if entry.startswith("role:"):
        role = entry.removeprefix("role:").split("|")[0]
        return next(identity for identity, name in matrix.ROLE_OF.items() if name == role)
    if entry == "grant-holder":
        return "quality assurance"
    return matrix.SUPERUSER


def user_of(browser: Client) -> User:
    return User.objects.get(pk=browser.session["_auth_user_id"])


def content_of(response: Any) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


def seed(values: dict[str, Any]) -> dict[str, Any]:
    """What the matrix's world lacks for these pages to show someone; returns the values
    the table's placeholders and the admin's object ids need."""
    customer = Customer.objects.get(stripe_customer_id=values["finance"]["stripe_customer_id"])
    host = customer.user
    invoice = InvoiceFactory(customer=customer, status="open", amount_paid=0, attempt_count=2)
    privacy_services.unsubscribe(
        email="reader@example.com",
        category=Category.NEWSLETTER,
        source=privacy_services.Source.ONE_CLICK,
    )
    record_disclosure(
        third_party=ThirdParty.objects.get(slug="stripe"),
        purpose=Disclosure.Purpose.SERVICE,
        description="Card payment",
        categories=[PersonalInfoCategory.EMAIL],
        user=host,
    )
    NewsletterDelivery.objects.create(
        newsletter=Newsletter.objects.get(pk=values["newsletter"]["pk"]),
        email="reader@example.com",
        batch=1,
    )
    token = Token.objects.create(user=host)
    authenticator = Authenticator.objects.create(
        user=host, type=Authenticator.Type.TOTP, data={"secret": "not-a-real-secret"}
    )
    address = host.emailaddress_set.get()
    return {
        "host_email": host.email,
        "invoice_number": invoice.number,
        "admin_ids": {
            "account.emailaddress": address.pk,
            "authtoken.tokenproxy": host.pk,  # DRF's token admin names a token by its user
            "mfa.authenticator": authenticator.pk,
        },
        # What a history or delete page calls the object it is about.
        "admin_names": {
            "account.emailaddress": str(address),
            "authtoken.tokenproxy": str(token),
            "mfa.authenticator": str(authenticator),
        },
    }


def urls_of(route: matrix.Route, values: dict[str, Any], seeded: dict[str, Any]) -> list[Page]:
    """The full URLs to ask (as Page.query) with what each must show."""
    found = admin_model_of(route)
    if found is not None:
        model, view = found
        args = [] if view == "changelist" else [seeded["admin_ids"][model]]
        if view in ("changelist", "change"):
            shows = seeded["host_email"]  # the account column, or the raw-id field's label
        else:
            shows = seeded["admin_names"][model]
        return [Page(reverse(route.name or "", args=args), shows)]
    url = matrix.url_of(route, values)
    return [
        Page(url + page.query.format(**seeded), page.shows.format(**seeded))
        for page in AUDITED[route.key]
    ]


def entries_by(user: User, after: int) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(actor=user, pk__gt=after).order_by("pk"))


def last_entry_pk() -> int:
    return AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def test_each_staff_page_that_shows_people_writes_one_audit_entry_per_view(world):
    browsers, values, _ = world
    seeded = seed(values)
    problems: list[str] = []
    asked = 0

    for route in staff_routes():
        kind = classify(route)
        entry = matrix.table_entry(route) or ""
        browser = browsers[identity_for(entry)]
        if kind == "post-only":
            response = browser.get(matrix.url_of(route, values))
            if response.status_code != 405:
                problems.append(f"{route.key} is classified POST-only but answers GET")
            continue
        if kind != "audited":
            continue
        user = user_of(browser)
        for page in urls_of(route, values, seeded):
            before = last_entry_pk()
            response = browser.get(page.query)
            body = content_of(response)
            asked += 1
            where = f"{route.key} {page.query} as {user_of(browser)}"
            new = entries_by(user, before)
            if response.status_code != 200:
                problems.append(f"{where}: {response.status_code}")
            elif page.shows not in body:
                problems.append(f"{where}: does not show {page.shows!r}; seed it")
            elif len(new) != 1:
                actions = [e.action for e in new]
                problems.append(f"{where}: {len(new)} audit entries {actions}, not 1")
            matrix.close(response)

    assert asked >= len(AUDITED) + len(ADMIN_PEOPLE) * len(ADMIN_AUDITED_VIEWS)
    assert not problems, "\n".join(problems)
    assert audit.verify_chain().ok
    token_key = seeded["admin_names"]["authtoken.tokenproxy"]
    logged = [(e.target_id, json.dumps(e.details)) for e in AuditEntry.objects.all()]
    assert not [entry for entry in logged if token_key in str(entry)], "a token key was logged"


def test_the_qa_player_is_covered_by_the_entry_of_its_opening(world):
    browsers, values, _ = world
    browser = browsers["quality assurance"]
    staff = user_of(browser)
    grant = values["recordings"]["grant"]
    opening = AuditEntry.objects.get(actor=staff, action=qa.ACCESS)
    before = last_entry_pk()

    watched = browser.get(reverse("recordings:staff_qa_watch", args=[grant]))
    media = browser.get(reverse("recordings:staff_qa_media", args=[grant]))
    matrix.close(media)

    assert (watched.status_code, media.status_code) == (200, 200)
    assert opening.target_id == str(values["recordings"]["public_id"])
    assert not entries_by(staff, before)
    assert audit.verify_chain().ok


def test_a_form_error_on_turning_a_ticket_into_a_request_is_audited_as_a_view(world):
    browsers, values, _ = world
    browser = browsers["privacy admin"]
    ticket = Ticket.objects.get(reference=values["support:staff_ticket_to_request"]["reference"])
    before = last_entry_pk()

    response = browser.post(
        reverse("support:staff_ticket_to_request", args=[ticket.reference]), {"kind": "nope"}
    )

    assert response.status_code == 400
    assert ticket.message in response.content.decode()
    assert [e.action for e in entries_by(user_of(browser), before)] == ["ticket.view"]
