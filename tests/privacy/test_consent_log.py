"""The consent log: every change of an email choice, once, with when and how."""

from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from privacy import mailer, services
from privacy.email_categories import Category
from privacy.models import EmailConsentEvent, EmailPreference, OutgoingEmail
from privacy.tasks import deliver_email, record_unsubscribe
from privacy.tokens import make_unsubscribe_token

Source = services.Source
ONE_CLICK_BODY = "List-Unsubscribe=One-Click"
FORM = "application/x-www-form-urlencoded"


def one_click(email="someone@example.com", category=Category.MEETING_REMINDERS):
    """A mail provider's RFC 8058 POST: no cookies, no CSRF token."""
    url = reverse(
        "privacy:unsubscribe", args=[make_unsubscribe_token(email=email, category=category)]
    )
    return Client(enforce_csrf_checks=True).post(url, data=ONE_CLICK_BODY, content_type=FORM)


def events(**filters):
    return list(
        EmailConsentEvent.objects.filter(**filters)
        .order_by("at", "pk")
        .values_list("email", "category", "subscribed", "source")
    )


def queued(to="someone@example.com", category=Category.MEETING_REMINDERS):
    """A message already in the outbox, waiting for its worker."""
    return OutgoingEmail.objects.create(
        to=to, category=category, subject="Soon", text_body="Starts soon.", html_body="<p>Hi</p>"
    )


def test_a_new_choice_is_logged(db):
    changed = services.set_subscription(
        email="Someone@Example.com", category="surveys", subscribed=True, source=Source.STAFF
    )

    assert changed is True
    assert events() == [("someone@example.com", "surveys", True, "staff")]
    assert EmailConsentEvent.objects.get().at <= timezone.now()


def test_repeating_the_same_choice_logs_nothing_more(db):
    for _ in range(2):
        services.set_subscription(
            email="someone@example.com", category="surveys", subscribed=True, source="staff"
        )

    assert len(events()) == 1


def test_changing_back_and_forth_logs_each_change(db):
    for subscribed in (True, False, True):
        services.set_subscription(
            email="someone@example.com",
            category="newsletter",
            subscribed=subscribed,
            source=Source.PREFERENCES,
        )

    assert [row[2] for row in events()] == [True, False, True]


def test_a_non_subscription_category_is_refused_and_not_logged(db):
    with pytest.raises(ValueError):
        services.set_subscription(
            email="someone@example.com", category="transactional", subscribed=False, source="staff"
        )

    assert events() == []


def test_signup_opt_in_is_logged_with_its_source(db):
    services.record_signup_choice(email="someone@example.com", marketing_opt_in=True)

    assert sorted(events()) == [
        ("someone@example.com", "newsletter", True, "signup"),
        ("someone@example.com", "promotions", True, "signup"),
    ]


def test_signup_without_opt_in_logs_nothing(db):
    services.record_signup_choice(email="someone@example.com", marketing_opt_in=False)

    assert events() == []


def test_preferences_page_logs_what_changed(signed_in, user):
    signed_in.post(reverse("privacy:email_preferences"), {"newsletter": "on"})
    first = len(events())
    signed_in.post(reverse("privacy:email_preferences"), {"newsletter": "on", "surveys": "on"})

    assert first == 5  # the first save makes every choice explicit
    assert events()[-1] == (user.email, "surveys", True, "preferences")
    assert len(events()) == 6


def test_one_click_unsubscribe_is_logged_once_by_the_task(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = one_click()

    assert response.status_code == 200
    assert len(callbacks) == 1
    assert events() == [("someone@example.com", "meeting_reminders", False, "one_click")]


def test_the_suppression_is_written_before_the_task_runs(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        one_click()

    # The answer came back; the mailer already sees the stop, the log is still to come.
    assert EmailPreference.objects.get().subscribed is False
    assert events() == []
    callbacks[0]()
    assert len(events()) == 1


def test_clicking_twice_logs_one_unsubscribe(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        one_click()
        one_click()

    assert len(events()) == 1


def test_a_duplicate_task_logs_nothing_twice(db):
    at = timezone.now()
    services.unsubscribe(email="someone@example.com", category="surveys", source="one_click")

    for _ in range(2):
        record_unsubscribe.delay("someone@example.com", "surveys", "one_click", at.isoformat())

    assert events() == [("someone@example.com", "surveys", False, "one_click")]
    assert EmailConsentEvent.objects.get().at == at


def test_each_separate_unsubscribe_is_logged(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        one_click(category=Category.MEETING_REMINDERS)
        services.set_subscription(
            email="someone@example.com",
            category="meeting_reminders",
            subscribed=True,
            source=Source.PREFERENCES,
        )
        one_click(category=Category.MEETING_REMINDERS)

    assert [row[2:] for row in events()] == [
        (False, "one_click"),
        (True, "preferences"),
        (False, "one_click"),
    ]


def test_the_task_keeps_nothing_for_an_address_erased_meanwhile(
    db, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        one_click()
    services.erase_email(email="someone@example.com")

    callbacks[0]()

    assert events() == []


def test_a_message_queued_before_the_click_is_not_sent(db, django_capture_on_commit_callbacks):
    waiting = queued()
    other_category = queued(category=Category.SURVEYS)
    other_person = queued(to="other@example.com")

    with django_capture_on_commit_callbacks(execute=True):
        one_click()

    waiting.refresh_from_db()
    assert waiting.status == OutgoingEmail.Status.SUPPRESSED
    assert (waiting.text_body, waiting.html_body) == ("", "")
    assert deliver_email.delay(waiting.pk).get() is None  # its worker finds nothing to send
    assert mail.outbox == []
    for untouched in (other_category, other_person):
        untouched.refresh_from_db()
        assert untouched.status == OutgoingEmail.Status.QUEUED


def test_the_send_time_check_stops_it_even_before_the_task_ran(
    db, django_capture_on_commit_callbacks
):
    waiting = queued()
    with django_capture_on_commit_callbacks(execute=False):
        one_click()

    result = deliver_email.delay(waiting.pk).get()

    assert result == OutgoingEmail.Status.SUPPRESSED
    waiting.refresh_from_db()
    assert waiting.status == OutgoingEmail.Status.SUPPRESSED
    assert mail.outbox == []


def test_a_resubscribe_before_the_task_runs_keeps_queued_mail(
    db, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        one_click()
    services.set_subscription(
        email="someone@example.com",
        category="meeting_reminders",
        subscribed=True,
        source=Source.PREFERENCES,
    )
    waiting = queued()

    callbacks[0]()

    waiting.refresh_from_db()
    assert waiting.status == OutgoingEmail.Status.QUEUED
    assert [row[2] for row in events()] == [False, True]  # in the order they happened


def test_erasing_an_address_drops_its_consent_history(db):
    services.record_signup_choice(email="someone@example.com", marketing_opt_in=True)
    services.set_subscription(
        email="other@example.com", category="surveys", subscribed=True, source="staff"
    )

    services.erase_email(email="Someone@example.com")

    assert events() == [("other@example.com", "surveys", True, "staff")]


def test_a_later_message_is_suppressed_without_another_email(
    db, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        one_click()
        later = mailer.send_email(
            to="someone@example.com", subject="Soon", text="Soon.", category="meeting_reminders"
        )

    later.refresh_from_db()
    assert later.status == OutgoingEmail.Status.SUPPRESSED
    assert mail.outbox == []


def test_log_times_follow_the_clicks(db, django_capture_on_commit_callbacks):
    before = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        one_click()

    at = EmailConsentEvent.objects.get().at
    assert before <= at <= timezone.now() + timedelta(seconds=1)
