from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from privacy import services as email_services
from privacy.email_categories import SUBSCRIPTION_CATEGORIES
from privacy.models import (
    OutgoingEmail,
    PolicyAcknowledgement,
    PolicyAnnouncement,
    PolicyDocument,
    PolicyNotice,
)
from privacy.policies import notices
from privacy.policies.selectors import unseen_material_changes
from privacy.policies.tasks import announce_policy_changes, send_policy_notice_batch
from tests.factories import UserFactory

from .policy_texts import point_loader_at, write_version


@pytest.fixture
def texts_dir(tmp_path, monkeypatch):
    return point_loader_at(tmp_path, monkeypatch)


EFFECTIVE = date(2026, 12, 1)
BEFORE = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
AFTER = datetime(2026, 12, 1, 0, 0, 1, tzinfo=UTC)
NOW = "2026-12-02 10:00:00+00:00"
SITE_URL = "https://confer.example.test"
CHANGES = ("We now honor Global Privacy Control.", "Cookie choices come with a receipt.")


@pytest.fixture
def material_v2(texts_dir, settings):
    """Privacy policy v1, then a material v2 from 1 December; the cookie policy unchanged."""
    settings.SITE_URL = SITE_URL
    write_version(texts_dir, "privacy", 1, effective=date(2026, 1, 1))
    write_version(
        texts_dir,
        "privacy",
        2,
        effective=EFFECTIVE,
        material=True,
        changes=CHANGES,
        body="## New\n\nThe new text.",
    )
    write_version(texts_dir, "cookies", 1, effective=date(2026, 1, 1))


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def people(db):
    return {
        "old": UserFactory(date_joined=BEFORE),
        "older": UserFactory(date_joined=BEFORE - timedelta(days=300)),
        "new": UserFactory(date_joined=AFTER),
        "inactive": UserFactory(date_joined=BEFORE, is_active=False),
        "deleted": UserFactory(date_joined=BEFORE, deleted_at=BEFORE + timedelta(days=1)),
    }


def _announce(capture) -> None:
    with capture(execute=True):
        announce_policy_changes.delay()


# --- The email notice ----------------------------------------------------------------


def test_each_eligible_user_is_told_exactly_once_even_when_everything_runs_twice(
    material_v2, frozen, people, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as first_run:
        announce_policy_changes.delay()
    _announce(django_capture_on_commit_callbacks)
    announcement = PolicyAnnouncement.objects.get()
    everyone = [user.pk for user in people.values()]
    with django_capture_on_commit_callbacks(execute=True):
        send_policy_notice_batch.delay(announcement.pk, everyone)  # a duplicated batch

    assert len(first_run) >= 1
    assert sorted(message.to[0] for message in mailoutbox) == sorted(
        [people["old"].email, people["older"].email]
    )
    assert PolicyNotice.objects.count() == 2
    announcement.refresh_from_db()
    assert (announcement.document, announcement.version) == (PolicyDocument.PRIVACY, 2)
    assert announcement.recipients == 2
    assert announcement.finished_at is not None


def test_the_notice_says_what_changed_and_links_the_policy(
    material_v2, frozen, people, mailoutbox, django_capture_on_commit_callbacks
):
    _announce(django_capture_on_commit_callbacks)

    message = next(m for m in mailoutbox if m.to == [people["old"].email])
    assert "privacy policy" in message.subject.lower()
    for line in CHANGES:
        assert line in message.body
    assert f"{SITE_URL}{reverse('privacy:policy')}" in message.body
    assert "1 December 2026" in message.body
    assert "List-Unsubscribe" not in message.extra_headers  # a legal notice, not a list


def test_the_notice_reaches_someone_who_unsubscribed_from_everything_else(
    material_v2, frozen, people, mailoutbox, django_capture_on_commit_callbacks
):
    for category in SUBSCRIPTION_CATEGORIES:
        email_services.unsubscribe(
            email=people["old"].email,
            category=category,
            source=email_services.Source.UNSUBSCRIBE_LINK,
        )

    _announce(django_capture_on_commit_callbacks)

    assert people["old"].email in [m.to[0] for m in mailoutbox]
    assert OutgoingEmail.objects.filter(to=people["old"].email, category="transactional").exists()


def test_users_who_joined_after_the_change_get_no_notice(
    material_v2, frozen, people, mailoutbox, django_capture_on_commit_callbacks
):
    _announce(django_capture_on_commit_callbacks)

    told = set(PolicyNotice.objects.values_list("user_id", flat=True))
    assert people["new"].pk not in told
    assert people["inactive"].pk not in told and people["deleted"].pk not in told
    assert people["new"].email not in [m.to[0] for m in mailoutbox]


def test_recipients_are_sent_in_batches(
    material_v2, frozen, people, mailoutbox, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(notices, "BATCH_SIZE", 1)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        announce_policy_changes.delay()

    assert len(callbacks) == 2  # one batch per eligible user
    assert mailoutbox == []  # nothing leaves before the announcement commits


def test_an_announcement_made_by_another_caller_is_left_to_it(
    material_v2, frozen, people, mailoutbox, django_capture_on_commit_callbacks
):
    PolicyAnnouncement.objects.create(
        document=PolicyDocument.PRIVACY, version=2, started_at=timezone.now()
    )

    _announce(django_capture_on_commit_callbacks)

    assert mailoutbox == []
    assert PolicyNotice.objects.count() == 0


def test_a_stalled_announcement_is_resumed_for_those_not_told(
    material_v2, frozen, people, mailoutbox, django_capture_on_commit_callbacks
):
    announcement = PolicyAnnouncement.objects.create(
        document=PolicyDocument.PRIVACY, version=2, started_at=timezone.now() - timedelta(hours=2)
    )
    PolicyNotice.objects.create(
        user=people["old"], document=PolicyDocument.PRIVACY, version=2, sent_at=timezone.now()
    )

    _announce(django_capture_on_commit_callbacks)

    assert [m.to[0] for m in mailoutbox] == [people["older"].email]
    announcement.refresh_from_db()
    assert announcement.recipients == 2 and announcement.finished_at is not None


def test_nothing_is_announced_while_the_current_version_is_not_material(
    texts_dir, people, mailoutbox, django_capture_on_commit_callbacks
):
    write_version(texts_dir, "privacy", 1, effective=date(2026, 1, 1))
    write_version(texts_dir, "cookies", 1, effective=date(2026, 1, 1))

    with time_machine.travel(NOW, tick=False):
        _announce(django_capture_on_commit_callbacks)

    assert PolicyAnnouncement.objects.count() == 0
    assert mailoutbox == []


def test_a_material_version_is_not_announced_before_it_takes_effect(
    material_v2, people, mailoutbox, django_capture_on_commit_callbacks
):
    with time_machine.travel("2026-11-30 23:59:00+00:00", tick=False):
        _announce(django_capture_on_commit_callbacks)

    assert PolicyAnnouncement.objects.count() == 0
    assert mailoutbox == []


# --- The banner ----------------------------------------------------------------------


def _banner(client) -> str:
    page = "accounts:settings" if client.session.get("_auth_user_id") else "home"
    response = client.get(reverse(page))
    assert response.status_code == 200
    html = response.content.decode()
    start = html.find('class="policy-banner"')
    return "" if start == -1 else html[start : html.index("</section>", start)]


def test_the_banner_shows_until_dismissed_then_never_again(client, material_v2, frozen, people):
    client.force_login(people["old"])

    banner = _banner(client)
    response = client.post(
        reverse("privacy:policy_seen"),
        {"document": "privacy", "version": "2", "next": "/meetings/"},
    )

    assert "We changed our privacy policy" in banner
    for line in CHANGES:
        assert line in banner
    assert reverse("privacy:policy") in banner and "Got it" in banner
    assert response.status_code == 302 and response["Location"] == "/meetings/"
    assert PolicyAcknowledgement.objects.filter(user=people["old"], version=2).count() == 1
    assert _banner(client) == ""
    frozen.shift(timedelta(days=30))
    assert _banner(client) == ""


def test_opening_the_policy_counts_as_seeing_the_change(client, material_v2, frozen, people):
    client.force_login(people["older"])
    assert _banner(client) != ""

    page = client.get(reverse("privacy:policy")).content.decode()

    assert 'class="policy-banner"' not in page
    assert _banner(client) == ""
    assert PolicyAcknowledgement.objects.filter(user=people["older"]).count() == 1


def test_opening_an_earlier_version_does_not_count(client, material_v2, frozen, people):
    client.force_login(people["old"])

    client.get(reverse("privacy:policy_version", kwargs={"version": 1}))

    assert _banner(client) != ""


def test_no_banner_for_users_who_joined_after_the_change(client, material_v2, frozen, people):
    client.force_login(people["new"])

    assert _banner(client) == ""


def test_no_banner_for_anonymous_visitors(client, material_v2, frozen, db):
    assert _banner(client) == ""


def test_the_banner_costs_one_query_at_most(material_v2, frozen, people, django_assert_num_queries):
    user = people["old"]

    with django_assert_num_queries(1):
        pending = unseen_material_changes(user=user)
    with django_assert_num_queries(0):
        nothing = unseen_material_changes(user=people["new"])

    assert [(v.document, v.version) for v in pending] == [(PolicyDocument.PRIVACY, 2)]
    assert nothing == []


@pytest.mark.parametrize(
    "next_url", ["https://evil.example/phish", "//evil.example/", "javascript:alert(1)", ""]
)
def test_dismissing_never_redirects_off_site(client, material_v2, frozen, people, next_url):
    client.force_login(people["old"])

    response = client.post(
        reverse("privacy:policy_seen"), {"document": "privacy", "version": "2", "next": next_url}
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("privacy:policy")


@pytest.mark.parametrize(
    "data",
    [
        {"document": "privacy", "version": "1"},  # not a material version
        {"document": "privacy", "version": "3"},  # no such version
        {"document": "terms", "version": "2"},
        {"document": "privacy", "version": "two"},
        {},
    ],
)
def test_dismissing_something_that_is_no_material_change_is_refused(
    client, material_v2, frozen, people, data
):
    client.force_login(people["old"])

    response = client.post(reverse("privacy:policy_seen"), data)

    assert response.status_code == 400
    assert "We could not record that" in response.content.decode()
    assert PolicyAcknowledgement.objects.count() == 0


def test_dismissing_needs_a_signed_in_post(client, material_v2, frozen, people):
    anonymous = client.post(reverse("privacy:policy_seen"), {"document": "privacy", "version": 2})
    client.force_login(people["old"])
    get = client.get(reverse("privacy:policy_seen"))

    assert anonymous.status_code == 302 and reverse("account_login") in anonymous["Location"]
    assert get.status_code == 405
    assert PolicyAcknowledgement.objects.count() == 0
