"""The media views speak HTTP ranges the way a <video> element expects."""

import pytest
from django.urls import reverse

from recordings import media, storage
from recordings.models import Recording
from tests.recordings.factories import MEDIA_BYTES, RecordingFactory, processing, streamed_body

SIZE = len(MEDIA_BYTES)


@pytest.fixture(autouse=True)
def _recordings_root(settings, tmp_path):
    settings.RECORDINGS_ROOT = tmp_path / "recordings"


@pytest.fixture
def recording(db):
    return RecordingFactory(title="Weekly sync: Q3/Q4 plans")


@pytest.fixture
def host_client(client, recording):
    client.force_login(recording.host)
    return client


def url(recording: Recording) -> str:
    return reverse("recordings:media", args=[recording.public_id])


def body(response) -> bytes:
    return streamed_body(response)


# --- parse_range ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-99", (0, 99)),
        ("bytes=100-", (100, SIZE - 1)),
        ("bytes=-100", (SIZE - 100, SIZE - 1)),
        ("bytes=-99999", (0, SIZE - 1)),  # a suffix longer than the file is the whole file
        ("bytes=9990-20000", (9990, SIZE - 1)),  # an end past the file is clamped
        ("bytes=0-0", (0, 0)),
        (f"bytes={SIZE - 1}-", (SIZE - 1, SIZE - 1)),
    ],
)
def test_single_ranges_are_understood(header, expected):
    byte_range = media.parse_range(header, SIZE)

    assert byte_range is not None
    assert (byte_range.start, byte_range.end) == expected


@pytest.mark.parametrize(
    "header", ["bytes=0-1,5-6", "items=0-5", "bytes=abc", "bytes=-", "bytes=9-3", "0-5"]
)
def test_several_or_malformed_ranges_are_ignored(header):
    assert media.parse_range(header, SIZE) is None


@pytest.mark.parametrize("header", [f"bytes={SIZE}-", f"bytes={SIZE + 5}-{SIZE + 10}", "bytes=-0"])
def test_ranges_outside_the_file_are_unsatisfiable(header):
    with pytest.raises(media.Unsatisfiable):
        media.parse_range(header, SIZE)


def test_any_range_of_an_empty_file_is_unsatisfiable():
    with pytest.raises(media.Unsatisfiable):
        media.parse_range("bytes=0-", 0)


# --- The host's media view -------------------------------------------------------------


def test_the_whole_file_without_a_range(host_client, recording):
    response = host_client.get(url(recording))

    assert response.status_code == 200
    # Streamed in blocks, asynchronously: under ASGI Django would read a synchronous
    # iterator whole into memory first.
    assert response.streaming and response.is_async
    assert body(response) == MEDIA_BYTES
    assert response["Content-Length"] == str(SIZE)
    assert response["Content-Type"] == "video/mp4"
    assert response["Accept-Ranges"] == "bytes"
    assert response["Cache-Control"].startswith("private")
    assert "attachment" not in response.get("Content-Disposition", "")


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-99", 0, 99),
        ("bytes=5000-", 5000, SIZE - 1),
        ("bytes=-250", SIZE - 250, SIZE - 1),
        ("bytes=9000-12000", 9000, SIZE - 1),
        ("bytes=1234-1234", 1234, 1234),
    ],
)
def test_a_range_gets_206_with_exactly_those_bytes(host_client, recording, header, start, end):
    response = host_client.get(url(recording), HTTP_RANGE=header)

    assert response.status_code == 206
    assert body(response) == MEDIA_BYTES[start : end + 1]
    assert response["Content-Range"] == f"bytes {start}-{end}/{SIZE}"
    assert response["Content-Length"] == str(end - start + 1)
    assert response["Accept-Ranges"] == "bytes"


def test_an_unsatisfiable_range_gets_416_with_the_size(host_client, recording):
    response = host_client.get(url(recording), HTTP_RANGE=f"bytes={SIZE}-")

    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{SIZE}"


def test_several_ranges_get_the_whole_file(host_client, recording):
    response = host_client.get(url(recording), HTTP_RANGE="bytes=0-1,5-6")

    assert response.status_code == 200
    assert body(response) == MEDIA_BYTES


def test_head_says_the_size_without_a_body(host_client, recording):
    response = host_client.head(url(recording))

    assert response.status_code == 200
    assert response.content == b""
    assert response["Content-Length"] == str(SIZE)
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Type"] == "video/mp4"


def test_head_of_a_range(host_client, recording):
    response = host_client.head(url(recording), HTTP_RANGE="bytes=10-19")

    assert response.status_code == 206
    assert response.content == b""
    assert response["Content-Range"] == f"bytes 10-19/{SIZE}"
    assert response["Content-Length"] == "10"


def test_if_range_with_a_stale_etag_gets_the_whole_file(host_client, recording):
    etag = host_client.head(url(recording))["ETag"]

    fresh = host_client.get(url(recording), HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE=etag)
    stale = host_client.get(url(recording), HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE='"old"')

    assert fresh.status_code == 206
    assert stale.status_code == 200
    assert body(stale) == MEDIA_BYTES


def test_a_cached_copy_is_revalidated_with_304(host_client, recording):
    etag = host_client.head(url(recording))["ETag"]

    response = host_client.get(url(recording), HTTP_IF_NONE_MATCH=etag)

    assert response.status_code == 304
    assert response.content == b""


def test_download_is_an_attachment_named_after_the_title(host_client, recording):
    response = host_client.get(url(recording) + "?download=1")

    assert response.status_code == 200
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert 'filename="Weekly sync  Q3 Q4 plans.mp4"' in disposition


def test_a_download_may_be_ranged_too(host_client, recording):
    response = host_client.get(url(recording) + "?download=1", HTTP_RANGE="bytes=100-199")

    assert response.status_code == 206
    assert body(response) == MEDIA_BYTES[100:200]
    assert response["Content-Disposition"].startswith("attachment;")


def test_a_recording_still_processing_has_no_media(client, db):
    recording = processing()
    client.force_login(recording.host)

    assert client.get(url(recording)).status_code == 404


def test_a_missing_file_is_404_not_500(host_client, recording):
    storage.composed_path(recording).unlink()

    assert host_client.get(url(recording)).status_code == 404


def test_a_real_mp4_is_served_as_it_is_on_disk(client, db):
    recording = RecordingFactory(files="real")
    client.force_login(recording.host)
    on_disk = storage.composed_path(recording).read_bytes()

    head = client.get(url(recording), HTTP_RANGE="bytes=0-11")
    whole = client.get(url(recording))

    assert body(head)[4:8] == b"ftyp"
    assert body(whole) == on_disk


def test_thumbnail_is_served_or_404(client, db):
    with_thumb = RecordingFactory(has_thumbnail=True)
    without = RecordingFactory(host=with_thumb.host)
    client.force_login(with_thumb.host)

    shown = client.get(reverse("recordings:thumbnail", args=[with_thumb.public_id]))
    missing = client.get(reverse("recordings:thumbnail", args=[without.public_id]))

    assert shown.status_code == 200
    assert shown["Content-Type"] == "image/jpeg"
    assert missing.status_code == 404
