"""Staff reach recordings only through `recordings.qa`, only when the host allowed it, and
every attempt is in the audit log."""

from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.roles import FINANCE, QUALITY_ASSURANCE
from privacy import audit
from privacy.models import AuditEntry
from recordings import library, qa, storage
from recordings.models import Recording
from tests.factories import UserFactory
from tests.recordings.factories import (
    MEDIA_BYTES,
    ConsentReceiptFactory,
    RecordingFactory,
    processing,
    streamed_body,
)

PURPOSE = "Checking lip sync after the recorder upgrade"


@pytest.fixture(autouse=True)
def _recordings_root(settings, tmp_path):
    settings.RECORDINGS_ROOT = tmp_path / "recordings"


@pytest.fixture
def recording(db):
    return RecordingFactory(title="Team retro")


@pytest.fixture
def staff(db):
    return UserFactory(roles=[QUALITY_ASSURANCE])


@pytest.fixture
def staff_client(staff):
    client = Client()
    client.force_login(staff)
    return client


def entries(recording: Recording) -> list[AuditEntry]:
    return audit.entries_for(target_type="recording", target_id=str(recording.public_id))


def open_url(recording: Recording) -> str:
    return reverse("recordings:staff_qa_open", args=[recording.public_id])


def body(response) -> bytes:
    return streamed_body(response)


# --- The service ----------------------------------------------------------------------------


def test_staff_with_the_role_get_the_file_and_an_audit_entry(staff, recording):
    path = qa.open_for_qa(staff=staff, recording=recording, purpose=f"  {PURPOSE}  ")

    assert path == storage.composed_path(recording)
    assert path.read_bytes() == MEDIA_BYTES
    [entry] = entries(recording)
    assert entry.action == "recording.qa_access"
    assert entry.actor == staff
    assert entry.purpose == PURPOSE
    assert entry.details == {"host_id": recording.host_id}  # not the title: it may name people
    assert audit.verify_chain().ok


def test_a_recording_without_qa_permission_is_refused_and_the_attempt_audited(staff, recording):
    library.set_qa_use(recording=recording, allowed=False)

    with pytest.raises(qa.QAUseNotAllowed, match="turned off quality-assurance use"):
        qa.open_for_qa(staff=staff, recording=recording, purpose=PURPOSE)

    [entry] = entries(recording)
    assert entry.action == "recording.qa_access_refused"
    assert entry.purpose == PURPOSE
    assert entry.details == {"reason": "qa_use_not_allowed"}


def test_a_stale_copy_cannot_sneak_past_the_hosts_choice(staff, recording):
    stale = Recording.objects.get(pk=recording.pk)
    library.set_qa_use(recording=recording, allowed=False)

    with pytest.raises(qa.QAUseNotAllowed):
        qa.open_for_qa(staff=staff, recording=stale, purpose=PURPOSE)


def test_without_the_role_it_is_permission_denied_and_audited(recording):
    finance = UserFactory(roles=[FINANCE])

    with pytest.raises(PermissionDenied):
        qa.open_for_qa(staff=finance, recording=recording, purpose=PURPOSE)

    [entry] = entries(recording)
    assert entry.action == "recording.qa_access_refused"
    assert entry.details == {"reason": "no_role"}


@pytest.mark.parametrize("purpose", ["", "   ", "look", "123456789", "  12345678  "])
def test_a_purpose_of_at_least_ten_characters_is_required(staff, recording, purpose):
    with pytest.raises(qa.PurposeTooShort):
        qa.open_for_qa(staff=staff, recording=recording, purpose=purpose)

    assert entries(recording)[0].details == {"reason": "no_purpose"}


def test_ten_characters_are_enough(staff, recording):
    assert qa.open_for_qa(staff=staff, recording=recording, purpose="1234567890").exists()


def test_recordings_not_ready_or_in_the_trash_are_refused(staff, recording):
    busy = processing()
    library.trash(recording=recording)

    for target in (busy, recording):
        with pytest.raises(qa.QAUseNotAllowed, match="not available"):
            qa.open_for_qa(staff=staff, recording=target, purpose=PURPOSE)
        assert entries(target)[0].details == {"reason": "not_available"}


# --- The console ----------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_sign_in(client, recording):
    for url in (reverse("recordings:staff_qa"), open_url(recording)):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))


def test_users_without_the_role_get_403(recording):
    for user in (UserFactory(), UserFactory(roles=[FINANCE]), recording.host):
        other = Client()
        other.force_login(user)
        assert other.get(reverse("recordings:staff_qa")).status_code == 403
        assert other.post(open_url(recording), {"purpose": PURPOSE}).status_code == 403
    assert entries(recording) == []  # the role check stops them before the service


def test_the_console_lists_allowed_recordings_without_personal_data(staff_client, recording):
    ConsentReceiptFactory(recording=recording, display_name="Zelda Q", email="zelda@example.com")
    withheld = RecordingFactory(title="Private board meeting", qa_use_allowed=False)
    processing(title="Still processing")

    html = staff_client.get(reverse("recordings:staff_qa")).content.decode()

    assert "Team retro" in html
    assert open_url(recording) in html
    assert "Private board meeting" not in html and open_url(withheld) not in html
    assert "Still processing" not in html
    assert "Zelda" not in html and "zelda@example.com" not in html
    assert recording.host.email not in html


def test_opening_audits_once_then_plays_for_a_while(staff_client, staff, recording):
    opened = staff_client.post(open_url(recording), {"purpose": PURPOSE})

    assert opened.status_code == 302
    watch = staff_client.get(opened["Location"])
    assert watch.status_code == 200
    media_url = opened["Location"] + "media"
    assert f'src="{media_url}"' in watch.content.decode()
    first = staff_client.get(media_url, HTTP_RANGE="bytes=0-9")
    second = staff_client.get(media_url)
    assert first.status_code == 206 and body(first) == MEDIA_BYTES[:10]
    assert second.status_code == 200 and body(second) == MEDIA_BYTES
    [entry] = entries(recording)
    assert entry.action == "recording.qa_access" and entry.purpose == PURPOSE

    with time_machine.travel(timezone.now() + timedelta(minutes=31)):
        assert staff_client.get(media_url).status_code == 403
        assert staff_client.get(opened["Location"]).status_code == 403


def test_a_short_purpose_is_a_form_error(staff_client, recording):
    response = staff_client.post(open_url(recording), {"purpose": "qa"})

    assert response.status_code == 400
    assert "at least 10 characters" in response.content.decode()


def test_the_host_turning_qa_off_refuses_staff_and_ends_open_viewings(
    staff_client, staff, recording
):
    opened = staff_client.post(open_url(recording), {"purpose": PURPOSE})
    media_url = opened["Location"] + "media"
    host = Client()
    host.force_login(recording.host)

    host.post(reverse("recordings:qa_use", args=[recording.public_id]), {})  # box unticked
    refused = staff_client.post(open_url(recording), {"purpose": PURPOSE})

    assert refused.status_code == 403
    assert "The host turned off quality-assurance use" in refused.content.decode()
    assert staff_client.get(media_url).status_code == 403
    assert [e.action for e in entries(recording)] == [
        "recording.qa_access",
        "recording.qa_access_refused",
    ]


def test_a_grant_works_only_for_the_staff_member_it_was_issued_to(staff_client, recording):
    opened = staff_client.post(open_url(recording), {"purpose": PURPOSE})
    colleague = Client()
    colleague.force_login(UserFactory(roles=[QUALITY_ASSURANCE]))

    assert colleague.get(opened["Location"] + "media").status_code == 403
    assert colleague.get(opened["Location"]).status_code == 403


def test_a_forged_grant_is_refused(staff_client, recording):
    url = reverse("recordings:staff_qa_media", args=["eyJlbnRyeSI6MX0:forged:sig"])

    assert staff_client.get(url).status_code == 403


def test_anonymous_media_requests_are_sent_to_sign_in(client, staff_client, recording):
    opened = staff_client.post(open_url(recording), {"purpose": PURPOSE})

    response = client.get(opened["Location"] + "media")

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_an_unknown_recording_is_404(staff_client, db):
    response = staff_client.get(
        reverse("recordings:staff_qa_open", args=["00000000-0000-0000-0000-000000000000"])
    )

    assert response.status_code == 404
