"""Erasure leaves nothing behind: after a confirmed deletion request, no column of any
model and no stored file holds the person's addresses or names, except the columns the
dry run listed as kept, with a reason."""

from collections import Counter

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.core.management import call_command
from django.urls import reverse

from accounts.roles import PRIVACY_ADMIN
from meetings.invitations import email_request
from privacy.email_categories import Category
from privacy.mailer import send_email
from privacy.models import OutgoingEmail, PrivacyRequest, PrivacyRequestEvent
from privacy.privacy_data import WITHDRAWN_SUBJECT
from privacy.requests import exports, services
from privacy.requests.data_map import erase_person
from privacy.subjects import Subject
from privacy.traces import find_traces
from recordings import storage
from tests.factories import UserFactory
from tests.meetings.factories import MeetingFactory
from tests.privacy import request_helpers
from tests.privacy.people import PERSON_EMAIL, SECOND_EMAIL, build_world

NAME = "Pat Person"
NAME_ON_REQUEST = "Patricia Q. Person"  # how she signed her access request
TERMS = (PERSON_EMAIL, SECOND_EMAIL.upper(), NAME, NAME_ON_REQUEST)

committed = request_helpers.committed  # a fixture shared by the request tests


@pytest.fixture
def roots(settings, tmp_path):
    settings.PRIVACY_EXPORTS_ROOT = tmp_path / "exports"
    settings.MEDIA_ROOT = tmp_path / "media"
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / "unrelated.txt").write_text("nobody's file")


@pytest.fixture
def admin(db):
    return UserFactory(email="dpo@example.com", roles=[PRIVACY_ADMIN])


def ask(**fields):
    return services.submit(
        channel="web_form", email=PERSON_EMAIL, california_resident=True, verified=True, **fields
    )


def seed(committed, admin):
    """build_world's Pat, plus what her earlier privacy requests and invitations left."""
    world = build_world()
    person = world.person
    # Pat asks, signed in, for a copy of her data; the real task builds the ZIP.
    access = committed(
        ask,
        kind="access",
        name=NAME_ON_REQUEST,
        user=person,
        actor=person,
        reauthenticated=True,
        postal_address="1 Fig Lane, Fresno, CA",
        details={"note": f"For {NAME}, both addresses please: {SECOND_EMAIL}"},
    )
    # Her yearly California notice, which greets her by name.
    committed(ask, kind="shine_the_light", name=NAME, user=person)
    # A correction request staff denied with a reason that names her.
    correction = ask(kind="correct", name=NAME, user=person, details={"full_name": "Pat Persson"})
    committed(services.deny, request=correction, reason=f"{NAME} did not confirm.", actor=admin)
    # Invitations she sent, one delivered, its subject naming her by name only.
    office = MeetingFactory(
        host=person, title=f"Office hours with {NAME}", invitees=["quinn@example.com"]
    )
    committed(email_request, meeting=office, invitation_id=office.invitations.get().pk)
    # The join form keeps a guest's details in their browser session (meetings.join_views).
    guest = SessionStore()
    guest["meetings.guest"] = {"display_name": NAME, "email": SECOND_EMAIL}
    guest.create()
    access.refresh_from_db()
    return world, access


def test_a_confirmed_deletion_leaves_no_trace_outside_the_kept_columns(
    client, committed, admin, roots
):
    world, access = seed(committed, admin)
    zip_path = exports.export_path(access)
    link = reverse("privacy:request_download", args=[exports.make_download_token(access)])
    got = client.get(link)
    assert (got.status_code, got["Content-Type"]) == (200, "application/zip")
    to_quinn = OutgoingEmail.objects.get(to="quinn@example.com")
    assert to_quinn.status == OutgoingEmail.Status.SENT and NAME in to_quinn.subject
    assert set(Subject.for_user(world.person).names) == {NAME, NAME_ON_REQUEST}
    deletion = committed(ask, kind="delete", name=NAME, user=world.person)
    client.force_login(admin)
    for request in (access, deletion):  # staff look first: each view is audited
        page = client.get(reverse("privacy:staff_request", args=[request.reference]))
        assert page.status_code == 200
    assert "privacy.PrivacyRequest.subject_key" in page.content.decode()  # the dry run's
    preview = services.erasure_preview(request=deletion)
    before = find_traces(TERMS)

    done = committed(
        client.post,
        reverse("privacy:staff_request_erase", args=[deletion.reference]),
        {"confirm": "on"},
    )

    assert done.status_code == 302
    after = find_traces(TERMS)
    kept = [line for line in preview if line.action == "kept"]
    kept_columns = {column for line in kept if line.reason for column in line.columns}
    print(f"\nTraces of {NAME}: {len(before)} before the erasure, {len(after)} after")
    print(dict(Counter(trace.qualified_column for trace in after)))
    assert len(before) > 40
    assert "sessions.Session.session_data" in {t.qualified_column for t in before}
    assert [t for t in after if t.qualified_column not in kept_columns] == []
    to_quinn.refresh_from_db()
    assert to_quinn.subject == "(removed on an erasure request)"
    # The old link is dead, and so is the file.
    assert not zip_path.exists()
    assert client.get(link).status_code == 410
    assert not storage.directory(world.hosted_recording).exists()


def test_the_dry_run_lists_the_earlier_requests_and_the_export(committed, admin, roots):
    world, access = seed(committed, admin)
    deletion = committed(ask, kind="delete", name=NAME, user=world.person)

    preview = {line.what.split(":")[0]: line for line in services.erasure_preview(request=deletion)}

    earlier = preview["Their earlier privacy requests"]
    assert (earlier.action, earlier.count) == ("anonymised", 3)
    assert preview["Copies of their data built for access requests (ZIP files)"].count == 1
    assert preview["California Privacy Rights Notices sent to them"].count == 1
    kept = preview["Record of their privacy requests and how they were answered"]
    assert kept.action == "kept" and "11 CCR 7101" in kept.reason
    assert "privacy.PrivacyRequest.subject_key" in kept.columns
    assert not any(column.endswith((".name", ".email", ".details")) for column in kept.columns)
    assert exports.export_path(access).is_file()  # a dry run deletes nothing


def test_the_earlier_requests_keep_their_record_without_the_person(committed, admin, roots):
    world, access = seed(committed, admin)
    deletion = committed(ask, kind="delete", name=NAME, user=world.person)
    key = access.subject_key

    committed(services.erase, request=deletion, actor=admin)

    access.refresh_from_db()
    assert (access.kind, access.state, access.subject_key) == ("access", "completed", key)
    assert access.name == "(erased)" and access.email.endswith("@erased.invalid")
    assert access.postal_address == "" and access.details == {} and access.export_file == ""
    denied = PrivacyRequest.objects.get(kind="correct", subject_key=key)
    assert denied.outcome == "(erased) did not confirm."
    notes = PrivacyRequestEvent.objects.filter(request__subject_key=key)
    assert "(erased) did not confirm." in set(notes.values_list("note", flat=True))


def test_a_rolled_back_erasure_keeps_the_export_and_its_link(
    client, committed, admin, roots, monkeypatch
):
    from accounts import privacy_data as accounts_data

    world, access = seed(committed, admin)
    deletion = committed(ask, kind="delete", name=NAME, user=world.person)
    link = reverse("privacy:request_download", args=[exports.make_download_token(access)])

    def broken(subject, *, dry_run):
        raise RuntimeError("database went away")

    monkeypatch.setattr(accounts_data, "erase_for", broken)  # runs after privacy's own
    with pytest.raises(RuntimeError):
        committed(services.erase, request=deletion, actor=admin)

    access.refresh_from_db()
    assert access.name == NAME_ON_REQUEST and exports.export_path(access).is_file()
    assert client.get(link).status_code == 200


def test_a_short_name_is_not_searched_for(db):
    subject = Subject(user=None, email="al@example.com", names=("Al", "Bo Li", "Zoë", "Anna"))

    assert subject.names == ("Anna", "Bo Li")
    assert not subject.mentions("Also a Zoë note")


def test_the_command_counts_traces(db, capsys):
    UserFactory(email="count.me@example.com", full_name="Count Me")

    call_command("count_person_traces", "COUNT.ME@example.com", "Count Me")

    out = capsys.readouterr().out
    assert "accounts.User.email" in out and "accounts.User.full_name" in out
    assert out.strip().endswith("traces")


def test_an_unsent_message_naming_them_only_by_name_is_withdrawn(db):
    host = UserFactory(email="harriet@example.com", full_name="Harriet Hostington")
    naming = send_email(
        to="olga@example.com",
        subject="Invitation: Office hours with harriet hostington",
        text="HARRIET HOSTINGTON invites you.",
        category=Category.TRANSACTIONAL,
    )
    first_name_only = send_email(
        to="olga@example.com", subject="Harriet says hi", text="", category=Category.TRANSACTIONAL
    )

    erase_person(Subject.for_user(host), dry_run=False)

    naming.refresh_from_db()
    first_name_only.refresh_from_db()
    assert naming.status == OutgoingEmail.Status.FAILED
    assert (naming.subject, naming.text_body) == (WITHDRAWN_SUBJECT, "")
    assert first_name_only.status == OutgoingEmail.Status.QUEUED  # a first name is not enough
