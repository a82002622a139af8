"""The neutral age screen that stands before sign-up (COPPA).

The birth date is used for one comparison and then dropped: the session keeps only the
time the screen was passed. Someone under 13 is refused with a neutral message, nothing
they typed is kept, and a cookie holds that browser back from another try for a day.
"""

from datetime import date, datetime, timedelta

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

MINIMUM_AGE = 13
HOLD_COOKIE = "signup_hold"
HOLD_SECONDS = 24 * 60 * 60
PASS_SESSION_KEY = "age_screen_passed_at"
PASS_VALID_FOR = timedelta(hours=1)
_HOLD_SALT = "accounts.age_screen.hold"


def age_on(birth_date: date, today: date) -> int:
    had_birthday = (today.month, today.day) >= (birth_date.month, birth_date.day)
    return today.year - birth_date.year - (0 if had_birthday else 1)


def is_old_enough(birth_date: date, *, today: date | None = None) -> bool:
    return age_on(birth_date, today or timezone.localdate()) >= MINIMUM_AGE


def is_held(request: HttpRequest) -> bool:
    """Whether this browser was refused within the last 24 hours."""
    value = request.get_signed_cookie(
        HOLD_COOKIE, default=None, salt=_HOLD_SALT, max_age=HOLD_SECONDS
    )
    return value is not None


def hold(response: HttpResponse) -> None:
    response.set_signed_cookie(
        HOLD_COOKIE, "1", salt=_HOLD_SALT, max_age=HOLD_SECONDS, httponly=True, samesite="Lax"
    )


def record_pass(request: HttpRequest) -> None:
    request.session[PASS_SESSION_KEY] = timezone.now().isoformat()


def passed_at(request: HttpRequest) -> datetime | None:
    """When this session passed the screen, if it did so recently enough to sign up."""
    raw = request.session.get(PASS_SESSION_KEY)
    if not raw:
        return None
    try:
        when = datetime.fromisoformat(raw)
    except (TypeError, ValueError):
        return None
    if timezone.now() - when > PASS_VALID_FOR:
        return None
    return when


def consume_pass(request: HttpRequest) -> datetime | None:
    when = passed_at(request)
    request.session.pop(PASS_SESSION_KEY, None)
    return when
