import logging
from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts import age_screen
from accounts.models import User
from privacy.selectors import preferences_for

AGE_URL = reverse("accounts:age_screen")
SIGNUP_URL = reverse("account_signup")


def valid_signup(**overrides):
    data = {
        "full_name": "Ada Lovelace",
        "email": "ada@example.com",
        "password1": "analytical-engine-1843",
        "password2": "analytical-engine-1843",
        "time_zone": "Europe/London",
        "how_heard": "colleague",
        "how_heard_other": "",
        "company": "",
        "job_title": "",
    }
    return data | overrides


def years_ago(years: int, days: int = 0):
    today = timezone.localdate()
    return today.replace(year=today.year - years) - timedelta(days=days)


def main_text(response) -> str:
    html = response.content.decode()
    return html[html.index("<main") : html.index("</main>")]


@pytest.fixture
def screened(client, db):
    """A browser that passed the age screen."""
    response = client.post(AGE_URL, {"date_of_birth": "1990-04-27"})
    assert response.status_code == 302
    assert response.url == SIGNUP_URL
    return client


def test_signup_starts_with_the_age_screen(client, db):
    response = client.get(SIGNUP_URL)

    assert response.status_code == 302
    assert response.url == AGE_URL


def test_age_screen_asks_for_a_free_entry_date_without_hints(client, db):
    response = client.get(AGE_URL)

    html = response.content.decode()
    assert 'type="date"' in html
    assert "<select" not in html
    assert "13" not in html


def test_happy_path_creates_an_unverified_account_and_sends_verification(
    screened, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = screened.post(SIGNUP_URL, valid_signup(company="Analytical Ltd"))

    assert response.status_code == 302
    user = User.objects.get(email="ada@example.com")
    assert user.full_name == "Ada Lovelace"
    assert user.time_zone == "Europe/London"
    assert user.how_heard == "colleague"
    assert user.company == "Analytical Ltd"
    assert user.age_screen_passed_at is not None
    assert not EmailAddress.objects.get(user=user).verified
    assert len(mail.outbox) == 1
    assert "confirm" in mail.outbox[0].body.lower()
    assert "List-Unsubscribe" not in mail.outbox[0].extra_headers


def test_marketing_is_off_unless_ticked(screened):
    screened.post(SIGNUP_URL, valid_signup())

    prefs = preferences_for(email="ada@example.com")
    assert prefs["newsletter"] is False
    assert prefs["promotions"] is False


def test_ticking_marketing_subscribes(screened):
    screened.post(SIGNUP_URL, valid_signup(marketing_opt_in="on"))

    assert preferences_for(email="ada@example.com")["newsletter"] is True


def test_the_birth_date_is_stored_nowhere(screened):
    screened.post(SIGNUP_URL, valid_signup())

    user = User.objects.get(email="ada@example.com")
    assert not any("1990-04-27" in str(value) for value in vars(user).values())
    assert age_screen.PASS_SESSION_KEY not in screened.session


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"email": "not-an-email"}, "email", "valid email"),
        ({"password1": "password", "password2": "password"}, "password1", "too common"),
        ({"password1": "short1", "password2": "short1"}, "password1", "at least 10"),
        ({"password2": "something-else-entirely"}, "password2", "same password"),
        ({"time_zone": "Mars/Olympus_Mons"}, "time_zone", "not a time zone we know"),
        ({"time_zone": ""}, "time_zone", "required"),
        ({"how_heard": "other"}, "how_heard_other", "Tell us where"),
        ({"how_heard": "telepathy"}, "how_heard", "valid choice"),
        ({"full_name": ""}, "full_name", "required"),
    ],
)
def test_bad_input_gets_a_clear_error_on_its_field(screened, overrides, field, message):
    response = screened.post(SIGNUP_URL, valid_signup(**overrides))

    assert response.status_code == 200
    errors = " ".join(response.context["form"].errors[field])
    assert message.lower() in errors.lower()
    assert not User.objects.exists()


def test_duplicate_email_creates_nothing_and_tells_only_the_owner(
    screened, user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = screened.post(SIGNUP_URL, valid_signup(email=user.email.upper()))

    # The page looks like any sign-up, so it does not reveal who has an account;
    # the owner of the address gets an email about the attempt.
    assert response.status_code == 302
    assert User.objects.count() == 1
    assert [m.to for m in mail.outbox] == [[user.email]]


def test_birth_date_in_the_future_is_an_error(client, db):
    tomorrow = timezone.localdate() + timedelta(days=1)

    response = client.post(AGE_URL, {"date_of_birth": tomorrow.isoformat()})

    assert response.status_code == 200
    assert "future" in response.context["form"].errors["date_of_birth"][0]


@pytest.mark.parametrize("value", ["", "31/02/2001", "yesterday", "2001-02-30"])
def test_unreadable_birth_dates_are_errors(client, db, value):
    response = client.post(AGE_URL, {"date_of_birth": value})

    assert response.status_code == 200
    assert response.context["form"].errors["date_of_birth"]


def test_exactly_thirteen_today_passes(client, db):
    response = client.post(AGE_URL, {"date_of_birth": years_ago(13).isoformat()})

    assert response.status_code == 302
    assert response.url == SIGNUP_URL


def test_under_thirteen_is_refused_neutrally_and_held_for_a_day(client, db):
    one_day_short = years_ago(13) + timedelta(days=1)

    response = client.post(AGE_URL, {"date_of_birth": one_day_short.isoformat()})

    assert response.status_code == 200
    main = main_text(response)
    assert "unable to create an account" in main
    assert "13" not in main and " age" not in main.lower() and "old" not in main.lower()
    cookie = response.cookies[age_screen.HOLD_COOKIE]
    assert int(cookie["max-age"]) == 24 * 60 * 60
    assert age_screen.PASS_SESSION_KEY not in client.session


def test_the_hold_cookie_blocks_another_try(client, db):
    client.post(AGE_URL, {"date_of_birth": years_ago(8).isoformat()})

    again = client.post(AGE_URL, {"date_of_birth": "1980-01-01"})
    signup = client.get(SIGNUP_URL)

    assert "unable to create an account" in again.content.decode()
    assert age_screen.PASS_SESSION_KEY not in client.session
    assert "unable to create an account" in signup.content.decode()


def test_the_hold_ends_after_24_hours(client, db, time_machine):
    time_machine.move_to(timezone.now())
    client.post(AGE_URL, {"date_of_birth": years_ago(8).isoformat()})
    time_machine.shift(timedelta(hours=24, seconds=1))

    response = client.post(AGE_URL, {"date_of_birth": "1980-01-01"})

    assert response.status_code == 302


def test_a_forged_hold_cookie_does_not_count(client, db):
    client.cookies[age_screen.HOLD_COOKIE] = "1"

    response = client.post(AGE_URL, {"date_of_birth": "1980-01-01"})

    assert response.status_code == 302


def test_a_child_who_reaches_the_signup_form_directly_leaves_no_row(client, db, caplog):
    client.post(AGE_URL, {"date_of_birth": years_ago(9).isoformat()})
    caplog.set_level(logging.DEBUG)

    response = client.post(SIGNUP_URL, valid_signup(email="kid@example.com"))

    assert "unable to create an account" in response.content.decode()
    assert not User.objects.exists()
    assert not EmailAddress.objects.exists()
    assert "kid@example.com" not in caplog.text


def test_under_thirteen_writes_no_log_line_with_what_was_entered(client, db, caplog):
    caplog.set_level(logging.DEBUG)
    birth_date = years_ago(10).isoformat()

    client.post(AGE_URL, {"date_of_birth": birth_date})

    assert birth_date not in caplog.text
    assert not User.objects.exists()


def test_the_screen_pass_expires(client, db, time_machine):
    time_machine.move_to(timezone.now())
    client.post(AGE_URL, {"date_of_birth": "1990-04-27"})
    time_machine.shift(age_screen.PASS_VALID_FOR + timedelta(minutes=1))

    response = client.get(SIGNUP_URL)

    assert response.status_code == 302
    assert response.url == AGE_URL
