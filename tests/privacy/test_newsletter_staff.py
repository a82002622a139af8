"""Staff write the newsletter in Markdown, preview it, and send it in throttled batches."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from accounts.roles import MARKETING, PRIVACY_ADMIN
from privacy import audit, services
from privacy.email_categories import Category
from privacy.models import Newsletter, NewsletterDelivery, OutgoingEmail
from privacy.newsletter import services as newsletter_services
from privacy.newsletter import tasks
from privacy.tasks import deliver_email
from tests.factories import UserFactory

Status = Newsletter.Status
Delivery = NewsletterDelivery.Status
LIST = reverse("newsletter:staff_list")
NEW = reverse("newsletter:staff_new")
BODY = "# Spring update\n\nWe added **breakout rooms**.\n\n<script>alert(1)</script>\n"


@pytest.fixture
def marketer(db):
    return UserFactory(email="marketer@example.com", roles=[MARKETING])


@pytest.fixture
def staff(client, marketer):
    client.force_login(marketer)
    return client


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def draft(marketer):
    return newsletter_services.create_draft(
        subject="Spring news", body_markdown=BODY, created_by=marketer
    )


def subscribe(*emails):
    for email in emails:
        services.set_subscription(
            email=email, category="newsletter", subscribed=True, source="double_opt_in"
        )


def url(name, newsletter):
    return reverse(f"newsletter:{name}", args=[newsletter.pk])


def newsletter_mail():
    return [m for m in mail.outbox if m.subject == "Spring news"]


# Who may open the console ------------------------------------------------------------

PAGES = ["staff_list", "staff_new", "staff_detail", "staff_edit", "staff_log"]


def page_url(name, newsletter):
    return (
        reverse(f"newsletter:{name}")
        if name in ("staff_list", "staff_new")
        else url(name, newsletter)
    )


@pytest.mark.parametrize("name", PAGES)
def test_anonymous_visitors_go_to_login(client, draft, name):
    response = client.get(page_url(name, draft))

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


@pytest.mark.parametrize("name", PAGES)
def test_other_roles_are_refused(client, draft, name):
    client.force_login(UserFactory(roles=[PRIVACY_ADMIN]))

    assert client.get(page_url(name, draft)).status_code == 403


@pytest.mark.parametrize("name", ["staff_send", "staff_send_test"])
def test_only_marketing_may_send(client, draft, commit, name):
    subscribe("reader@example.com")
    client.force_login(UserFactory())

    with commit():
        response = client.post(url(name, draft))

    assert response.status_code == 403
    draft.refresh_from_db()
    assert draft.status == Status.DRAFT
    assert mail.outbox == []


def test_anonymous_send_goes_to_login_and_sends_nothing(client, draft, commit):
    subscribe("reader@example.com")

    with commit():
        response = client.post(url("staff_send", draft))

    assert response.status_code == 302
    assert mail.outbox == []


# Drafts -----------------------------------------------------------------------------


def test_list_shows_issues_and_subscriber_count(staff, draft):
    subscribe("a@example.com", "b@example.com")

    response = staff.get(LIST)

    page = response.content.decode()
    assert response.status_code == 200
    assert "Spring news" in page
    assert "2 confirmed subscribers" in page
    assert url("staff_edit", draft) in page


def test_compose_a_draft(staff, marketer):
    response = staff.post(NEW, {"subject": "Autumn", "body_markdown": "Hello *all*"})

    newsletter = Newsletter.objects.get()
    assert response.status_code == 302
    assert response.url == url("staff_detail", newsletter)
    assert (newsletter.subject, newsletter.body_markdown) == ("Autumn", "Hello *all*")
    assert newsletter.status == Status.DRAFT
    assert newsletter.created_by == marketer


def test_a_draft_needs_subject_and_body(staff):
    response = staff.post(NEW, {"subject": "", "body_markdown": ""})

    assert response.status_code == 400
    assert response.content.decode().count('class="errors"') == 2
    assert not Newsletter.objects.exists()


def test_edit_a_draft(staff, draft):
    response = staff.post(url("staff_edit", draft), {"subject": "New", "body_markdown": "Body"})

    assert response.status_code == 302
    draft.refresh_from_db()
    assert (draft.subject, draft.body_markdown) == ("New", "Body")


@pytest.mark.parametrize("status", [Status.SENDING, Status.SENT])
def test_a_sent_issue_cannot_be_edited(staff, draft, status):
    Newsletter.objects.filter(pk=draft.pk).update(status=status)

    shown = staff.get(url("staff_edit", draft))
    posted = staff.post(url("staff_edit", draft), {"subject": "Changed", "body_markdown": "x"})

    assert shown.status_code == posted.status_code == 409
    assert "can no longer be edited or sent" in posted.content.decode()
    draft.refresh_from_db()
    assert draft.subject == "Spring news"


def test_a_draft_started_meanwhile_is_not_changed(draft):
    Newsletter.objects.filter(pk=draft.pk).update(status=Status.SENDING)

    with pytest.raises(newsletter_services.NotADraft):
        newsletter_services.update_draft(newsletter=draft, subject="Late", body_markdown="x")

    draft.refresh_from_db()
    assert draft.subject == "Spring news"


def test_unknown_issue_is_404(staff):
    assert staff.get(reverse("newsletter:staff_detail", args=[999])).status_code == 404


# Preview and test send -----------------------------------------------------------------


def test_preview_renders_sanitised_markdown_and_the_footer(staff, draft, settings):
    response = staff.get(url("staff_detail", draft))

    page = response.content.decode()
    assert response.status_code == 200
    assert "<strong>breakout rooms</strong>" in page
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page  # shown as text, never run
    assert settings.COMPANY_POSTAL_ADDRESS in page
    assert ">Unsubscribe</a> with one click" in page
    assert "Manage your email preferences: " in page  # the plain-text footer


def test_send_a_test_to_myself(staff, draft, commit, marketer):
    subscribe("reader@example.com")

    with commit():
        response = staff.post(url("staff_send_test", draft), {"to": "reader@example.com"})

    assert response.status_code == 302
    [message] = mail.outbox
    assert message.to == [marketer.email]
    assert message.subject == "[Test] Spring news"
    assert "We added **breakout rooms**." in message.body
    assert "Unsubscribe with one click" in message.body
    html = next(body for body, mime in message.alternatives if mime == "text/html")
    assert "<strong>breakout rooms</strong>" in html
    assert "<script>" not in html
    draft.refresh_from_db()
    assert draft.status == Status.DRAFT
    assert not NewsletterDelivery.objects.exists()


def test_test_send_needs_post(staff, draft):
    assert staff.get(url("staff_send_test", draft)).status_code == 405


# Sending ------------------------------------------------------------------------------


def test_send_goes_to_confirmed_subscribers_only(staff, draft, commit):
    subscribe("a@example.com", "b@example.com")
    services.set_subscription(
        email="left@example.com", category="newsletter", subscribed=False, source="one_click"
    )

    with commit():
        response = staff.post(url("staff_send", draft))

    assert response.status_code == 302
    assert response.url == url("staff_log", draft)
    assert sorted(m.to[0] for m in newsletter_mail()) == ["a@example.com", "b@example.com"]
    message = newsletter_mail()[0]
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    html = next(body for body, mime in message.alternatives if mime == "text/html")
    assert "<strong>breakout rooms</strong>" in html
    assert "<script>" not in html
    draft.refresh_from_db()
    assert draft.status == Status.SENT
    assert draft.sent_at is not None
    assert draft.recipients == 2
    assert set(NewsletterDelivery.objects.values_list("status", flat=True)) == {Delivery.QUEUED}
    assert all(
        d.outgoing.status == OutgoingEmail.Status.SENT for d in NewsletterDelivery.objects.all()
    )


def test_posting_send_twice_sends_once(staff, draft, commit):
    subscribe("a@example.com")

    with commit():
        first = staff.post(url("staff_send", draft))
        second = staff.post(url("staff_send", draft))

    assert first.status_code == 302
    assert second.status_code == 409
    assert "can no longer be edited or sent" in second.content.decode()
    assert len(newsletter_mail()) == 1


def test_send_needs_post(staff, draft):
    assert staff.get(url("staff_send", draft)).status_code == 405


def test_no_subscriber_means_sent_to_nobody(staff, draft, commit):
    with commit():
        staff.post(url("staff_send", draft))

    draft.refresh_from_db()
    assert (draft.status, draft.recipients) == (Status.SENT, 0)
    assert newsletter_mail() == []


def test_batches_respect_size_and_interval(staff, draft, commit, settings, monkeypatch):
    settings.NEWSLETTER_BATCH_SIZE = 2
    settings.NEWSLETTER_BATCH_INTERVAL_SECONDS = 90
    subscribe(*(f"reader{n}@example.com" for n in range(5)))
    scheduled = []
    monkeypatch.setattr(
        tasks.send_newsletter_batch,
        "apply_async",
        lambda args, countdown: scheduled.append((args, countdown)),
    )

    with commit():
        staff.post(url("staff_send", draft))

    assert scheduled == [([draft.pk, 0], 0), ([draft.pk, 1], 90), ([draft.pk, 2], 180)]
    per_batch = {
        batch: sorted(emails)
        for batch, emails in _group(NewsletterDelivery.objects.values_list("batch", "email"))
    }
    assert per_batch == {
        0: ["reader0@example.com", "reader1@example.com"],
        1: ["reader2@example.com", "reader3@example.com"],
        2: ["reader4@example.com"],
    }
    assert newsletter_mail() == []  # nothing leaves before its batch runs
    draft.refresh_from_db()
    assert draft.status == Status.SENDING


def _group(pairs):
    groups = {}
    for key, value in pairs:
        groups.setdefault(key, []).append(value)
    return groups.items()


@pytest.fixture
def snapshotted(draft, settings, monkeypatch, commit):
    """Sending started and the recipients frozen, batches not yet run."""
    settings.NEWSLETTER_BATCH_SIZE = 2
    subscribe("a@example.com", "b@example.com", "c@example.com")
    monkeypatch.setattr(tasks.send_newsletter_batch, "apply_async", lambda **kwargs: None)
    with commit():
        newsletter_services.start_sending(newsletter=draft)
    monkeypatch.undo()
    return draft


def test_someone_who_unsubscribes_after_the_snapshot_gets_nothing(snapshotted, commit):
    services.unsubscribe(email="b@example.com", category="newsletter", source="one_click")

    with commit():
        sent = tasks.send_newsletter_batch.delay(snapshotted.pk, 0).get()

    assert sent == 1
    assert [m.to for m in newsletter_mail()] == [["a@example.com"]]
    skipped = NewsletterDelivery.objects.get(email="b@example.com")
    assert (skipped.status, skipped.outgoing) == (Delivery.SUPPRESSED, None)
    assert skipped.processed_at is not None


def test_an_unsubscribe_after_queuing_still_stops_the_message(
    snapshotted, django_capture_on_commit_callbacks
):
    # The batch is handed to the mailer; its messages wait for their workers.
    with django_capture_on_commit_callbacks(execute=False):
        tasks.send_newsletter_batch.delay(snapshotted.pk, 0)
    services.unsubscribe(email="a@example.com", category="newsletter", source="one_click")

    for delivery in NewsletterDelivery.objects.filter(batch=0):
        deliver_email.delay(delivery.outgoing_id)

    assert [m.to for m in newsletter_mail()] == [["b@example.com"]]
    queued = NewsletterDelivery.objects.get(email="a@example.com")
    assert queued.status == Delivery.QUEUED
    assert queued.outgoing.status == OutgoingEmail.Status.SUPPRESSED


def test_a_duplicate_batch_task_sends_nothing_twice(snapshotted, commit):
    with commit():
        first = tasks.send_newsletter_batch.delay(snapshotted.pk, 0).get()
        second = tasks.send_newsletter_batch.delay(snapshotted.pk, 0).get()

    assert (first, second) == (2, 0)
    assert sorted(m.to[0] for m in newsletter_mail()) == ["a@example.com", "b@example.com"]
    assert OutgoingEmail.objects.filter(category=Category.NEWSLETTER).count() == 2


def test_a_duplicate_snapshot_keeps_the_first_list(snapshotted, commit, monkeypatch):
    subscribe("late@example.com")
    scheduled = []
    monkeypatch.setattr(
        tasks.send_newsletter_batch,
        "apply_async",
        lambda args, countdown: scheduled.append(args[1]),
    )

    with commit():
        tasks.snapshot_newsletter.delay(snapshotted.pk)

    assert scheduled == [0, 1]  # the pending batches again, harmless: each claims its rows
    assert NewsletterDelivery.objects.count() == 3
    assert not NewsletterDelivery.objects.filter(email="late@example.com").exists()


def test_the_issue_is_sent_when_the_last_batch_is_done(snapshotted, commit):
    with commit():
        tasks.send_newsletter_batch.delay(snapshotted.pk, 1)
    snapshotted.refresh_from_db()
    assert snapshotted.status == Status.SENDING

    with commit():
        tasks.send_newsletter_batch.delay(snapshotted.pk, 0)

    snapshotted.refresh_from_db()
    assert snapshotted.status == Status.SENT
    assert snapshotted.sent_at is not None
    assert len(newsletter_mail()) == 3


def test_a_batch_of_a_draft_sends_nothing(draft, commit):
    subscribe("a@example.com")

    with commit():
        assert tasks.send_newsletter_batch.delay(draft.pk, 0).get() == 0

    assert mail.outbox == []


# The send log -------------------------------------------------------------------------


def test_send_log_lists_each_message_and_is_audited(staff, snapshotted, commit, marketer):
    services.unsubscribe(email="c@example.com", category="newsletter", source="one_click")
    with commit():
        tasks.send_newsletter_batch.delay(snapshotted.pk, 0)
        tasks.send_newsletter_batch.delay(snapshotted.pk, 1)

    response = staff.get(url("staff_log", snapshotted))

    assert response.status_code == 200
    rows = {
        cells[0]: cells[2:4]
        for cells in (
            re.findall(r"<td[^>]*>(.*?)</td>", row)
            for row in re.findall(r"<tr>(.*?)</tr>", response.content.decode(), re.S)
        )
        if cells
    }
    assert rows == {
        "a@example.com": ["Handed to the mailer", "Sent"],
        "b@example.com": ["Handed to the mailer", "Sent"],
        "c@example.com": ["Skipped: unsubscribed", "\u2013"],  # an en dash: no message
    }
    [entry] = audit.entries_for(target_type="newsletter", target_id=str(snapshotted.pk))
    assert entry.actor == marketer
    assert entry.action == "newsletter.send_log.view"


def test_send_log_shows_a_failed_message(staff, snapshotted, commit):
    with commit():
        tasks.send_newsletter_batch.delay(snapshotted.pk, 1)
    delivery = NewsletterDelivery.objects.get(email="c@example.com")
    OutgoingEmail.objects.filter(pk=delivery.outgoing_id).update(
        status=OutgoingEmail.Status.FAILED, last_error="mailbox unavailable"
    )

    page = staff.get(url("staff_log", snapshotted)).content.decode()

    assert "Failed: mailbox unavailable" in page
    assert "Waiting for its batch" in page  # batch 0 has not run


def test_send_log_pages_survive_bad_input(staff, snapshotted):
    assert staff.get(url("staff_log", snapshotted) + "?page=nope").status_code == 200
    assert staff.get(url("staff_log", snapshotted) + "?page=999").status_code == 200
