"""Release step: a guest's access export waits for a privacy admin; a host's goes at once."""

import json
import re
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.urls import reverse

from accounts.roles import FINANCE, PRIVACY_ADMIN
from privacy.models import AuditEntry, PrivacyRequest, PrivacyRequestEvent
from privacy.requests import access_export, exports, housekeeping, services
from tests.factories import UserFactory
from tests.privacy import request_helpers
from tests.privacy.request_helpers import mails_to, path_in, reauthenticate, submit

committed = request_helpers.committed  # a fixture shared by the request tests

State = PrivacyRequest.State
NEW_URL = reverse("privacy:request_new")
SENT_URL = reverse("privacy:request_sent")
GUEST = "gia.guest@example.net"
T0 = datetime(2031, 3, 3, 17, 0, tzinfo=UTC)


def url(name, request):
    return reverse(f"privacy:{name}", args=[request.reference])


def subjects(address):
    return [message.subject.split(" [")[0] for message in mails_to(address)]


def ready_link(address):
    (ready,) = [m for m in mails_to(address) if m.subject.startswith("Your data is ready")]
    return path_in(ready.body, "/privacy/requests/download/")


@pytest.fixture(autouse=True)
def _exports_in_tmp(settings, tmp_path, time_machine):
    settings.PRIVACY_EXPORTS_ROOT = tmp_path / "exports"
    time_machine.move_to(T0, tick=False)


@pytest.fixture
def admin(db):
    return UserFactory(email="dpo@example.com", roles=[PRIVACY_ADMIN])


@pytest.fixture
def staff(client, admin):
    client.force_login(admin)
    return client


@pytest.fixture
def guest_browser(db, committed, mailoutbox):
    """A visitor without an account who sent the form and opened the emailed link."""
    browser = Client()
    committed(
        browser.post,
        NEW_URL,
        {"kind": "access", "name": "Gia Guest", "email": GUEST, "california_resident": "on"},
    )
    (verify,) = mails_to(GUEST)
    confirmed = committed(browser.post, path_in(verify.body, "/privacy/requests/verify/"))
    assert confirmed.status_code == 200
    browser.confirmed_page = confirmed.content.decode()
    return browser


@pytest.fixture
def held(guest_browser):
    return PrivacyRequest.objects.get(email=GUEST)


def test_a_guest_gets_no_link_but_is_told_the_copy_is_being_reviewed(guest_browser, held):
    # Given the guest's request, verified by the emailed link, and the export task has run
    # Then the ZIP is built, but no link went out: the request waits, still open
    assert held.state == State.IN_PROGRESS and held.awaiting_release
    assert held.release_required and held.released_at is None
    assert held.export_file and exports.export_path(held).is_file()
    assert held.export_expires_at is None
    assert subjects(GUEST) == [
        "Confirm your privacy request",
        "Your copy is being reviewed",
    ]
    (review,) = [m for m in mails_to(GUEST) if "being reviewed" in m.subject]
    assert "/privacy/requests/download/" not in review.body
    assert held.due_on.strftime("%-d %B %Y") in review.body
    assert "reviews it before" in guest_browser.confirmed_page
    status_page = guest_browser.get(SENT_URL).content.decode()
    assert "being reviewed by our privacy team" in status_page


def test_the_download_does_not_work_before_release(client, held):
    # Even a correctly signed link for the held file is refused
    response = client.get(
        reverse("privacy:request_download", args=[exports.make_download_token(held)])
    )

    assert response.status_code == 403
    assert "being reviewed" in response.content.decode()
    assert not PrivacyRequestEvent.objects.filter(action="export_downloaded").exists()


def test_the_staff_page_shows_the_preview_and_the_evidence_and_audits_once(staff, held):
    # The preview is read from the built file: what a release sends, not today's data
    with zipfile.ZipFile(exports.export_path(held)) as archive:
        expected = json.loads(archive.read("data.json"))["data"]
    assert expected["privacy"]["emails_sent"]  # the verification email, at least
    views_before = AuditEntry.objects.filter(action="privacy_request.view").count()

    page = staff.get(url("staff_request", held)).content.decode()

    assert AuditEntry.objects.filter(action="privacy_request.view").count() == views_before + 1
    assert "Awaiting release" in page
    assert reverse("privacy:staff_request_release", args=[held.reference]) in page
    for app, sections in expected.items():
        for section, rows in sections.items():
            assert f'<td>{app}</td><td>{section}</td><td class="num">{len(rows)}</td>' in page
    assert "No account" in page
    assert f"Opened the confirmation link emailed to {GUEST}." in page
    assert re.search(r"Verified at</dt><dd>2031-03-03 \d\d:00</dd>", page)  # in the viewer's zone
    assert "Web form" in page


def test_release_sends_the_link_which_then_works(staff, admin, held, committed):
    response = committed(staff.post, url("staff_request_release", held))

    assert response.status_code == 302
    held.refresh_from_db()
    assert held.state == State.COMPLETED
    assert held.released_by == admin and held.released_at == T0
    assert held.export_expires_at == T0 + timedelta(days=7)
    released = PrivacyRequestEvent.objects.get(request=held, action="export_released")
    assert released.actor == admin
    assert AuditEntry.objects.filter(
        action="privacy_request.export_released", actor=admin, target_id=held.reference
    ).exists()
    download = Client().get(ready_link(GUEST))
    assert download.status_code == 200 and download["Content-Type"] == "application/zip"
    page = staff.get(url("staff_request", held)).content.decode()
    assert "Released" in page and "dpo@example.com" in page


def test_a_second_release_is_refused_clearly(staff, held, committed):
    committed(staff.post, url("staff_request_release", held))

    again = committed(staff.post, url("staff_request_release", held), follow=True)

    assert again.status_code == 200
    assert "Already released by dpo@example.com" in again.content.decode()
    assert len([m for m in mails_to(GUEST) if "Your data is ready" in m.subject]) == 1


def test_two_admins_releasing_at_once_release_once(held, admin, committed):
    # Both loaded the request while it was waiting
    other = UserFactory(email="dpo2@example.com", roles=[PRIVACY_ADMIN])
    first_copy = PrivacyRequest.objects.get(pk=held.pk)
    second_copy = PrivacyRequest.objects.get(pk=held.pk)

    committed(access_export.release_export, request=first_copy, actor=admin)
    with pytest.raises(services.RequestError, match=r"Already released by dpo@example\.com"):
        committed(access_export.release_export, request=second_copy, actor=other)

    held.refresh_from_db()
    assert held.released_by == admin
    assert PrivacyRequestEvent.objects.filter(request=held, action="export_released").count() == 1
    assert PrivacyRequestEvent.objects.filter(request=held, action="completed").count() == 1
    assert len([m for m in mails_to(GUEST) if "Your data is ready" in m.subject]) == 1


@pytest.mark.parametrize("roles", [[], [FINANCE]], ids=["host", "finance"])
def test_people_without_the_privacy_admin_role_cannot_release(client, held, roles):
    client.force_login(UserFactory(roles=roles))

    response = client.post(url("staff_request_release", held))

    assert response.status_code == 403
    held.refresh_from_db()
    assert held.awaiting_release


def test_a_host_who_re_authenticated_gets_the_link_at_once(client, db, committed, mailoutbox):
    host = UserFactory(email="holder@example.com")
    reauthenticate(client, host)

    committed(client.post, NEW_URL, {"kind": "access", "california_resident": "on"})

    request = PrivacyRequest.objects.get(user=host)
    assert request.state == State.COMPLETED
    assert not request.release_required and request.released_at is None
    assert "Your copy is being reviewed" not in subjects(host.email)
    assert client.get(ready_link(host.email)).status_code == 200


def test_a_request_logged_by_staff_for_an_account_still_waits(staff, admin, committed):
    # A staff member marked it verified, but the holder did not re-authenticate
    host = UserFactory(email="posted@example.com")
    request = committed(
        submit, kind="access", channel="designated_post", user=host, email=host.email, actor=admin
    )

    request.refresh_from_db()
    assert request.awaiting_release
    assert not [m for m in mails_to(host.email) if "Your data is ready" in m.subject]
    page = staff.get(url("staff_request", request)).content.decode()
    assert "Yes, not re-authenticated" in page
    assert "Marked as verified by dpo@example.com when the request was logged." in page


def test_waiting_for_release_changes_no_due_date(staff, held, committed, time_machine, admin):
    due = held.due_on
    time_machine.move_to(T0 + timedelta(days=10), tick=False)
    staff.force_login(admin)

    queue = staff.get(reverse("privacy:staff_requests")).content.decode()
    waiting = staff.get(reverse("privacy:staff_requests"), {"state": "awaiting_release"})
    committed(staff.post, url("staff_request_release", held))

    assert "1 copy waits for release." in queue
    assert 'class="badge privacy-awaiting-release"' in queue
    assert held.reference in waiting.content.decode()
    held.refresh_from_db()
    assert held.state == State.COMPLETED and held.due_on == due


def test_the_awaiting_release_filter_leaves_out_the_others(staff, held, committed):
    other = committed(submit, kind="delete", email="someone@example.com")

    waiting = staff.get(reverse("privacy:staff_requests"), {"state": "awaiting_release"})

    page = waiting.content.decode()
    assert waiting.status_code == 200
    assert held.reference in page and other.reference not in page


def test_release_before_the_zip_is_built_is_refused(staff, db):
    # The export task has not run yet (nothing after the commit is executed)
    request = submit(kind="access", email=GUEST)
    request.refresh_from_db()
    assert request.release_required and not request.export_file

    response = staff.post(url("staff_request_release", request), follow=True)

    assert "still being built" in response.content.decode()
    request.refresh_from_db()
    assert request.released_at is None and request.state != State.COMPLETED


def test_a_denied_held_export_is_removed_by_housekeeping(held, admin):
    path = exports.export_path(held)
    assert housekeeping.remove_expired_exports() == 0  # waiting: kept
    assert path.is_file()

    services.deny(request=held, reason="We could not confirm who you are.", actor=admin)

    assert housekeeping.remove_expired_exports() == 1
    assert not path.exists()


def test_only_a_verified_account_holder_can_be_marked_re_authenticated(db):
    with pytest.raises(services.RequestError):
        submit(kind="access", email="guest@example.com", verified=True, reauthenticated=True)
    with pytest.raises(services.RequestError):
        submit(kind="access", user=UserFactory(), verified=False, reauthenticated=True)
    assert not PrivacyRequest.objects.exists()
