"""Share links: how a host lets someone watch, and when the link stops working."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.hashers import check_password
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from recordings import library, selectors
from recordings.library import LibraryError
from recordings.models import Recording, ShareLink
from tests.factories import UserFactory
from tests.recordings.factories import MEDIA_BYTES, RecordingFactory, processing, streamed_body


@pytest.fixture(autouse=True)
def _recordings_root(settings, tmp_path):
    settings.RECORDINGS_ROOT = tmp_path / "recordings"


@pytest.fixture
def recording(db):
    return RecordingFactory()


@pytest.fixture
def host_client(recording):
    client = Client()
    client.force_login(recording.host)
    return client


def share(recording: Recording, **fields) -> ShareLink:
    values = {"expires_in_days": 7, "passcode": "", "allow_download": False} | fields
    return library.create_share_link(recording=recording, by=recording.host, **values)


def page(link: ShareLink) -> str:
    return reverse("recordings:shared", args=[link.token])


def media(link: ShareLink) -> str:
    return reverse("recordings:shared_media", args=[link.token])


def body(response) -> bytes:
    return streamed_body(response)


# --- Creating and revoking ----------------------------------------------------------------


def test_the_host_creates_a_link_with_a_hashed_passcode(host_client, recording):
    response = host_client.post(
        reverse("recordings:share_create", args=[recording.public_id]),
        {"expires_in_days": "10", "passcode": "tulip-42", "allow_download": "on"},
    )

    assert response.status_code == 302
    link = recording.share_links.get()
    assert link.created_by == recording.host
    assert link.allow_download
    assert link.passcode_hash != "tulip-42"
    assert check_password("tulip-42", link.passcode_hash)
    assert abs(link.expires_at - (timezone.now() + timedelta(days=10))) < timedelta(minutes=1)
    html = host_client.get(reverse("recordings:detail", args=[recording.public_id])).content
    assert link.token in html.decode()


def test_a_link_never_outlives_the_recording(recording):
    recording.expires_at = timezone.now() + timedelta(days=2)
    recording.save()

    link = share(recording, expires_in_days=30)

    assert link.expires_at == recording.expires_at


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"expires_in_days": "0"}, "Choose between 1 and 30 days."),
        ({"expires_in_days": "31"}, "Choose between 1 and 30 days."),
        ({"expires_in_days": "soon"}, "Enter a whole number of days."),
        ({"expires_in_days": "7", "passcode": "abc"}, "Use a passcode of 4 to 32 characters"),
        ({"expires_in_days": "7", "passcode": "x" * 33}, "Use at most 32 characters."),
    ],
)
def test_bad_link_settings_are_form_errors(host_client, recording, fields, error):
    response = host_client.post(
        reverse("recordings:share_create", args=[recording.public_id]), fields
    )

    assert response.status_code == 400
    assert error in response.content.decode()
    assert not recording.share_links.exists()


@pytest.mark.parametrize("days", [1, 30])
def test_the_edges_of_the_expiry_are_accepted(recording, days):
    link = share(recording, expires_in_days=days)

    assert link.expires_at > timezone.now() + timedelta(days=days - 1)


@pytest.mark.parametrize("passcode", ["abcd", "x" * 32])
def test_the_edges_of_the_passcode_are_accepted(recording, passcode):
    assert share(recording, passcode=passcode).has_passcode


def test_only_ready_recordings_are_shared(db):
    busy = processing()

    with pytest.raises(LibraryError, match="Only a ready recording"):
        share(busy)


def test_a_trashed_recording_is_not_shared(recording):
    library.trash(recording=recording)

    with pytest.raises(LibraryError, match="Only a ready recording"):
        share(recording)


def test_the_host_revokes_a_link(host_client, recording):
    link = share(recording)

    response = host_client.post(
        reverse("recordings:share_revoke", args=[recording.public_id, link.pk])
    )

    assert response.status_code == 302
    link.refresh_from_db()
    assert link.revoked_at is not None


def test_a_link_of_another_recording_cannot_be_revoked_through_mine(host_client, recording):
    foreign = share(RecordingFactory())

    response = host_client.post(
        reverse("recordings:share_revoke", args=[recording.public_id, foreign.pk])
    )

    assert response.status_code == 404
    foreign.refresh_from_db()
    assert foreign.revoked_at is None


# --- Watching through a link --------------------------------------------------------------------


def test_anyone_with_the_link_watches_and_the_view_is_counted(client, recording):
    link = share(recording)

    response = client.get(page(link))
    played = client.get(media(link), HTTP_RANGE="bytes=0-99")

    assert response.status_code == 200
    html = response.content.decode()
    assert recording.title in html
    assert f'src="{media(link)}"' in html
    assert "Download" not in html
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    assert played.status_code == 206
    assert body(played) == MEDIA_BYTES[:100]
    link.refresh_from_db()
    assert link.views == 1 and link.last_viewed_at is not None


def test_a_signed_in_stranger_sees_it_through_the_link_too(recording):
    link = share(recording)
    stranger = Client()
    stranger.force_login(UserFactory())

    assert stranger.get(page(link)).status_code == 200
    assert stranger.get(media(link)).status_code == 200


def test_download_only_when_the_link_allows_it(client, recording):
    watch_only = share(recording)
    downloadable = share(recording, allow_download=True)

    refused = client.get(media(watch_only) + "?download=1")
    allowed = client.get(media(downloadable) + "?download=1")

    assert refused.status_code == 403
    assert allowed.status_code == 200
    assert allowed["Content-Disposition"].startswith("attachment;")
    assert (
        f'href="{media(downloadable)}?download=1"'
        in client.get(page(downloadable)).content.decode()
    )


def test_an_unknown_token_is_404(client, db):
    response = client.get(reverse("recordings:shared", args=["no-such-token"]))

    assert response.status_code == 404
    assert "doesn&#x27;t lead to a recording" in response.content.decode()
    assert client.get(reverse("recordings:shared_media", args=["nope"])).status_code == 404


def test_an_expired_link_is_410(client, recording):
    link = share(recording, expires_in_days=3)

    with time_machine.travel(timezone.now() + timedelta(days=3, minutes=-1)):
        assert client.get(page(link)).status_code == 200
    with time_machine.travel(timezone.now() + timedelta(days=3, minutes=1)):
        response = client.get(page(link))
        played = client.get(media(link))

    assert response.status_code == 410
    assert "This link has expired" in response.content.decode()
    assert played.status_code == 410


def test_a_revoked_link_is_410(client, recording):
    link = share(recording)
    library.revoke_share_link(link=link)

    response = client.get(page(link))

    assert response.status_code == 410
    assert "turned off by the person who shared it" in response.content.decode()
    assert client.get(media(link)).status_code == 410


def test_a_trashed_recording_stops_its_links(client, recording):
    link = share(recording)
    library.trash(recording=recording)

    response = client.get(page(link))

    assert response.status_code == 410
    assert "no longer available" in response.content.decode()
    assert client.get(media(link)).status_code == 410
    library.restore(recording=recording)
    assert client.get(page(link)).status_code == 200


def test_a_link_stops_when_the_recording_expires_even_before_the_sweep(client, recording):
    link = share(recording, expires_in_days=30)
    assert recording.expires_at is not None

    with time_machine.travel(recording.expires_at + timedelta(minutes=1)):
        assert selectors.share_link_by_token(token=link.token) is None
        assert client.get(page(link)).status_code == 410


# --- Passcodes ----------------------------------------------------------------------------------


def test_a_passcode_is_asked_first_and_remembered(client, recording):
    link = share(recording, passcode="tulip-42")

    asked = client.get(page(link))
    locked_media = client.get(media(link))
    wrong = client.post(page(link), {"passcode": "rose-1"})
    right = client.post(page(link), {"passcode": "tulip-42"})
    shown = client.get(page(link))

    assert asked.status_code == 200
    assert "Enter the passcode" in asked.content.decode()
    assert "<video" not in asked.content.decode()
    assert locked_media.status_code == 403
    assert wrong.status_code == 400
    assert "That passcode is not right." in wrong.content.decode()
    assert right.status_code == 302 and right["Location"] == page(link)
    assert shown.status_code == 200 and "<video" in shown.content.decode()
    assert client.get(media(link)).status_code == 200
    link.refresh_from_db()
    assert link.views == 1  # the passcode form is not a view


def test_an_empty_passcode_is_a_form_error(client, recording):
    link = share(recording, passcode="tulip-42")

    response = client.post(page(link), {"passcode": ""})

    assert response.status_code == 400
    assert "Enter the passcode." in response.content.decode()


def test_unlocking_one_link_does_not_unlock_another(client, recording):
    first = share(recording, passcode="tulip-42")
    second = share(recording, passcode="tulip-42")

    client.post(page(first), {"passcode": "tulip-42"})

    assert "Enter the passcode" in client.get(page(second)).content.decode()


def test_wrong_passcodes_are_rate_limited(client, recording):
    link = share(recording, passcode="tulip-42")
    for _ in range(5):
        assert client.post(page(link), {"passcode": "wrong"}).status_code == 400

    locked = client.post(page(link), {"passcode": "tulip-42"})

    assert locked.status_code == 429
    assert "Too many wrong passcodes" in locked.content.decode()
    assert int(locked["Retry-After"]) > 0
    with time_machine.travel(timezone.now() + timedelta(minutes=25)):
        assert client.post(page(link), {"passcode": "tulip-42"}).status_code == 302


def test_right_passcodes_do_not_count_towards_the_limit(recording):
    link = share(recording, passcode="tulip-42")

    for _ in range(8):
        visitor = Client()
        assert visitor.post(page(link), {"passcode": "tulip-42"}).status_code == 302
