"""The privacy admins' queue and request pages: who may open them, clocks, and each action."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils.html import escape

from accounts.roles import FINANCE, PRIVACY_ADMIN
from privacy.deadlines import legal_date
from privacy.models import AuditEntry, PrivacyRequest
from privacy.requests import services
from tests.factories import UserFactory
from tests.privacy import request_helpers
from tests.privacy.people import PERSON_EMAIL, build_world, row_counts, tables_holding
from tests.privacy.request_helpers import mails_to, submit

committed = request_helpers.committed  # a fixture shared by the request tests

State = PrivacyRequest.State
QUEUE_URL = reverse("privacy:staff_requests")


def url(name, request=None):
    return reverse(f"privacy:{name}", args=[request.reference] if request else [])


@pytest.fixture
def admin(db):
    return UserFactory(email="dpo@example.com", roles=[PRIVACY_ADMIN])


@pytest.fixture
def staff(client, admin):
    client.force_login(admin)
    return client


def travel(time_machine, client, admin, moment):
    """Move the clock, and sign in again: a session from years before would have expired."""
    time_machine.move_to(moment, tick=False)
    client.force_login(admin)


def reload(request):
    request.refresh_from_db()
    return request


# --- Who may open the pages ---------------------------------------------------------------


@pytest.fixture
def open_request(db):
    return submit(kind="delete", verified=False, email="someone@example.com")


PAGES = [
    ("staff_requests", False),
    ("staff_request_new", False),
    ("staff_request_metrics", False),
    ("staff_ledger", False),
    ("staff_third_parties", False),
    ("staff_request", True),
    ("staff_request_status", True),
]


@pytest.mark.parametrize("name, per_request", PAGES)
def test_anonymous_visitors_are_sent_to_sign_in(client, open_request, name, per_request):
    response = client.get(url(name, open_request if per_request else None))

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


@pytest.mark.parametrize("roles", [[], [FINANCE]], ids=["host", "finance"])
@pytest.mark.parametrize("name, per_request", PAGES)
def test_signed_in_people_without_the_role_get_403(client, open_request, roles, name, per_request):
    client.force_login(UserFactory(roles=roles))

    response = client.get(url(name, open_request if per_request else None))

    assert response.status_code == 403


@pytest.mark.parametrize("name, per_request", PAGES)
def test_privacy_admins_open_every_page(staff, open_request, name, per_request):
    response = staff.get(url(name, open_request if per_request else None))

    assert response.status_code == 200


def test_actions_refuse_people_without_the_role(client, open_request):
    client.force_login(UserFactory(roles=[FINANCE]))

    response = client.post(url("staff_request_deny", open_request), {"deny-reason": "no"})

    assert response.status_code == 403
    assert reload(open_request).state == State.UNVERIFIED


def test_opening_a_request_is_audited(staff, admin, open_request):
    staff.get(url("staff_request", open_request))

    entry = AuditEntry.objects.filter(action="privacy_request.view").get()
    assert entry.actor == admin and entry.target_id == open_request.reference


def test_an_unknown_reference_is_404(staff, db):
    assert staff.get(reverse("privacy:staff_request", args=["PR-NOPE-NOPE"])).status_code == 404


# --- Clocks in the queue --------------------------------------------------------------------


@pytest.fixture
def opt_out_received_before_july_4th(db, time_machine):
    """An opt-out (15 business days) received Wed 2 July 2031; Fri 4 July is a holiday.

    Counting from Thu 3 July, skipping the holiday and weekends: due Thu 24 July.
    """
    time_machine.move_to(datetime(2031, 7, 2, 16, 0, tzinfo=UTC), tick=False)
    return submit(kind="opt_out", verified=False, email="optout@example.com")


def row_html(page: str, reference: str) -> str:
    start = page.index(f'data-reference="{reference}"')
    return page[page.rindex("<tr", 0, start) : page.index("</tr>", start)]


def test_days_left_are_business_days_skipping_the_weekend_and_the_holiday(
    staff, admin, opt_out_received_before_july_4th, time_machine
):
    request = opt_out_received_before_july_4th
    assert request.due_on == date(2031, 7, 24)
    travel(time_machine, staff, admin, datetime(2031, 7, 3, 9, 0, tzinfo=UTC))

    row = row_html(staff.get(QUEUE_URL).content.decode(), request.reference)

    assert "14 business days" in row
    assert "privacy-overdue" not in row and "Overdue" not in row

    travel(time_machine, staff, admin, datetime(2031, 7, 19, 9, 0, tzinfo=UTC))  # a Saturday
    assert "4 business days" in row_html(staff.get(QUEUE_URL).content.decode(), request.reference)


def test_an_overdue_request_stands_out_in_words_and_style(
    staff, admin, opt_out_received_before_july_4th, time_machine
):
    request = opt_out_received_before_july_4th
    on_time = submit(kind="access", verified=False, email="later@example.com")
    travel(time_machine, staff, admin, datetime(2031, 7, 28, 9, 0, tzinfo=UTC))  # a Monday

    page = staff.get(QUEUE_URL).content.decode()

    late_row = row_html(page, request.reference)
    assert 'class="privacy-overdue"' in late_row
    assert "Overdue" in late_row and "by 2 business days" in late_row
    assert "Overdue" not in row_html(page, on_time.reference)
    assert "19 calendar days" in row_html(page, on_time.reference)  # due 16 August
    # Open ones first, soonest due at the top.
    assert page.index(request.reference) < page.index(on_time.reference)
    overdue_only = staff.get(QUEUE_URL, {"overdue": "on"}).content.decode()
    assert request.reference in overdue_only and on_time.reference not in overdue_only


def test_closed_requests_come_after_open_ones_and_filters_apply(staff, admin):
    closed = submit(kind="delete", email="closed@example.com")
    services.deny(request=closed, reason="Could not verify.", actor=admin)
    waiting = submit(kind="delete", verified=False, email="open@example.com")

    page = staff.get(QUEUE_URL).content.decode()
    denied_only = staff.get(QUEUE_URL, {"state": "denied"}).content.decode()

    assert page.index(waiting.reference) < page.index(closed.reference)
    assert closed.reference in denied_only and waiting.reference not in denied_only


# --- Actions --------------------------------------------------------------------------------


def test_an_extension_is_granted_once_with_a_reason(staff, committed):
    request = submit(kind="delete", email="ext@example.com")
    received = legal_date(request.received_at)  # the California day of receipt

    first = committed(
        staff.post, url("staff_request_extend", request), {"extend-reason": "Large archive."}
    )
    second = staff.post(url("staff_request_extend", request), {"extend-reason": "Again."})

    assert first.status_code == 302 and second.status_code == 302
    request = reload(request)
    assert request.due_on == received + timedelta(days=90)
    assert request.extension_reason == "Large archive."
    page = staff.get(url("staff_request", request)).content.decode()
    assert "already extended once" in page
    assert "Extend by 45 days" not in page
    told = [m for m in mails_to("ext@example.com") if "more time" in m.subject]
    assert len(told) == 1 and "Large archive." in told[0].body


def test_an_extension_without_a_reason_is_a_form_error(staff):
    request = submit(kind="delete", email="ext@example.com")

    response = staff.post(url("staff_request_extend", request), {"extend-reason": "  "})

    assert response.status_code == 400
    assert response.context["extend_form"].errors["reason"]
    assert reload(request).extended_at is None


def test_denying_needs_a_reason_and_tells_the_requester(staff, committed):
    request = submit(kind="delete", email="deny@example.com")

    empty = staff.post(url("staff_request_deny", request), {"deny-reason": ""})

    assert empty.status_code == 400
    assert empty.context["deny_form"].errors["reason"]
    assert reload(request).state == State.RECEIVED

    done = committed(
        staff.post, url("staff_request_deny", request), {"deny-reason": "Not a resident."}
    )

    assert done.status_code == 302
    assert reload(request).state == State.DENIED
    assert any("Not a resident." in m.body for m in mails_to("deny@example.com"))


def test_a_stale_form_on_a_closed_request_is_a_message_not_an_error(staff, admin):
    request = submit(kind="delete", email="stale@example.com")
    services.deny(request=request, reason="First answer.", actor=admin)

    response = staff.post(
        url("staff_request_deny", request), {"deny-reason": "Second answer."}, follow=True
    )

    assert response.status_code == 200
    assert "already closed" in response.content.decode()
    assert reload(request).outcome == "First answer."


def test_the_deletion_dry_run_changes_nothing_and_the_confirmation_erases(staff, committed):
    world = build_world()
    request = submit(kind="delete", user=world.person, email=PERSON_EMAIL)
    before = row_counts()

    page = staff.get(url("staff_request", request))

    html = page.content.decode()
    assert page.status_code == 200
    assert "dry run" in html
    preview = page.context["preview"]
    assert preview and all(f"<td>{escape(line.what)}</td>" in html for line in preview)
    assert any(line.action == "kept" and escape(line.reason) in html for line in preview)
    counts = row_counts()
    for label in ("privacy.AuditEntry", "privacy.AuditHead"):  # the view is audited
        counts.pop(label), before.pop(label)
    assert counts == before
    assert reload(request).state == State.RECEIVED

    unconfirmed = staff.post(url("staff_request_erase", request), {})
    assert unconfirmed.status_code == 400
    assert reload(request).state == State.RECEIVED

    done = committed(staff.post, url("staff_request_erase", request), {"confirm": "on"})

    assert done.status_code == 302
    request = reload(request)
    assert request.state == State.COMPLETED
    assert "We deleted your personal information" in request.outcome
    # The answer went out, and then the send log forgot the address too.
    assert tables_holding(PERSON_EMAIL) == {}
    assert request.name == "(erased)" and request.postal_address == ""


def test_an_unverified_deletion_shows_no_dry_run_and_cannot_be_erased(staff):
    request = submit(kind="delete", verified=False, email="wait@example.com")

    page = staff.get(url("staff_request", request))
    response = staff.post(url("staff_request_erase", request), {"confirm": "on"}, follow=True)

    assert page.context["preview"] is None
    assert "not open for deletion" in response.content.decode()
    assert reload(request).state == State.UNVERIFIED


def test_a_correction_is_shown_then_applied(staff, committed):
    person = UserFactory(full_name="Ada Lovelase", job_title="Analyst")
    request = submit(
        kind="correct",
        user=person,
        email=person.email,
        details={"changes": {"full_name": "Ada Lovelace", "job_title": "Engineer"}},
    )

    page = staff.get(url("staff_request", request)).content.decode()

    assert "Ada Lovelase" in page and "Ada Lovelace" in page and "Engineer" in page
    assert url("staff_request_correct", request) in page

    response = committed(staff.post, url("staff_request_correct", request))

    assert response.status_code == 302
    person.refresh_from_db()
    assert (person.full_name, person.job_title) == ("Ada Lovelace", "Engineer")
    request = reload(request)
    assert request.state == State.COMPLETED
    assert "full_name" in request.outcome and "job_title" in request.outcome


def test_a_correction_without_an_account_is_answered_in_writing(staff, committed):
    request = submit(
        kind="correct",
        email="guest@example.com",
        details={"changes": {"full_name": "Gia Guest"}},
    )

    page = staff.get(url("staff_request", request)).content.decode()
    refused = staff.post(url("staff_request_correct", request), follow=True)
    answered = committed(
        staff.post,
        url("staff_request_complete", request),
        {"outcome": "We hold no name for you beyond meeting rows, which we corrected."},
    )

    assert "no account to correct" in page
    assert "no account to correct" in refused.content.decode()
    assert answered.status_code == 302
    assert reload(request).state == State.COMPLETED


def test_an_access_request_shows_progress_from_the_status_endpoint(staff):
    request = submit(kind="access", verified=False, email="progress@example.com")
    PrivacyRequest.objects.filter(pk=request.pk).update(
        state=State.IN_PROGRESS, progress=40, verified_at=request.received_at
    )

    page = staff.get(url("staff_request", request)).content.decode()
    status = staff.get(url("staff_request_status", request)).json()

    assert 'value="40"' in page and "privacy-requests.js" in page
    assert status == {
        "state": "in_progress",
        "state_label": "In progress",
        "progress": 40,
        "closed": False,
        "awaiting_release": False,
    }


# --- Logging a request that came by post or email --------------------------------------------


NEW_URL = reverse("privacy:staff_request_new")


def staff_form(**overrides):
    return {
        "kind": "shine_the_light",
        "channel": "elsewhere",
        "received_on": "2031-03-02",
        "name": "Pat Post",
        "email": "pat.post@example.com",
        "postal_address": "2 Elm St, Oakland, CA",
        "california_resident": "on",
        "verified": "on",
    } | overrides


def test_a_request_logged_by_staff_can_wait_for_the_magic_link(
    staff, admin, committed, time_machine
):
    travel(time_machine, staff, admin, datetime(2031, 3, 5, 12, 0, tzinfo=UTC))

    response = committed(staff.post, NEW_URL, staff_form(kind="access", verified=""))

    assert response.status_code == 302
    logged = PrivacyRequest.objects.get()
    assert logged.state == State.UNVERIFIED
    assert logged.channel == "elsewhere"
    assert logged.received_at.date() == date(2031, 3, 2)
    assert logged.due_on == date(2031, 4, 16)  # 45 calendar days
    assert any("Confirm your privacy request" in m.subject for m in mails_to(logged.email))


def test_a_checked_shine_the_light_request_by_post_elsewhere_is_due_in_150_days(
    staff, admin, committed, time_machine
):
    travel(time_machine, staff, admin, datetime(2031, 3, 5, 12, 0, tzinfo=UTC))

    committed(staff.post, NEW_URL, staff_form())

    logged = PrivacyRequest.objects.get()
    assert logged.due_on == date(2031, 3, 2) + timedelta(days=150)
    assert logged.verified_at is not None
    # Verified by staff: the notice went out at once.
    assert logged.state == State.COMPLETED
    assert logged.notice.covered_year == 2030


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"received_on": "2099-01-01"}, "received_on"),
        ({"california_resident": ""}, "california_resident"),
        ({"channel": "web_form"}, "channel"),
        ({"email": "nope"}, "email"),
    ],
)
def test_bad_staff_input_is_a_form_error(staff, overrides, field):
    response = staff.post(NEW_URL, staff_form(**overrides))

    assert response.status_code == 400
    assert response.context["form"].errors[field]
    assert not PrivacyRequest.objects.exists()
