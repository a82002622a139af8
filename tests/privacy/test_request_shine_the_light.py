"""Shine the Light end to end: form, magic link, the notice by email and as a printable page,
once per calendar year."""

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from privacy.models import PrivacyRequest, ShineTheLightNotice
from tests.privacy import request_helpers
from tests.privacy.request_helpers import mails_to, path_in

committed = request_helpers.committed  # a fixture shared by the request tests

STL_URL = reverse("privacy:california_request")
EMAIL = "cal.resident@example.com"
State = PrivacyRequest.State


def ask_and_confirm(client, committed, *, name="Cal Resident"):
    """Send the form, open the emailed link and confirm; returns the notice email."""
    before = len(mails_to(EMAIL))
    response = committed(
        client.post,
        STL_URL,
        {
            "name": name,
            "email": EMAIL,
            "postal_address": "1 Main St\nFresno, CA 93701",
            "california_resident": "on",
        },
    )
    assert response.status_code == 302
    verify_mail = mails_to(EMAIL)[before]
    assert "Confirm your privacy request" in verify_mail.subject
    link = path_in(verify_mail.body, "/privacy/requests/verify/")
    assert committed(client.post, link).status_code == 200
    notices = mails_to(EMAIL)[before + 1 :]
    assert len(notices) == 1, [m.subject for m in notices]
    return notices[0]


@pytest.fixture
def in_2031(time_machine):
    time_machine.move_to(datetime(2031, 3, 10, 15, 0, tzinfo=UTC), tick=False)
    return time_machine


@pytest.mark.django_db
def test_the_request_sends_the_notice_after_the_link_is_confirmed(client, committed, in_2031):
    notice_mail = ask_and_confirm(client, committed)

    request = PrivacyRequest.objects.get()
    assert request.kind == PrivacyRequest.Kind.SHINE_THE_LIGHT
    assert request.channel == PrivacyRequest.Channel.WEB_FORM
    assert request.postal_address == "1 Main St\nFresno, CA 93701"
    assert request.state == State.COMPLETED
    assert notice_mail.subject == f"Your California Privacy Rights Notice [{request.reference}]"
    assert "During 2030 we did not disclose any of your personal information" in notice_mail.body
    page = client.get(path_in(notice_mail.body, "/privacy/requests/notice/"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "California Privacy Rights Notice" in html
    assert "Covers: 1 January to 31 December 2030" in html
    assert request.reference in html


@pytest.mark.django_db
def test_a_second_request_in_the_same_year_gets_a_copy_pointing_at_the_first(
    client, committed, in_2031
):
    ask_and_confirm(client, committed)
    in_2031.move_to(datetime(2031, 11, 2, 9, 0, tzinfo=UTC), tick=False)

    copy_mail = ask_and_confirm(client, committed)

    first, second = PrivacyRequest.objects.order_by("received_at")
    assert ShineTheLightNotice.objects.count() == 1
    notice = ShineTheLightNotice.objects.get()
    assert notice.request == first
    assert "(copy)" in copy_mail.subject
    assert "You asked for this notice before this year" in copy_mail.body
    assert notice.text.strip() in copy_mail.body
    assert second.state == State.COMPLETED
    assert first.reference in second.outcome
    # The printable copy is the first notice.
    page = client.get(path_in(copy_mail.body, "/privacy/requests/notice/"))
    assert first.reference in page.content.decode()


@pytest.mark.django_db
def test_a_request_in_the_next_calendar_year_gets_a_new_notice(client, committed, in_2031):
    ask_and_confirm(client, committed)
    in_2031.move_to(datetime(2032, 1, 2, 9, 0, tzinfo=UTC), tick=False)

    new_mail = ask_and_confirm(client, committed)

    assert "(copy)" not in new_mail.subject
    years = sorted(ShineTheLightNotice.objects.values_list("request_year", "covered_year"))
    assert years == [(2031, 2030), (2032, 2031)]
    assert "During 2031 we did not disclose" in new_mail.body


@pytest.mark.django_db
def test_a_tampered_notice_link_is_a_400(client, committed, in_2031):
    notice_mail = ask_and_confirm(client, committed)
    path = path_in(notice_mail.body, "/privacy/requests/notice/")
    token = path.rstrip("/").rsplit("/", 1)[1]

    tampered = client.get(reverse("privacy:request_notice", args=[token[:-2] + "xx"]))
    garbage = client.get(reverse("privacy:request_notice", args=["abc"]))

    assert tampered.status_code == 400
    assert garbage.status_code == 400
    assert "This link is not valid." in tampered.content.decode()


@pytest.mark.django_db
def test_the_notice_page_prints_without_navigation(client, committed, in_2031):
    notice_mail = ask_and_confirm(client, committed)

    html = client.get(path_in(notice_mail.body, "/privacy/requests/notice/")).content.decode()

    assert "data-print" in html  # the print button, shown by the script
    assert "<style" not in html and "style=" not in html  # print rules live in app.css
