"""Entering through the contest page: one entry per person, confirmed by email for those
without an account, the marketing box unticked and honoured through the consent log."""

import re
from datetime import datetime, timedelta

import pytest
import time_machine
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from contests import services
from contests.eligibility import aware_in_zone
from contests.models import ContestEntry
from privacy.email_categories import MARKETING_CATEGORIES, Category
from privacy.models import EmailConsentEvent, OutgoingEmail
from privacy.selectors import may_send
from tests.contests.factories import enter, make_contest
from tests.factories import UserFactory

SITE_URL = "https://confer.example.test"
FORM = {
    "name": "Ada Lovelace",
    "email": "Ada@Example.com",
    "age_confirmed": "on",
    "country": "US",
    "us_state": "CA",
    "rules_accepted": "on",
}


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = SITE_URL


@pytest.fixture
def contest(db):
    return make_contest()


def page(contest):
    return reverse("contests:detail", args=[contest.slug])


def confirm_path(outgoing):
    match = re.search(rf"{re.escape(SITE_URL)}(/contests/confirm/[^/\s]+/)", outgoing.text_body)
    assert match, outgoing.text_body
    return match.group(1)


def test_the_page_shows_rules_prize_free_entry_and_an_unticked_marketing_box(client, contest):
    response = client.get(page(contest))

    body = response.content.decode()
    assert response.status_code == 200
    assert '<h1 id="official-rules">Official rules</h1>' in body
    assert contest.prize in body
    assert "No purchase necessary" in body and contest.free_entry_method in body
    assert "America/New_York" in body
    box = re.search(r'<input[^>]*name="marketing_opt_in"[^>]*>', body)
    assert box and "checked" not in box.group(0)


def test_an_entry_without_an_account_counts_only_once_the_emailed_link_is_confirmed(
    client, contest
):
    response = client.post(page(contest), FORM)

    assert response.status_code == 302
    assert response.url == reverse("contests:entry_sent", args=[contest.slug])
    entry = ContestEntry.objects.get()
    assert entry.email == "ada@example.com" and entry.verified_at is None
    outgoing = OutgoingEmail.objects.get()
    assert outgoing.category == Category.TRANSACTIONAL and outgoing.to == "ada@example.com"

    path = confirm_path(outgoing)
    shown = client.get(path)
    assert shown.status_code == 200 and "Ada Lovelace" in shown.content.decode()
    entry.refresh_from_db()
    assert entry.verified_at is None  # a GET (a mail scanner) confirms nothing

    confirmed = client.post(path)
    assert confirmed.status_code == 200
    entry.refresh_from_db()
    assert entry.verified_at is not None


def test_a_forged_or_expired_confirmation_link_is_refused(client, contest):
    client.post(page(contest), FORM)
    path = confirm_path(OutgoingEmail.objects.get())

    assert client.post(path[:-3] + "xx/").status_code == 400
    with time_machine.travel(timezone.now() + timedelta(days=8)):
        assert client.post(path).status_code == 400
    assert ContestEntry.objects.get().verified_at is None


def test_a_signed_in_entry_counts_at_once_under_the_account_address(client, contest):
    user = UserFactory(email="grace@example.com", full_name="Grace Hopper")
    client.force_login(user)

    response = client.post(page(contest), FORM | {"email": "someone@else.example"})

    assert response.status_code == 200
    entry = ContestEntry.objects.get()
    assert (entry.user, entry.email) == (user, "grace@example.com")
    assert entry.verified_at is not None
    assert not OutgoingEmail.objects.exists()


def test_one_entry_per_address_whatever_the_letter_case(client, contest):
    services.confirm_entry(entry=enter(contest, name="Ada Lovelace", email="ada@example.com"))
    OutgoingEmail.objects.all().delete()

    response = client.post(page(contest), FORM | {"name": "Not Ada", "email": "ADA@EXAMPLE.COM"})

    # The page answers as for a new entrant: it must not tell a visitor who took part.
    assert response.status_code == 302
    assert response.url == reverse("contests:entry_sent", args=[contest.slug])
    entry = ContestEntry.objects.get()
    assert entry.name == "Ada Lovelace" and entry.verified_at is not None
    outgoing = OutgoingEmail.objects.get()
    assert outgoing.to == "ada@example.com" and "already entered" in outgoing.text_body
    assert "/contests/confirm/" not in outgoing.text_body


def test_a_signed_in_entrant_who_entered_is_told_so_on_the_page(client, contest):
    user = UserFactory(email="grace@example.com")
    enter(contest, user=user)
    client.force_login(user)

    response = client.post(page(contest), FORM)

    assert response.status_code == 409
    assert "already entered" in response.content.decode()
    assert ContestEntry.objects.count() == 1


def test_one_entry_per_account_even_after_the_address_changed(contest):
    user = UserFactory(email="grace@example.com")
    enter(contest, user=user)
    user.email = "grace.hopper@example.com"
    user.save()

    with pytest.raises(services.AlreadyEntered):
        enter(contest, user=user)


def test_an_account_holder_is_refused_when_their_address_already_entered_and_confirmed(contest):
    services.confirm_entry(entry=enter(contest, email="Grace@Example.com"))

    with pytest.raises(services.AlreadyEntered):
        enter(contest, user=UserFactory(email="grace@example.com"))


def test_an_unconfirmed_entry_does_not_block_its_address(contest):
    enter(contest, name="Not Grace", email="grace@example.com")  # typed by a stranger

    entry = enter(contest, name="Grace Hopper", email="GRACE@example.com")

    assert ContestEntry.objects.count() == 1
    assert entry.name == "Grace Hopper" and entry.confirmations_sent == 2
    user = UserFactory(email="grace@example.com")
    assert enter(contest, user=user).verified_at is not None
    assert ContestEntry.objects.get().user == user


def test_confirmation_links_are_limited_per_entry(contest):
    for _ in range(services.CONFIRMATIONS_PER_ENTRY):
        enter(contest)

    with pytest.raises(services.TooManyConfirmations):
        enter(contest)


def test_the_marketing_box_subscribes_through_the_consent_log_once_confirmed(client, contest):
    client.post(page(contest), FORM | {"marketing_opt_in": "on"})
    assert not EmailConsentEvent.objects.exists()  # the address is not proven yet

    client.post(confirm_path(OutgoingEmail.objects.get()))

    events = EmailConsentEvent.objects.filter(email="ada@example.com", subscribed=True)
    assert {event.category for event in events} == set(MARKETING_CATEGORIES)
    assert all(may_send(email="ada@example.com", category=c) for c in MARKETING_CATEGORIES)


def test_without_the_tick_no_marketing_email(client, contest):
    client.force_login(UserFactory(email="grace@example.com"))

    client.post(page(contest), FORM)

    assert ContestEntry.objects.get().verified_at is not None
    assert not EmailConsentEvent.objects.exists()
    assert not may_send(email="grace@example.com", category=Category.NEWSLETTER)


def test_bad_input_gets_form_errors_not_a_server_error(client, contest):
    response = client.post(
        page(contest), {"name": "", "email": "nope", "country": "ZZ", "us_state": "TX"}
    )

    assert response.status_code == 400
    assert not ContestEntry.objects.exists()


def test_an_ineligible_region_is_told_why(client, contest):
    response = client.post(page(contest), FORM | {"country": "other", "us_state": ""})

    assert response.status_code == 400
    assert "not open to residents of that country" in response.content.decode()


def test_after_the_close_the_page_refuses_entries(client, contest):
    with time_machine.travel(contest.ends_at + timedelta(seconds=1)):
        response = client.post(page(contest), FORM)

    assert response.status_code == 409
    assert not ContestEntry.objects.exists()


def test_a_link_confirmed_after_the_draw_is_refused(client, contest):
    client.post(page(contest), FORM)
    path = confirm_path(OutgoingEmail.objects.get())
    type(contest).objects.filter(pk=contest.pk).update(drawn_at=timezone.now())

    assert client.post(path).status_code == 409
    assert ContestEntry.objects.get().verified_at is None


def test_script_in_the_rules_is_neutralised(client, db):
    contest = make_contest(
        rules_markdown=(
            "Rules <script>alert('x')</script> <img src=x onerror=alert(1)> "
            "[click](javascript:alert(2))"
        ),
        title="<b>Bold</b> title",
    )

    body = client.get(page(contest)).content.decode()

    assert "<script>alert" not in body
    assert "onerror" not in body
    assert "javascript:alert" not in body
    assert "<b>Bold</b>" not in body and "&lt;b&gt;Bold&lt;/b&gt;" in body


def test_unknown_contest_is_a_404(client, db):
    assert client.get(reverse("contests:detail", args=["nope"])).status_code == 404


def test_the_page_states_open_and_close_on_the_contest_clock_whatever_the_viewer_zone(client, db):
    contest = make_contest(
        starts_at=aware_in_zone(datetime(2026, 3, 1, 9, 0), "America/New_York"),
        ends_at=aware_in_zone(datetime(2026, 3, 15, 23, 59), "America/New_York"),
    )
    client.force_login(UserFactory(time_zone="Asia/Tokyo"))

    body = client.get(page(contest)).content.decode()

    assert "2026-03-01 09:00" in body and "2026-03-15 23:59" in body


def test_the_database_itself_holds_one_entry_per_address_in_any_case(contest):
    ContestEntry.objects.create(contest=contest, name="A", email="ada@example.com", country="US")

    with pytest.raises(IntegrityError), transaction.atomic():
        ContestEntry.objects.create(
            contest=contest, name="B", email="ADA@example.com", country="US"
        )
