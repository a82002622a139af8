"""Composing a recording's tracks into one MP4: timing, gallery, mix, and failure modes."""

from __future__ import annotations

import fractions
import itertools
import logging
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import pytest

from recordings.compose import (
    CompositionError,
    MediaInfo,
    compose,
    make_thumbnail,
    probe,
    recorded_span,
    verify,
)
from recordings.compose.layout import Rect, fit, grid
from recordings.journal import Journal, read_journal

from .tracks import (
    BLUE,
    GREEN,
    RED,
    START,
    VIDEO_CLOCK,
    Encoding,
    Participant,
    drop_from_journal,
    vp8_frames,
    write_journal,
    write_recording,
    write_track,
)

ALICE = Participant("alice", RED, 440.0)
BOB = Participant("bob", BLUE, 1000.0)
# Where tiles fall in 1280x720: one 4:3 tile fills the middle; two sit side by side.
ALONE, LEFT_OF_TWO, RIGHT_OF_TWO = (640, 360), (320, 360), (960, 360)


@dataclass
class Composed:
    directory: Path
    output: Path
    journal: Journal
    info: MediaInfo
    progress: list[float]


def record_and_compose(
    directory: Path, participants: list[Participant], *, seconds: float = 5.0, died: bool = False
) -> Composed:
    write_recording(directory / "tracks", participants, seconds=seconds, died=died)
    return compose_again(directory)


def compose_again(directory: Path) -> Composed:
    journal = read_journal(directory / "tracks")
    progress: list[float] = []
    output = directory / "composed.mp4"
    info = compose(journal, directory / "tracks", output, on_progress=progress.append)
    return Composed(directory, output, journal, info, progress)


def frames_at(path: Path, *seconds: float) -> list[np.ndarray]:
    """The decoded pictures showing at each of ``seconds`` (ascending), as RGB arrays."""
    pictures: list[np.ndarray] = []
    shown = None
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            while len(pictures) < len(seconds) and frame.time > seconds[len(pictures)] + 1e-6:
                assert shown is not None
                pictures.append(shown.to_ndarray(format="rgb24"))
            if len(pictures) == len(seconds):
                break
            shown = frame
    assert shown is not None
    pictures += [shown.to_ndarray(format="rgb24")] * (len(seconds) - len(pictures))
    return pictures


def frame_at(path: Path, seconds: float) -> np.ndarray:
    return frames_at(path, seconds)[0]


def mono_audio(path: Path) -> np.ndarray:
    """The whole audio track at 48 kHz, channels averaged, placed by timestamps."""
    with av.open(str(path)) as container:
        chunks = [(f.pts or 0, f.to_ndarray().mean(axis=0)) for f in container.decode(audio=0)]
    total = max(pts + len(samples) for pts, samples in chunks)
    audio = np.zeros(total, np.float32)
    for pts, samples in chunks:
        if pts >= 0:
            audio[pts : pts + len(samples)] = samples
    return audio


def tone_level(audio: np.ndarray, hz: float, start: float, end: float) -> float:
    """Amplitude of the ``hz`` component over [start, end) seconds (a sine of amplitude a
    gives about a)."""
    window = audio[round(start * 48_000) : round(end * 48_000)]
    weights = np.hanning(len(window))
    spectrum = np.abs(np.fft.rfft(window * weights))
    bin_ = round(hz * len(window) / 48_000)
    return float(spectrum[bin_ - 2 : bin_ + 3].max() * 2 / weights.sum())


def close_to(pixel: np.ndarray, rgb: tuple[int, int, int], tolerance: int = 40) -> bool:
    return bool(np.all(np.abs(pixel.astype(int) - rgb) <= tolerance))


@pytest.fixture(scope="module")
def late_joiner(tmp_path_factory: pytest.TempPathFactory) -> Composed:
    """Alice from the start, Bob from 2.5 s, 5 s in all."""
    directory = tmp_path_factory.mktemp("late-joiner")
    return record_and_compose(directory, [ALICE, Participant("bob", BLUE, 1000.0, joins=2.5)])


def test_two_participants_compose_to_a_file_of_the_recorded_length(late_joiner: Composed) -> None:
    info = late_joiner.info

    assert info.has_audio and info.has_video
    assert (info.width, info.height) == (1280, 720)
    assert info.duration == pytest.approx(5.0, abs=0.1)
    assert info.size_bytes == late_joiner.output.stat().st_size
    assert verify(late_joiner.output, 5.0) == info
    assert recorded_span(late_joiner.journal) == (START, START + 5.0)


def test_progress_rises_by_about_one_percent_and_ends_at_one(late_joiner: Composed) -> None:
    progress = late_joiner.progress

    assert progress[-1] == 1.0
    assert all(a < b for a, b in itertools.pairwise(progress))
    assert 50 <= len(progress) <= 101


def test_the_file_starts_with_its_index_so_browsers_play_while_downloading(
    late_joiner: Composed,
) -> None:
    head = late_joiner.output.read_bytes()

    assert head.index(b"moov") < head.index(b"mdat")


def test_a_late_joiner_is_seen_and_heard_only_from_their_join_time(late_joiner: Composed) -> None:
    before, after = frames_at(late_joiner.output, 2.0, 3.5)
    audio = mono_audio(late_joiner.output)

    assert close_to(before[ALONE[1], ALONE[0]], RED)  # one tile, in the middle
    assert not close_to(before[RIGHT_OF_TWO[1], RIGHT_OF_TWO[0]], BLUE)
    assert close_to(after[LEFT_OF_TWO[1], LEFT_OF_TWO[0]], RED)
    assert close_to(after[RIGHT_OF_TWO[1], RIGHT_OF_TWO[0]], BLUE)
    assert tone_level(audio, BOB.tone_hz, 0.5, 2.4) < 0.01
    assert tone_level(audio, BOB.tone_hz, 2.7, 4.8) > 0.15
    assert tone_level(audio, ALICE.tone_hz, 0.5, 2.4) > 0.15
    assert tone_level(audio, ALICE.tone_hz, 2.7, 4.8) > 0.15


def test_a_participant_missing_from_the_journal_is_neither_seen_nor_heard(tmp_path: Path) -> None:
    write_recording(tmp_path / "tracks", [ALICE, BOB], seconds=4.0)
    drop_from_journal(tmp_path / "tracks", "bob")  # declined: the composer must not go looking

    composed = compose_again(tmp_path)

    audio = mono_audio(composed.output)
    assert tone_level(audio, ALICE.tone_hz, 0.5, 3.5) > 0.15
    assert tone_level(audio, BOB.tone_hz, 0.5, 3.5) < 0.01
    picture = frame_at(composed.output, 2.0)
    assert close_to(picture[ALONE[1], ALONE[0]], RED)
    assert not np.any(np.all(np.abs(picture.astype(int) - BLUE) < 40, axis=2))


def test_a_pause_in_a_track_is_silence_where_its_timestamps_say(tmp_path: Path) -> None:
    paused = Participant("alice", RED, 440.0, pauses=((1.5, 3.0),))

    composed = record_and_compose(tmp_path, [paused])

    audio = mono_audio(composed.output)
    assert tone_level(audio, 440.0, 0.3, 1.4) > 0.15
    assert tone_level(audio, 440.0, 1.7, 2.8) < 0.01
    assert tone_level(audio, 440.0, 3.2, 4.9) > 0.15  # not pulled forward into the gap


def test_someone_who_rejoins_gets_their_tile_back(tmp_path: Path) -> None:
    first_visit = Participant("alice", RED, 440.0, leaves=2.0)
    second_visit = Participant("alice", RED, 440.0, joins=3.5)
    bob = Participant("bob", BLUE, 1000.0, joins=1.0)

    composed = record_and_compose(tmp_path, [first_visit, bob, second_visit])

    between_visits, back = frames_at(composed.output, 3.2, 4.5)
    assert close_to(between_visits[ALONE[1], ALONE[0]], BLUE)  # Bob alone
    assert close_to(back[LEFT_OF_TWO[1], LEFT_OF_TWO[0]], RED)
    assert close_to(back[RIGHT_OF_TWO[1], RIGHT_OF_TWO[0]], BLUE)


def test_a_camera_that_changes_resolution_keeps_its_tile_letterboxed_anew(
    tmp_path: Path,
) -> None:
    four_by_three = vp8_frames(ALICE, Encoding(width=160, height=120), 30)
    sixteen_by_nine = vp8_frames(ALICE, Encoding(width=320, height=180), 30)  # a new keyframe
    packets = [(i / 15, data) for i, data in enumerate(four_by_three + sixteen_by_nine)]
    tracks = tmp_path / "tracks"
    tracks.mkdir()
    write_track(tracks / "001-alice-camera.webm", "video", "video/VP8", iter(packets), VIDEO_CLOCK)
    write_journal(
        tracks,
        [
            {"event": "started", "recording": "r", "at": START},
            {
                "event": "track",
                "file": "001-alice-camera.webm",
                "peer_id": "alice",
                "kind": "video",
                "source": "camera",
                "codec": "vp8",
                "started_at": START,
            },
            {"event": "stopped", "at": START + 4.0, "reason": "stopped"},
        ],
    )

    composed = compose_again(tmp_path)

    pillarboxed, full = frames_at(composed.output, 1.0, 3.0)
    assert close_to(pillarboxed[360, 100], (0, 0, 0)) and close_to(pillarboxed[360, 200], RED)
    assert close_to(full[360, 100], RED)


def test_audio_only_recording_has_black_video(tmp_path: Path) -> None:
    composed = record_and_compose(tmp_path, [Participant("alice", RED, 440.0, video=False)])

    assert composed.info.has_video and composed.info.duration == pytest.approx(5.0, abs=0.1)
    assert frame_at(composed.output, 2.5).max() < 20
    assert tone_level(mono_audio(composed.output), 440.0, 0.5, 4.5) > 0.15


def test_video_only_recording_has_silent_audio(tmp_path: Path) -> None:
    composed = record_and_compose(tmp_path, [Participant("alice", RED, 440.0, audio=False)])

    assert composed.info.has_audio and composed.info.duration == pytest.approx(5.0, abs=0.1)
    assert np.abs(mono_audio(composed.output)).max() < 1e-3
    assert close_to(frame_at(composed.output, 2.5)[ALONE[1], ALONE[0]], RED)


def test_a_died_media_process_composes_up_to_its_last_written_frame(tmp_path: Path) -> None:
    composed = record_and_compose(tmp_path, [ALICE, BOB], seconds=5.0, died=True)

    assert composed.journal.stopped_at is None
    start, end = recorded_span(composed.journal, tracks_dir=tmp_path / "tracks")
    assert start == START and START + 1.0 < end <= START + 5.1
    verify(composed.output, end - start)
    assert composed.info.duration == pytest.approx(end - start, abs=0.1)


def test_a_media_process_that_died_before_flushing_anything_is_refused_cleanly(
    tmp_path: Path,
) -> None:
    write_recording(tmp_path / "tracks", [ALICE, BOB], seconds=3.0, died=True, flushed_only=True)

    with pytest.raises(CompositionError, match="Nothing was recorded"):
        compose_again(tmp_path)

    assert not (tmp_path / "composed.mp4").exists()


def test_without_a_stopped_line_the_span_ends_with_the_last_closed_track(tmp_path: Path) -> None:
    write_recording(tmp_path, [ALICE, Participant("bob", BLUE, 1000.0, leaves=3.0)], seconds=4.0)
    lines = (tmp_path / "journal.jsonl").read_text().splitlines()
    (tmp_path / "journal.jsonl").write_text("\n".join(lines[:-1]) + "\n")

    assert recorded_span(read_journal(tmp_path)) == (START, START + 4.0)


def test_truncated_empty_and_garbage_track_files_are_skipped_not_fatal(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    carol = Participant("carol", GREEN, 1500.0)
    write_recording(tmp_path / "tracks", [ALICE, BOB, carol], seconds=5.0)
    files = {p.name: p for p in (tmp_path / "tracks").glob("*.webm")}
    for name in ("001-alice-camera.webm", "002-alice-mic.webm"):
        data = files[name].read_bytes()
        files[name].write_bytes(data[: len(data) * 6 // 10])  # cut mid-block
    files["003-bob-camera.webm"].write_bytes(b"")
    files["004-bob-mic.webm"].write_bytes(b"\x1a\x45\xdf\xa3 not really webm" * 10)

    with caplog.at_level(logging.WARNING, logger="recordings.compose"):
        composed = compose_again(tmp_path)

    assert composed.info.duration == pytest.approx(5.0, abs=0.1)
    verify(composed.output, 5.0)
    warned = " ".join(r.getMessage() for r in caplog.records)
    assert "003-bob-camera.webm" in warned and "004-bob-mic.webm" in warned
    audio = mono_audio(composed.output)
    assert tone_level(audio, ALICE.tone_hz, 0.3, 2.0) > 0.15  # the part that was written
    assert tone_level(audio, carol.tone_hz, 0.5, 4.5) > 0.15


def test_a_rerun_overwrites_and_leaves_no_temp_files(late_joiner: Composed, tmp_path: Path) -> None:
    output = tmp_path / "composed.mp4"
    tracks = late_joiner.directory / "tracks"

    compose(late_joiner.journal, tracks, output)
    compose(late_joiner.journal, tracks, output)

    assert [p.name for p in tmp_path.iterdir()] == ["composed.mp4"]
    verify(output, 5.0)


def test_a_crash_midway_leaves_nothing_under_the_output_name(
    late_joiner: Composed, tmp_path: Path
) -> None:
    def crash(fraction: float) -> None:
        if fraction > 0.5:
            raise RuntimeError("worker lost")

    with pytest.raises(RuntimeError, match="worker lost"):
        compose(
            late_joiner.journal,
            late_joiner.directory / "tracks",
            tmp_path / "out.mp4",
            on_progress=crash,
        )

    assert list(tmp_path.iterdir()) == []


def test_a_crash_on_a_rerun_keeps_the_previous_file(late_joiner: Composed, tmp_path: Path) -> None:
    output = tmp_path / "composed.mp4"
    output.write_bytes(b"the previous composition")

    def crash(fraction: float) -> None:
        raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        compose(late_joiner.journal, late_joiner.directory / "tracks", output, on_progress=crash)

    assert output.read_bytes() == b"the previous composition"
    assert [p.name for p in tmp_path.iterdir()] == ["composed.mp4"]


def video_without_audio(path: Path) -> Path:
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for index in range(20):
            frame = av.VideoFrame(64, 48, "yuv420p")
            frame.pts, frame.time_base = index, fractions.Fraction(1, 10)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def test_verify_rejects_short_silent_and_non_media_files(
    late_joiner: Composed, tmp_path: Path
) -> None:
    not_media = tmp_path / "notes.mp4"
    not_media.write_bytes(b"this is not a video, just some words " * 50)

    with pytest.raises(CompositionError, match=r"lasts 5\.0 s instead of 10\.0 s"):
        verify(late_joiner.output, 10.0)
    with pytest.raises(CompositionError, match="no audio"):
        verify(video_without_audio(tmp_path / "silent.mp4"), 2.0)
    with pytest.raises(CompositionError, match="cannot be opened"):
        verify(not_media, 1.0)
    with pytest.raises(CompositionError):
        probe(tmp_path / "missing.mp4")


def test_the_thumbnail_is_a_small_jpeg_of_the_recording(
    late_joiner: Composed, tmp_path: Path
) -> None:
    thumbnail = tmp_path / "thumbnail.jpg"

    make_thumbnail(late_joiner.output, thumbnail)

    assert thumbnail.read_bytes()[:2] == b"\xff\xd8"
    with av.open(str(thumbnail)) as container:
        picture = next(container.decode(video=0))
    assert (picture.width, picture.height) == (320, 180)
    rgb = picture.to_ndarray(format="rgb24")
    assert close_to(rgb[90, 160], RED)  # at 10%: Alice alone
    assert [p.name for p in tmp_path.iterdir()] == ["thumbnail.jpg"]


def test_a_journal_without_a_usable_span_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CompositionError, match="no start"):
        recorded_span(read_journal(tmp_path))  # no journal at all
    write_journal(tmp_path, [{"event": "started", "recording": "r", "at": START}])
    with pytest.raises(CompositionError, match="Nothing was recorded"):
        recorded_span(read_journal(tmp_path))


@pytest.mark.parametrize("count", range(1, 11))
def test_the_grid_fits_every_tile_inside_the_picture_without_overlap(count: int) -> None:
    cells = grid(count, 1280, 720)

    assert len(cells) == count
    covered = np.zeros((720, 1280), np.uint8)
    for cell in cells:
        assert cell.x >= 0 and cell.y >= 0
        assert cell.x + cell.width <= 1280 and cell.y + cell.height <= 720
        assert all(value % 2 == 0 for value in (cell.x, cell.y, cell.width, cell.height))
        covered[cell.y : cell.y + cell.height, cell.x : cell.x + cell.width] += 1
    assert covered.max() == 1


def test_a_picture_is_letterboxed_in_its_cell() -> None:
    cell = Rect(640, 0, 640, 720)

    assert fit(640, 480, cell) == Rect(640, 120, 640, 480)
    assert fit(480, 640, cell) == Rect(690, 0, 540, 720)
