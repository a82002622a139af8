import re
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from privacy import mailer, services
from privacy.email_categories import SUBSCRIPTION_CATEGORIES, Category
from privacy.models import OutgoingEmail
from privacy.tasks import deliver_email
from privacy.tokens import read_preferences_token, read_unsubscribe_token

Status = OutgoingEmail.Status
Source = services.Source

SITE_URL = "https://confer.example.test"
POSTAL_ADDRESS = "Confer Test Ltd, 1 Example Way, Springfield 12345"


class FailingBackend:
    """An email backend whose server is down."""

    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise OSError("smtp down")


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = SITE_URL
    settings.COMPANY_POSTAL_ADDRESS = POSTAL_ADDRESS


@pytest.fixture
def failing_backend(settings):
    settings.EMAIL_BACKEND = f"{__name__}.FailingBackend"


def send(commit, **overrides):
    """Queue one message and run what happens when the transaction commits."""
    fields = {
        "to": "someone@example.com",
        "subject": "Your meeting starts soon",
        "text": "The weekly sync starts in 15 minutes.",
        "category": Category.MEETING_REMINDERS,
    } | overrides
    with commit(execute=True):
        outgoing = mailer.send_email(**fields)
    outgoing.refresh_from_db()
    return outgoing


def unsubscribe_link_of(message):
    match = re.fullmatch(r"<(\S+)>", message.extra_headers["List-Unsubscribe"])
    assert match, message.extra_headers["List-Unsubscribe"]
    return match.group(1)


def html_of(message):
    return next(body for body, mime in message.alternatives if mime == "text/html")


def test_subscription_mail_carries_one_click_headers(db, django_capture_on_commit_callbacks):
    send(django_capture_on_commit_callbacks, to="someone@example.com")

    [message] = mail.outbox
    url = unsubscribe_link_of(message)
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    prefix = SITE_URL + "/privacy/unsubscribe/"
    assert url.startswith(prefix)
    assert url.endswith("/")
    token = url.removeprefix(prefix).removesuffix("/")
    assert url == SITE_URL + reverse("privacy:unsubscribe", args=[token])
    assert read_unsubscribe_token(token) == ("someone@example.com", Category.MEETING_REMINDERS)


def test_one_click_headers_survive_serialisation(db, django_capture_on_commit_callbacks):
    send(django_capture_on_commit_callbacks)

    [message] = mail.outbox
    serialised = message.message()

    unfolded = re.sub(r"\r?\n[ \t]+", " ", serialised["List-Unsubscribe"]).strip()
    assert unfolded == f"<{unsubscribe_link_of(message)}>"
    assert serialised["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_subscription_text_body_ends_with_footer(db, django_capture_on_commit_callbacks):
    send(django_capture_on_commit_callbacks, text="The weekly sync starts in 15 minutes.\n\n")

    [message] = mail.outbox
    url = unsubscribe_link_of(message)
    body, footer = message.body.split("\n\n--\n")
    assert body == "The weekly sync starts in 15 minutes."
    assert "Meeting reminders" in footer
    assert url in footer
    assert POSTAL_ADDRESS in footer


def test_subscription_html_body_gets_footer_before_body_end(db, django_capture_on_commit_callbacks):
    html = "<html><body><p>The weekly sync starts in 15 minutes.</p></BODY></html>"

    send(django_capture_on_commit_callbacks, html=html)

    [message] = mail.outbox
    url = unsubscribe_link_of(message)
    rendered = html_of(message)
    assert rendered.startswith("<html><body><p>The weekly sync starts in 15 minutes.</p>")
    assert rendered.endswith("</BODY></html>")
    footer = rendered[rendered.index("</p>") + len("</p>") : rendered.index("</BODY>")]
    assert f'<a href="{url}">Unsubscribe</a>' in footer
    assert POSTAL_ADDRESS in footer
    assert url in message.body


def test_html_without_body_tag_gets_footer_appended(db, django_capture_on_commit_callbacks):
    send(django_capture_on_commit_callbacks, html="<p>Starts soon.</p>")

    [message] = mail.outbox
    rendered = html_of(message)
    assert rendered.startswith("<p>Starts soon.</p><hr>")
    assert unsubscribe_link_of(message) in rendered
    assert POSTAL_ADDRESS in rendered


def test_text_only_subscription_mail_has_no_html_part(db, django_capture_on_commit_callbacks):
    send(django_capture_on_commit_callbacks)

    [message] = mail.outbox
    assert message.alternatives == []


def test_transactional_mail_has_no_unsubscribe_headers_or_footer(
    db, django_capture_on_commit_callbacks
):
    html = "<html><body><p>Reset your password.</p></body></html>"

    send(
        django_capture_on_commit_callbacks,
        category=Category.TRANSACTIONAL,
        subject="Reset your password",
        text="Follow this link to reset your password.",
        html=html,
    )

    [message] = mail.outbox
    assert "List-Unsubscribe" not in message.extra_headers
    assert "List-Unsubscribe-Post" not in message.extra_headers
    assert message.body == "Follow this link to reset your password."
    assert html_of(message) == html
    assert POSTAL_ADDRESS not in message.body


def test_transactional_mail_is_sent_even_when_every_subscription_is_stopped(
    db, django_capture_on_commit_callbacks
):
    services.set_preferences(
        email="someone@example.com",
        choices={category: False for category in SUBSCRIPTION_CATEGORIES},
        source=Source.PREFERENCES,
    )

    outgoing = send(django_capture_on_commit_callbacks, category=Category.TRANSACTIONAL)

    assert outgoing.status == Status.SENT
    assert len(mail.outbox) == 1


def test_message_leaves_from_the_configured_sender(db, django_capture_on_commit_callbacks):
    send(django_capture_on_commit_callbacks, to="someone@example.com", subject="Hello")

    [message] = mail.outbox
    assert message.to == ["someone@example.com"]
    assert message.subject == "Hello"
    assert message.from_email == "Confer <no-reply@example.com>"


def test_address_suppressed_before_sending_gets_nothing(db, django_capture_on_commit_callbacks):
    services.unsubscribe(
        email="someone@example.com",
        category=Category.MEETING_REMINDERS,
        source=Source.UNSUBSCRIBE_LINK,
    )

    outgoing = send(
        django_capture_on_commit_callbacks, html="<p>Starts soon.</p>", text="Starts soon."
    )

    assert mail.outbox == []
    assert outgoing.status == Status.SUPPRESSED
    assert outgoing.text_body == ""
    assert outgoing.html_body == ""


def test_send_email_returns_suppressed_row_without_queuing(db, django_capture_on_commit_callbacks):
    services.unsubscribe(
        email="someone@example.com", category=Category.SURVEYS, source=Source.STAFF
    )

    with django_capture_on_commit_callbacks() as callbacks:
        outgoing = mailer.send_email(
            to="someone@example.com", subject="Quick question", text="?", category="surveys"
        )

    assert outgoing.status == Status.SUPPRESSED
    assert callbacks == []


def test_suppression_is_per_category(db, django_capture_on_commit_callbacks):
    services.unsubscribe(
        email="someone@example.com", category=Category.NEWSLETTER, source=Source.STAFF
    )

    outgoing = send(django_capture_on_commit_callbacks, category=Category.MEETING_REMINDERS)

    assert outgoing.status == Status.SENT
    assert len(mail.outbox) == 1


def test_message_queued_then_unsubscribed_before_commit_is_not_sent(
    db, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        outgoing = mailer.send_email(
            to="someone@example.com",
            subject="Your meeting starts soon",
            text="Starts soon.",
            html="<p>Starts soon.</p>",
            category=Category.MEETING_REMINDERS,
        )
        services.unsubscribe(
            email="someone@example.com",
            category=Category.MEETING_REMINDERS,
            source=Source.ONE_CLICK,
        )

    outgoing.refresh_from_db()
    assert mail.outbox == []
    assert outgoing.status == Status.SUPPRESSED
    assert outgoing.text_body == ""
    assert outgoing.html_body == ""


def test_queued_message_is_rechecked_at_delivery(db):
    outgoing = mailer.send_email(
        to="someone@example.com", subject="Soon", text="Soon.", category="meeting_reminders"
    )
    services.unsubscribe(
        email="someone@example.com", category=Category.MEETING_REMINDERS, source=Source.STAFF
    )

    result = mailer.deliver(outgoing.pk)

    outgoing.refresh_from_db()
    assert result == Status.SUPPRESSED
    assert outgoing.status == Status.SUPPRESSED
    assert mail.outbox == []


@pytest.mark.parametrize("category", [Category.NEWSLETTER, Category.PROMOTIONS])
def test_marketing_mail_needs_opt_in(db, django_capture_on_commit_callbacks, category):
    outgoing = send(django_capture_on_commit_callbacks, category=category)

    assert mail.outbox == []
    assert outgoing.status == Status.SUPPRESSED


@pytest.mark.parametrize("category", [Category.NEWSLETTER, Category.PROMOTIONS])
def test_unticked_signup_box_does_not_opt_in(db, django_capture_on_commit_callbacks, category):
    services.record_signup_choice(email="someone@example.com", marketing_opt_in=False)

    outgoing = send(django_capture_on_commit_callbacks, category=category)

    assert mail.outbox == []
    assert outgoing.status == Status.SUPPRESSED


@pytest.mark.parametrize("category", [Category.NEWSLETTER, Category.PROMOTIONS])
def test_marketing_mail_is_sent_after_signup_opt_in(
    db, django_capture_on_commit_callbacks, category
):
    services.record_signup_choice(email="someone@example.com", marketing_opt_in=True)

    outgoing = send(django_capture_on_commit_callbacks, category=category)

    assert outgoing.status == Status.SENT
    [message] = mail.outbox
    assert message.to == ["someone@example.com"]
    assert "List-Unsubscribe" in message.extra_headers


def test_signup_opt_in_does_not_subscribe_to_surveys(db, django_capture_on_commit_callbacks):
    services.record_signup_choice(email="someone@example.com", marketing_opt_in=True)

    outgoing = send(django_capture_on_commit_callbacks, category=Category.SURVEYS)

    assert outgoing.status == Status.SUPPRESSED
    assert mail.outbox == []


def test_sent_message_is_logged_and_its_body_dropped(db, django_capture_on_commit_callbacks):
    outgoing = send(
        django_capture_on_commit_callbacks, text="Starts soon.", html="<p>Starts soon.</p>"
    )

    assert outgoing.status == Status.SENT
    assert outgoing.text_body == ""
    assert outgoing.html_body == ""
    assert outgoing.sent_at is not None
    assert outgoing.attempts == 1
    assert outgoing.last_error == ""
    assert outgoing.subject == "Your meeting starts soon"
    assert outgoing.to == "someone@example.com"


def test_long_subject_is_truncated_to_fit(db, django_capture_on_commit_callbacks):
    outgoing = send(django_capture_on_commit_callbacks, subject="x" * 300)

    assert outgoing.subject == "x" * 255
    assert mail.outbox[0].subject == "x" * 255


def test_delivering_twice_sends_once(db):
    outgoing = mailer.send_email(
        to="someone@example.com", subject="Soon", text="Soon.", category="meeting_reminders"
    )

    first = mailer.deliver(outgoing.pk)
    second = mailer.deliver(outgoing.pk)

    assert first == Status.SENT
    assert second is None
    assert len(mail.outbox) == 1
    outgoing.refresh_from_db()
    assert outgoing.attempts == 1


def test_delivering_after_the_commit_hook_sends_nothing_more(
    db, django_capture_on_commit_callbacks
):
    outgoing = send(django_capture_on_commit_callbacks)

    result = mailer.deliver(outgoing.pk)

    assert result is None
    assert len(mail.outbox) == 1


def test_fresh_claim_by_another_worker_is_left_alone(db):
    outgoing = mailer.send_email(
        to="someone@example.com", subject="Soon", text="Soon.", category="meeting_reminders"
    )
    OutgoingEmail.objects.filter(pk=outgoing.pk).update(
        status=Status.SENDING, lease_until=timezone.now() + timedelta(minutes=1), attempts=1
    )

    result = mailer.deliver(outgoing.pk)

    assert result is None
    assert mail.outbox == []


def test_expired_claim_of_a_dead_worker_is_taken_over(db):
    outgoing = mailer.send_email(
        to="someone@example.com", subject="Soon", text="Soon.", category="meeting_reminders"
    )
    OutgoingEmail.objects.filter(pk=outgoing.pk).update(
        status=Status.SENDING, lease_until=timezone.now() - timedelta(seconds=1), attempts=1
    )

    result = mailer.deliver(outgoing.pk)

    outgoing.refresh_from_db()
    assert result == Status.SENT
    assert outgoing.attempts == 2
    assert len(mail.outbox) == 1


def test_failed_send_requeues_with_error_and_backoff(db, failing_backend):
    outgoing = mailer.send_email(
        to="someone@example.com",
        subject="Soon",
        text="Soon.",
        html="<p>Soon.</p>",
        category="meeting_reminders",
    )

    result = mailer.deliver(outgoing.pk)

    outgoing.refresh_from_db()
    assert result == Status.QUEUED
    assert outgoing.status == Status.QUEUED
    assert outgoing.last_error == "smtp down"
    assert outgoing.attempts == 1
    assert outgoing.next_attempt_at > timezone.now() + timedelta(seconds=25)
    assert (outgoing.claim_token, outgoing.lease_until) == (None, None)
    assert outgoing.text_body == "Soon."
    assert outgoing.html_body == "<p>Soon.</p>"
    assert mail.outbox == []


def test_failed_send_can_be_retried(db, settings, failing_backend):
    outgoing = mailer.send_email(
        to="someone@example.com", subject="Soon", text="Soon.", category="meeting_reminders"
    )
    mailer.deliver(outgoing.pk)
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

    result = mailer.deliver(outgoing.pk)

    outgoing.refresh_from_db()
    assert result == Status.SENT
    assert outgoing.status == Status.SENT
    assert outgoing.attempts == 2
    assert len(mail.outbox) == 1


def test_failing_backend_does_not_raise_out_of_the_commit_hook(
    db, django_capture_on_commit_callbacks, failing_backend
):
    with django_capture_on_commit_callbacks(execute=True):
        outgoing = mailer.send_email(
            to="someone@example.com", subject="Soon", text="Soon.", category="meeting_reminders"
        )

    outgoing.refresh_from_db()
    assert outgoing.status == Status.QUEUED
    assert outgoing.last_error == "smtp down"
    assert mail.outbox == []


def test_give_up_marks_failed_and_drops_body(db, failing_backend):
    outgoing = mailer.send_email(
        to="someone@example.com",
        subject="Soon",
        text="Soon.",
        html="<p>Soon.</p>",
        category="meeting_reminders",
    )
    mailer.deliver(outgoing.pk)

    mailer.give_up(outgoing.pk, "smtp down after 5 retries")

    outgoing.refresh_from_db()
    assert outgoing.status == Status.FAILED
    assert outgoing.last_error == "smtp down after 5 retries"
    assert outgoing.text_body == ""
    assert outgoing.html_body == ""
    assert mailer.deliver(outgoing.pk) is None


def test_task_marks_failed_after_the_last_attempt(db, failing_backend):
    outgoing = mailer.send_email(
        to="someone@example.com", subject="Soon", text="Soon.", category="meeting_reminders"
    )
    OutgoingEmail.objects.filter(pk=outgoing.pk).update(attempts=mailer.MAX_ATTEMPTS - 1)

    result = deliver_email.apply(args=(outgoing.pk,)).get()

    outgoing.refresh_from_db()
    assert result == Status.FAILED
    assert outgoing.status == Status.FAILED
    assert outgoing.attempts == mailer.MAX_ATTEMPTS
    assert outgoing.text_body == ""


@pytest.mark.parametrize(
    ("unsubscribed", "sent_to"),
    [
        ("Someone@Example.com", "someone@example.com"),
        ("someone@example.com", "SOMEONE@example.COM"),
    ],
)
def test_suppression_ignores_address_case(
    db, django_capture_on_commit_callbacks, unsubscribed, sent_to
):
    services.unsubscribe(
        email=unsubscribed, category=Category.MEETING_REMINDERS, source=Source.UNSUBSCRIBE_LINK
    )

    outgoing = send(django_capture_on_commit_callbacks, to=sent_to)

    assert mail.outbox == []
    assert outgoing.status == Status.SUPPRESSED


def test_unsubscribe_link_names_the_address_in_lower_case(db, django_capture_on_commit_callbacks):
    send(django_capture_on_commit_callbacks, to="Someone@Example.com")

    [message] = mail.outbox
    token = unsubscribe_link_of(message).rstrip("/").rsplit("/", 1)[1]
    assert message.to == ["Someone@Example.com"]
    assert read_unsubscribe_token(token) == ("someone@example.com", Category.MEETING_REMINDERS)


def test_unknown_category_is_refused(db):
    with pytest.raises(ValueError):
        mailer.send_email(to="someone@example.com", subject="?", text="?", category="spam")

    assert not OutgoingEmail.objects.exists()


def manage_link_in(body):
    match = re.search(rf"({re.escape(SITE_URL)}/privacy/email-preferences/[^/\s\"]+/)", body)
    assert match, body
    return match.group(1)


def test_footers_link_to_signed_preferences_for_the_recipient(
    db, django_capture_on_commit_callbacks
):
    send(django_capture_on_commit_callbacks, to="Someone@Example.com", html="<p>Soon.</p>")

    [message] = mail.outbox
    text_link = manage_link_in(message.body)
    assert "Manage your email preferences: " + text_link in message.body
    html = html_of(message)
    assert f'<a href="{text_link}">manage your email preferences</a>' in html
    token = text_link.removeprefix(SITE_URL + "/privacy/email-preferences/").removesuffix("/")
    assert read_preferences_token(token) == "someone@example.com"


def test_footer_has_no_inline_style(db, django_capture_on_commit_callbacks):
    send(django_capture_on_commit_callbacks, html="<p>Soon.</p>")

    [message] = mail.outbox
    assert "style=" not in html_of(message)


def test_transactional_mail_has_no_preferences_link(db, django_capture_on_commit_callbacks):
    send(django_capture_on_commit_callbacks, category=Category.TRANSACTIONAL, html="<p>Hi</p>")

    [message] = mail.outbox
    assert "email-preferences" not in message.body
    assert "email-preferences" not in html_of(message)


def test_preview_footer_is_the_one_recipients_get(db, django_capture_on_commit_callbacks):
    footer = mailer.subscription_footer(email="someone@example.com", category="newsletter")
    services.set_subscription(
        email="someone@example.com", category="newsletter", subscribed=True, source="staff"
    )

    send(django_capture_on_commit_callbacks, category=Category.NEWSLETTER, html="<p>News</p>")

    [message] = mail.outbox
    assert message.body.endswith(footer.text)
    assert footer.html in html_of(message)
