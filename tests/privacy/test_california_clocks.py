"""Every legal clock starts and is read on the California date, whatever the server's zone
(TIME_ZONE) or the zone a staff member's page activated.

Expected dates are worked out here from the California date with a hand-written holiday
list and a plain day loop, not with privacy/deadlines.py.
"""

from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from itertools import product
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.roles import PRIVACY_ADMIN
from privacy.deadlines import legal_date
from privacy.models import PrivacyRequest, ShineTheLightNotice
from privacy.requests import housekeeping, services
from privacy.requests.metrics import yearly_metrics, years_with_requests
from tests.factories import UserFactory
from tests.privacy import request_helpers
from tests.privacy.request_helpers import mails_to, path_in, submit

committed = request_helpers.committed  # a fixture shared by the request tests

CALIFORNIA = ZoneInfo("America/Los_Angeles")
STL = "shine_the_light"
KINDS = ["access", "delete", "correct", "opt_out", "limit", STL]
CHANNELS = ["web_form", "designated_email", "designated_post", "elsewhere"]

# Observed US federal holidays (OPM's list), 2026 to the end of 2027.
HOLIDAYS = {
    date(2026, 1, 1),
    date(2026, 1, 19),
    date(2026, 2, 16),
    date(2026, 5, 25),
    date(2026, 6, 19),
    date(2026, 7, 3),  # 4 July is a Saturday
    date(2026, 9, 7),
    date(2026, 10, 12),
    date(2026, 11, 11),
    date(2026, 11, 26),
    date(2026, 12, 25),
    date(2027, 1, 1),
    date(2027, 1, 18),
    date(2027, 2, 15),
    date(2027, 5, 31),
    date(2027, 6, 18),  # 19 June is a Saturday
    date(2027, 7, 5),  # 4 July is a Sunday
    date(2027, 9, 6),
    date(2027, 10, 11),
    date(2027, 11, 11),
    date(2027, 11, 25),
    date(2027, 12, 24),  # Christmas is a Saturday
    date(2027, 12, 31),  # so is New Year's Day 2028
}


def business_days_after(day: date, count: int) -> date:
    while count:
        day += timedelta(days=1)
        if day.weekday() < 5 and day not in HOLIDAYS:
            count -= 1
    return day


def expected(kind: str, channel: str, received: date) -> tuple[date, date | None]:
    """(due, confirm receipt by) for a request received on the California date `received`."""
    if kind == STL:
        return received + timedelta(days=150 if channel == "elsewhere" else 30), None
    if kind in ("opt_out", "limit"):
        return business_days_after(received, 15), None
    return received + timedelta(days=45), business_days_after(received, 10)


# Where the server and the person looking are: (TIME_ZONE, zone a page activated or None).
SETUPS = {
    "server in UTC": ("UTC", None),
    "server in Tokyo": ("Asia/Tokyo", None),
    # Behind California: a viewer's date would be a day early, where UTC's is a day late.
    "staff in Pago Pago": ("UTC", "Pacific/Pago_Pago"),
}


@contextmanager
def zones(settings, setup: str):
    server, viewer = SETUPS[setup]
    settings.TIME_ZONE = server
    with timezone.override(ZoneInfo(viewer) if viewer else None):
        yield


def california(day: date, at: time) -> datetime:
    return datetime.combine(day, at, tzinfo=CALIFORNIA)


DAYS = [
    ("PDT Wednesday", date(2026, 9, 9), "server in UTC"),
    ("PDT Friday before Columbus Day", date(2026, 10, 9), "server in Tokyo"),
    ("PDT eve of Independence Day observed", date(2026, 7, 2), "staff in Pago Pago"),
    ("PST Wednesday", date(2026, 12, 9), "server in UTC"),
    ("PST Friday before Martin Luther King Day", date(2027, 1, 15), "server in Tokyo"),
    ("PST eve of Thanksgiving", date(2026, 11, 25), "staff in Pago Pago"),
    ("PST eve of Christmas", date(2026, 12, 24), "server in Tokyo"),
    ("PST 31 December", date(2026, 12, 31), "server in UTC"),
]
# 16:59 PST and 17:00 PDT are already the next day in UTC; 00:30 is the day before in Pago Pago.
TIMES = [time(0, 30), time(16, 59), time(17, 0), time(23, 30)]
MOMENTS = [
    pytest.param(day, at, setup, id=f"{label} {at:%H:%M}, {setup}")
    for (label, day, setup), at in product(DAYS, TIMES)
]


@pytest.mark.django_db
@pytest.mark.parametrize(("day", "at", "setup"), MOMENTS)
def test_every_kind_and_channel_is_due_counted_from_the_california_date(
    settings, time_machine, day, at, setup
):
    time_machine.move_to(california(day, at), tick=False)

    with zones(settings, setup):
        got = {
            (kind, channel): submit(
                kind=kind, channel=channel, verified=False, email=f"{kind}.{channel}@example.com"
            )
            for kind, channel in product(KINDS, CHANNELS)
        }

    assert {key: (row.due_on, row.confirm_due_on) for key, row in got.items()} == {
        (kind, channel): expected(kind, channel, day) for kind, channel in got
    }


ISSUE_EXAMPLES = [
    pytest.param(
        "access",
        california(date(2026, 12, 9), time(17, 30)),
        date(2027, 1, 23),
        date(2026, 12, 23),
        id="access at 17:30 on Wed 9 Dec 2026",
    ),
    pytest.param(
        "opt_out",
        california(date(2026, 12, 23), time(19, 0)),
        date(2027, 1, 15),
        None,
        id="opt-out at 19:00 on Wed 23 Dec 2026",
    ),
]


@pytest.mark.django_db
@pytest.mark.parametrize("setup", SETUPS)
@pytest.mark.parametrize(("kind", "received_at", "due_on", "confirm_due_on"), ISSUE_EXAMPLES)
def test_the_issues_examples(settings, committed, setup, kind, received_at, due_on, confirm_due_on):
    with zones(settings, setup):
        request = committed(submit, kind=kind, verified=False, received_at=received_at)

    assert (request.due_on, request.confirm_due_on) == (due_on, confirm_due_on)
    # The requester reads the same California dates in the email.
    body = mails_to(request.email)[-1].body
    assert f"Received: {received_at:%-d %B %Y}" in body
    assert f"We will answer by {due_on:%-d %B %Y}" in body


def test_a_naive_time_has_no_legal_date():
    with pytest.raises(ValueError):
        legal_date(datetime(2026, 12, 9, 17, 30))


# --- Shine the Light: the request year, and once a year --------------------------------------


def ask_for_the_notice(committed, time_machine, moment: datetime, email="cal@example.com"):
    time_machine.move_to(moment, tick=False)
    return committed(submit, kind=STL, email=email)


@pytest.mark.django_db
@pytest.mark.parametrize("setup", SETUPS)
@pytest.mark.parametrize(
    ("moment", "request_year", "covered_year"),
    [
        (california(date(2026, 12, 31), time(17, 30)), 2026, 2025),
        (california(date(2026, 12, 31), time(23, 30)), 2026, 2025),
        (california(date(2027, 1, 1), time(0, 30)), 2027, 2026),
        (california(date(2025, 12, 31), time(16, 59)), 2025, 2024),
    ],
)
def test_the_notice_year_is_the_california_year(
    client, settings, committed, time_machine, setup, moment, request_year, covered_year
):
    with zones(settings, setup):
        request = ask_for_the_notice(committed, time_machine, moment)

    notice = ShineTheLightNotice.objects.get(request=request)
    assert (notice.request_year, notice.covered_year) == (request_year, covered_year)
    notice_mail = mails_to(request.email)[-1]
    assert f"During {covered_year} we did not disclose" in notice_mail.body
    # The printable copy is dated on the same calendar, for anyone who opens it.
    page = client.get(path_in(notice_mail.body, "/privacy/requests/notice/"))
    assert f"issued {moment:%-d %B %Y}</p>" in page.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("setup", SETUPS)
def test_a_repeat_request_in_the_california_year_gets_a_copy_naming_the_first(
    settings, committed, time_machine, setup
):
    with zones(settings, setup):
        first = ask_for_the_notice(committed, time_machine, california(date(2026, 12, 31), time(9)))
        # 01:30 on 1 January in UTC, later still in Tokyo: still 2026 in California.
        second = ask_for_the_notice(
            committed, time_machine, california(date(2026, 12, 31), time(17, 30))
        )
        next_year = ask_for_the_notice(
            committed, time_machine, california(date(2027, 1, 1), time(0, 30))
        )

    [copy_mail] = [m for m in mails_to(first.email) if "(copy)" in m.subject]
    assert copy_mail.subject.endswith(f"[{second.reference}]")
    assert f"in request {first.reference}\nreceived on 31 December 2026" in copy_mail.body
    assert "notice we sent for that request on 31 December 2026" in copy_mail.body
    second.refresh_from_db()
    assert first.reference in second.outcome and "31 December 2026" in second.outcome
    notices = ShineTheLightNotice.objects.order_by("request_year")
    assert [(n.request_id, n.request_year) for n in notices] == [
        (first.pk, 2026),
        (next_year.pk, 2027),
    ]


# --- Reading the clocks: extension, days left, reminders, intake, figures -------------------


@pytest.fixture
def admin(db):
    return UserFactory(email="dpo@example.com", roles=[PRIVACY_ADMIN], time_zone="Asia/Tokyo")


def test_the_extension_runs_90_days_from_the_california_date(settings, admin, time_machine):
    settings.TIME_ZONE = "Asia/Tokyo"
    time_machine.move_to(california(date(2026, 12, 9), time(17, 30)), tick=False)
    request = submit(kind="delete")

    services.extend(request=request, reason="A large archive.", actor=admin)

    request.refresh_from_db()
    assert request.due_on == date(2026, 12, 9) + timedelta(days=90) == date(2027, 3, 9)


def staff_page(client, admin, time_machine, moment: datetime, name: str, *args):
    time_machine.move_to(moment, tick=False)
    client.force_login(admin)  # again: a session from weeks before would have expired
    return client.get(reverse(f"privacy:{name}", args=args))


def test_days_left_and_overdue_are_read_on_the_california_day(
    client, settings, admin, time_machine
):
    settings.TIME_ZONE = "UTC"  # and the admin's pages are in Tokyo
    time_machine.move_to(california(date(2026, 12, 9), time(17, 30)), tick=False)
    access = submit(kind="access", verified=False, email="a@example.com")
    opt_out = submit(kind="opt_out", verified=False, email="o@example.com")
    assert (access.due_on, opt_out.due_on) == (date(2027, 1, 23), date(2026, 12, 31))

    # 17:30 on Tuesday 29 December in California, Wednesday already in UTC and Tokyo: two
    # business days are left, the 30th and the 31st.
    tuesday = california(date(2026, 12, 29), time(17, 30))
    queue = staff_page(client, admin, time_machine, tuesday, "staff_requests")
    status = {row.request.reference: row.status for row in queue.context["rows"]}
    assert status[opt_out.reference].days_left == 2 and not status[opt_out.reference].overdue
    assert "Due (California date)" in queue.content.decode()

    due_day = california(date(2027, 1, 23), time(23, 30))
    detail = staff_page(client, admin, time_machine, due_day, "staff_request", access.reference)
    assert detail.context["status"].days_left == 0 and not detail.context["status"].overdue
    html = detail.content.decode()
    assert "Due (California date)" in html and "Wed 9 Dec 2026 (California date of receipt)" in html

    next_day = california(date(2027, 1, 24), time(0, 30))
    detail = staff_page(client, admin, time_machine, next_day, "staff_request", access.reference)
    assert detail.context["status"].overdue and detail.context["status"].overdue_by == 1


def test_reminders_go_out_on_the_california_day(
    settings, admin, time_machine, django_capture_on_commit_callbacks
):
    settings.TIME_ZONE = "Asia/Tokyo"
    time_machine.move_to(california(date(2026, 12, 9), time(17, 30)), tick=False)
    request = submit(kind="delete")
    # Pinned, so that this reads only the reminder's clock and not the intake's.
    PrivacyRequest.objects.filter(pk=request.pk).update(due_on=date(2027, 1, 23))
    mail.outbox.clear()

    sent = []
    for day in (date(2027, 1, 16), date(2027, 1, 21)):  # 7 and 2 days before, in California
        time_machine.move_to(california(day, time(17, 30)), tick=False)
        with django_capture_on_commit_callbacks(execute=True):
            sent.append(housekeeping.send_due_reminders())

    assert sent == [1, 1]
    assert [m.subject for m in mail.outbox] == [
        f"Privacy request {request.reference} is due in 7 days",
        f"Privacy request {request.reference} is due in 2 days",
    ]


def test_staff_intake_takes_the_received_date_as_a_california_date(
    client, settings, admin, committed, time_machine
):
    settings.TIME_ZONE = "Asia/Tokyo"
    time_machine.move_to(california(date(2026, 12, 9), time(17, 30)), tick=False)
    client.force_login(admin)
    form = {
        "kind": "delete",
        "channel": "designated_post",
        "name": "Pat Post",
        "email": "pat.post@example.com",
        "california_resident": "on",
        "verified": "on",
    }

    new = reverse("privacy:staff_request_new")

    tomorrow = client.post(new, form | {"received_on": "2026-12-10"})
    today = committed(client.post, new, form | {"received_on": "2026-12-09"})
    earlier = committed(
        client.post, new, form | {"received_on": "2026-12-08", "email": "earlier@example.com"}
    )

    assert tomorrow.status_code == 400
    assert "cannot be in the future" in tomorrow.content.decode()
    assert today.status_code == earlier.status_code == 302
    logged = {row.email: row for row in PrivacyRequest.objects.all()}
    assert logged["pat.post@example.com"].due_on == date(2027, 1, 23)
    assert legal_date(logged["earlier@example.com"].received_at) == date(2026, 12, 8)
    assert logged["earlier@example.com"].due_on == date(2027, 1, 22)


def test_yearly_figures_count_by_the_california_date(settings, db):
    settings.TIME_ZONE = "Asia/Tokyo"
    late = submit(verified=False, email="late@example.com")
    early = submit(verified=False, email="early@example.com")
    # Received on 31 December in California (1 January in UTC), answered the next day there.
    PrivacyRequest.objects.filter(pk=late.pk).update(
        received_at=california(date(2026, 12, 31), time(17, 30)),
        state=PrivacyRequest.State.COMPLETED,
        closed_at=california(date(2027, 1, 1), time(0, 30)),
    )
    PrivacyRequest.objects.filter(pk=early.pk).update(
        received_at=california(date(2027, 1, 1), time(0, 30))
    )

    in_2026 = {line.kind: line for line in yearly_metrics(year=2026)}["access"]
    in_2027 = {line.kind: line for line in yearly_metrics(year=2027)}["access"]

    assert (in_2026.received, in_2026.completed, in_2026.median_days) == (1, 1, 1.0)
    assert (in_2027.received, in_2027.completed) == (1, 0)
    assert years_with_requests() == [2027, 2026]
