"""The host's recordings library: the pages, the changes, and who may see them."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from recordings import library, selectors, storage
from recordings.library import LibraryError
from recordings.models import ConsentReceipt, Recording
from tests.factories import UserFactory
from tests.recordings.factories import (
    ConsentReceiptFactory,
    RecordingFactory,
    ShareLinkFactory,
    failed,
    processing,
)

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)


@pytest.fixture(autouse=True)
def _recordings_root(settings, tmp_path):
    settings.RECORDINGS_ROOT = tmp_path / "recordings"


@pytest.fixture
def recording(db):
    return RecordingFactory()


@pytest.fixture
def host_client(client, recording):
    client.force_login(recording.host)
    return client


def detail_url(recording: Recording) -> str:
    return reverse("recordings:detail", args=[recording.public_id])


def action_url(name: str, recording: Recording) -> str:
    return reverse(f"recordings:{name}", args=[recording.public_id])


# --- Who may see what --------------------------------------------------------------


def host_routes(recording: Recording) -> list[tuple[str, str, dict[str, str]]]:
    link = ShareLinkFactory(recording=recording)
    one = recording.public_id
    return [
        ("get", detail_url(recording), {}),
        ("get", reverse("recordings:status", args=[one]), {}),
        ("get", reverse("recordings:media", args=[one]), {}),
        ("get", reverse("recordings:thumbnail", args=[one]), {}),
        ("post", action_url("rename", recording), {"title": "Mine now"}),
        ("post", action_url("retention", recording), {"days": "1"}),
        ("post", action_url("qa_use", recording), {}),
        ("post", action_url("trash", recording), {}),
        ("post", action_url("restore", recording), {}),
        ("post", action_url("delete_forever", recording), {}),
        ("post", action_url("retry", recording), {}),
        ("post", action_url("share_create", recording), {"expires_in_days": "7"}),
        ("post", reverse("recordings:share_revoke", args=[one, link.pk]), {}),
    ]


def assert_untouched(recording: Recording) -> None:
    before = (recording.title, recording.retention_days, recording.qa_use_allowed)
    recording.refresh_from_db()
    assert (recording.title, recording.retention_days, recording.qa_use_allowed) == before
    assert recording.trashed_at is None
    assert recording.share_links.count() == 1
    assert recording.share_links.get().revoked_at is None


def test_another_host_gets_404_on_every_page_and_action(recording):
    another_host = UserFactory()
    RecordingFactory(host=another_host)  # with recordings of their own
    other = Client()
    other.force_login(another_host)

    for method, url, data in host_routes(recording):
        response = getattr(other, method)(url, data)
        assert response.status_code == 404, (method, url)

    assert_untouched(recording)


def test_an_attendee_of_the_meeting_gets_404_too(recording):
    # Someone who was in the meeting and consented: still only a share link shows it them.
    attendee = UserFactory()
    ConsentReceiptFactory(recording=recording, email=attendee.email)
    other = Client()
    other.force_login(attendee)

    for method, url, data in host_routes(recording):
        response = getattr(other, method)(url, data)
        assert response.status_code == 404, (method, url)

    assert_untouched(recording)
    assert recording.title not in other.get(reverse("recordings:library")).content.decode()


def test_anonymous_visitors_are_sent_to_sign_in(client, recording):
    for method, url, data in [
        *host_routes(recording),
        ("get", reverse("recordings:library"), {}),
        ("get", reverse("recordings:library_status"), {}),
    ]:
        response = getattr(client, method)(url, data)
        assert response.status_code == 302, (method, url)
        assert response["Location"].startswith(reverse("account_login")), url


def test_writes_need_post(host_client, recording):
    for name in ("rename", "retention", "qa_use", "trash", "restore", "delete_forever", "retry"):
        assert host_client.get(action_url(name, recording)).status_code == 405, name


def test_a_malformed_id_is_a_404(host_client):
    assert host_client.get("/recordings/not-a-uuid/").status_code == 404


# --- The library page -----------------------------------------------------------------


def test_library_lists_only_the_hosts_recordings_with_their_facts(host_client, recording):
    RecordingFactory(title="Someone else's")
    recording.started_at = timezone.make_aware(timezone.datetime(2030, 1, 15, 8, 0))
    recording.duration_seconds = 3725
    recording.size_bytes = 5 * 1024 * 1024
    recording.has_thumbnail = True
    recording.save()

    html = host_client.get(reverse("recordings:library")).content.decode()

    assert recording.title in html
    assert recording.meeting.title in html
    assert "Someone else" not in html
    assert "Tue 15 Jan 2030, 09:00" in html  # in the host's zone (Europe/Paris), not UTC
    assert "1:02:05" in html
    assert "5.0\xa0MB" in html
    assert reverse("recordings:thumbnail", args=[recording.public_id]) in html
    assert "Ready" in html


def test_library_shows_progress_and_failures(host_client, recording):
    busy = processing(host=recording.host, progress=37)
    broken = failed(host=recording.host, failure_reason="The video track is unreadable.")

    html = host_client.get(reverse("recordings:library")).content.decode()

    assert f'data-recording="{busy.public_id}" data-state="processing"' in html
    assert '<progress max="100" value="37"' in html
    assert "The video track is unreadable." in html
    assert action_url("retry", broken) in html


def test_an_empty_library_explains_recording(client, db):
    client.force_login(UserFactory())

    html = client.get(reverse("recordings:library")).content.decode()

    assert "No recordings yet." in html
    assert "asked whether they agree to be recorded" in html
    assert "The trash is empty." in html


def test_pages_have_no_inline_script_or_style(host_client, recording):
    processing(host=recording.host)
    failed(host=recording.host)
    ConsentReceiptFactory(recording=recording)
    ShareLinkFactory(recording=recording)

    for url in (reverse("recordings:library"), detail_url(recording)):
        html = host_client.get(url).content.decode()
        assert not INLINE_SCRIPT.search(html), url
        assert "style=" not in html, url
        assert "js/recordings.js" in html and "css/recordings.css" in html


def test_nav_links_the_library_for_signed_in_users(host_client):
    html = host_client.get(reverse("meetings:dashboard")).content.decode()

    assert f'href="{reverse("recordings:library")}"' in html


# --- Status for polling -------------------------------------------------------------------


def test_status_of_one_recording(client, db):
    busy = processing(host=UserFactory())
    client.force_login(busy.host)

    response = client.get(reverse("recordings:status", args=[busy.public_id]))

    assert response.status_code == 200
    assert response.json() == {
        "id": str(busy.public_id),
        "state": "processing",
        "state_label": "Processing",
        "progress": 42,
        "failure_reason": "",
        "duration_seconds": None,
        "size_bytes": None,
    }
    assert "no-cache" in response["Cache-Control"]


def test_status_of_many_skips_others_and_nonsense(host_client, recording):
    busy = processing(host=recording.host, progress=80)
    foreign = processing()

    response = host_client.get(
        reverse("recordings:library_status"),
        {"ids": f"{busy.public_id},{recording.public_id},{foreign.public_id},junk,"},
    )

    assert response.status_code == 200
    by_id = {row["id"]: row for row in response.json()["recordings"]}
    assert set(by_id) == {str(busy.public_id), str(recording.public_id)}
    assert by_id[str(busy.public_id)]["progress"] == 80
    assert by_id[str(recording.public_id)]["state"] == "ready"


def test_status_without_ids_is_empty(host_client):
    response = host_client.get(reverse("recordings:library_status"))

    assert response.json() == {"recordings": []}


# --- The detail page ----------------------------------------------------------------------


def test_detail_has_player_download_and_forms(host_client, recording):
    html = host_client.get(detail_url(recording)).content.decode()
    media_url = reverse("recordings:media", args=[recording.public_id])

    assert f'<video controls preload="metadata" src="{media_url}"' in html
    assert f'href="{media_url}?download=1"' in html
    for name in ("rename", "retention", "qa_use", "share_create", "trash"):
        assert action_url(name, recording) in html, name
    assert "may be used for quality assurance and improvement of the service" in html
    assert "no one at Confer will open this recording for that purpose" in html


def test_detail_of_a_processing_recording_polls_instead_of_playing(client, db):
    busy = processing()
    client.force_login(busy.host)

    html = client.get(detail_url(busy)).content.decode()

    assert "<video" not in html
    assert f'data-recording-detail="{busy.public_id}"' in html
    assert "You can share the recording once it is ready." in html


def test_consent_receipts_show_latest_decisions_and_history(host_client, recording):
    now = timezone.now()
    ana = ConsentReceiptFactory(
        recording=recording,
        display_name="Ana",
        email="ana@example.com",
        decided_at=now - timedelta(minutes=5),
    )
    ConsentReceiptFactory(
        recording=recording,
        participant_id=ana.participant_id,
        display_name="Ana",
        email="ana@example.com",
        decision=ConsentReceipt.Decision.DECLINED,
        decided_at=now,
    )
    ConsentReceiptFactory(recording=recording, display_name="Ben", decided_at=now)

    consents = selectors.consents_for(recording=recording)
    html = host_client.get(detail_url(recording)).content.decode()

    assert [(r.display_name, r.decision) for r in consents.latest] == [
        ("Ana", "declined"),
        ("Ben", "accepted"),
    ]
    assert len(consents.history) == 3
    assert "ana@example.com" in html
    assert "Declined" in html and "Agreed" in html
    assert "Every decision, including changed minds (3)" in html


# --- Rename -------------------------------------------------------------------------------


def test_rename(host_client, recording):
    response = host_client.post(action_url("rename", recording), {"title": "  Board   review "})

    assert response.status_code == 302
    recording.refresh_from_db()
    assert recording.title == "Board review"


@pytest.mark.parametrize(
    ("title", "error"),
    [("", "Give the recording a title."), ("   ", "Give the recording a title."), ("x" * 201, "")],
)
def test_rename_refuses_empty_or_long_titles(host_client, recording, title, error):
    before = recording.title

    response = host_client.post(action_url("rename", recording), {"title": title})

    assert response.status_code == 400
    assert error in response.content.decode()
    assert 'class="errors"' in response.content.decode()
    recording.refresh_from_db()
    assert recording.title == before


# --- Retention ------------------------------------------------------------------------------


def test_shortening_retention_moves_the_expiry(host_client, recording):
    response = host_client.post(action_url("retention", recording), {"days": "3"})

    assert response.status_code == 302
    recording.refresh_from_db()
    assert recording.retention_days == 3
    assert recording.expires_at == recording.stopped_at + timedelta(days=3)


def test_retention_at_the_current_limit_is_accepted(recording):
    library.set_retention(recording=recording, days=30)

    recording.refresh_from_db()
    assert recording.expires_at == recording.stopped_at + timedelta(days=30)


@pytest.mark.parametrize(
    ("days", "error"),
    [
        ("0", "at least 1 day"),
        ("-4", "at least 1 day"),
        ("31", "You can only shorten the retention: at most 30 days."),
        ("abc", "Enter a whole number of days."),
        ("", "Enter a number of days."),
    ],
)
def test_retention_only_shortens(host_client, recording, days, error):
    response = host_client.post(action_url("retention", recording), {"days": days})

    assert response.status_code == 400
    assert error in response.content.decode()
    recording.refresh_from_db()
    assert recording.retention_days == 30


def test_once_shortened_retention_cannot_grow_back(recording):
    library.set_retention(recording=recording, days=5)

    with pytest.raises(LibraryError, match="at most 5 days"):
        library.set_retention(recording=recording, days=6)


def test_retention_of_a_running_recording_counts_from_its_start(db):
    running = RecordingFactory(
        state=Recording.State.RECORDING, stopped_at=None, expires_at=None, files=False
    )

    library.set_retention(recording=running, days=2)

    running.refresh_from_db()
    assert running.expires_at == running.started_at + timedelta(days=2)


def test_retention_that_would_already_have_passed_is_refused(recording):
    with time_machine.travel(recording.stopped_at + timedelta(days=4)):
        with pytest.raises(LibraryError, match="already have expired"):
            library.set_retention(recording=recording, days=3)
        library.set_retention(recording=recording, days=5)

    recording.refresh_from_db()
    assert recording.retention_days == 5


def test_retention_of_a_trashed_recording_is_refused(recording):
    library.trash(recording=recording)

    with pytest.raises(LibraryError, match="Restore it first"):
        library.set_retention(recording=recording, days=1)


# --- Quality assurance choice --------------------------------------------------------------


def test_qa_use_is_on_by_default_and_the_host_can_turn_it_off_and_on(host_client, recording):
    assert recording.qa_use_allowed and recording.qa_use_changed_at is None

    host_client.post(action_url("qa_use", recording), {})  # unchecked box: off
    recording.refresh_from_db()
    assert recording.qa_use_allowed is False
    assert recording.qa_use_changed_at is not None

    host_client.post(action_url("qa_use", recording), {"allowed": "on"})
    recording.refresh_from_db()
    assert recording.qa_use_allowed is True


# --- Trash, restore, delete forever ------------------------------------------------------------


def test_delete_moves_to_the_trash_and_restore_brings_it_back(host_client, recording):
    response = host_client.post(action_url("trash", recording))

    assert response.status_code == 302
    recording.refresh_from_db()
    assert recording.trashed_at is not None
    html = host_client.get(reverse("recordings:library")).content.decode()
    trash_section = html[html.index('id="trash"') :]
    assert recording.title in trash_section
    assert action_url("restore", recording) in trash_section
    assert action_url("delete_forever", recording) in trash_section

    host_client.post(action_url("restore", recording))

    recording.refresh_from_db()
    assert recording.trashed_at is None
    assert storage.composed_path(recording).exists()


def test_trashing_twice_says_so(host_client, recording):
    host_client.post(action_url("trash", recording))

    response = host_client.post(action_url("trash", recording), follow=True)

    assert "already in the trash" in response.content.decode()


def test_a_running_recording_cannot_be_trashed(db):
    running = RecordingFactory(state=Recording.State.RECORDING, stopped_at=None, files=False)

    with pytest.raises(LibraryError, match="still running"):
        library.trash(recording=running)


def test_restore_only_from_the_trash(recording):
    with pytest.raises(LibraryError, match="not in the trash"):
        library.restore(recording=recording)


def test_restore_is_possible_within_the_trash_days_only(recording, settings):
    library.trash(recording=recording)
    assert recording.trashed_at is not None

    later = recording.trashed_at + timedelta(days=settings.RECORDINGS_TRASH_DAYS, seconds=1)
    with pytest.raises(LibraryError, match="too long"):
        library.restore(recording=recording, now=later)

    library.restore(recording=recording, now=later - timedelta(seconds=2))
    recording.refresh_from_db()
    assert recording.trashed_at is None


def test_an_expired_recording_cannot_be_restored(recording):
    assert recording.expires_at is not None
    with time_machine.travel(recording.expires_at + timedelta(hours=1)):
        library.trash(recording=recording)  # what the expiry sweep does

        with pytest.raises(LibraryError, match="end of its retention period"):
            library.restore(recording=recording)


def test_delete_forever_removes_files_and_row(
    host_client, recording, django_capture_on_commit_callbacks
):
    library.trash(recording=recording)
    directory = storage.directory(recording)
    assert directory.exists()

    with django_capture_on_commit_callbacks(execute=True):
        response = host_client.post(action_url("delete_forever", recording))

    assert response.status_code == 302
    assert not Recording.objects.filter(pk=recording.pk).exists()
    assert not directory.exists()


def test_delete_forever_needs_the_trash_first(host_client, recording):
    response = host_client.post(action_url("delete_forever", recording), follow=True)

    assert "Move the recording to the trash before deleting it for good." in (
        response.content.decode()
    )
    assert Recording.objects.filter(pk=recording.pk).exists()
    assert storage.composed_path(recording).exists()


def test_a_trashed_recording_page_offers_restore_and_hides_sharing(host_client, recording):
    library.trash(recording=recording)

    html = host_client.get(detail_url(recording)).content.decode()

    assert "This recording is in the trash." in html
    assert action_url("share_create", recording) not in html
    assert action_url("restore", recording) in html


# --- Retry ----------------------------------------------------------------------------------


def test_retry_a_failed_recording(client, db, django_capture_on_commit_callbacks):
    broken = failed()
    client.force_login(broken.host)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(action_url("retry", broken), {"next": "library"})

    assert response.status_code == 302
    assert response["Location"] == reverse("recordings:library")
    broken.refresh_from_db()
    assert broken.state == Recording.State.PROCESSING
    assert broken.failure_reason == ""
    assert len(callbacks) == 1  # processing is enqueued once the move commits


def test_retry_of_a_ready_recording_is_refused_with_a_message(host_client, recording):
    response = host_client.post(action_url("retry", recording), follow=True)

    assert response.status_code == 200
    assert "Only a failed recording can be processed again." in response.content.decode()
    recording.refresh_from_db()
    assert recording.state == Recording.State.READY
