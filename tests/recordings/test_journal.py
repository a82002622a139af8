"""The journal is the one contract between the media server and processing: what the
writer appends, the reader reads back, even when the writer died mid-line."""

from __future__ import annotations

from pathlib import Path

from recordings.journal import JOURNAL, JournalWriter, read_journal


def test_what_the_writer_appends_the_reader_reads_back(tmp_path: Path) -> None:
    writer = JournalWriter(tmp_path)
    writer.started(recording="rec-1", at=100.0)
    writer.track(
        file="001-ada-camera.webm",
        peer_id="ada",
        kind="video",
        source="camera",
        codec="vp8",
        started_at=100.5,
    )
    writer.track_end(file="001-ada-camera.webm", ended_at=104.0, frames=90, bytes_written=9000)
    writer.stopped(at=105.0, reason="stopped")
    writer.close()

    journal = read_journal(tmp_path)

    assert journal.recording == "rec-1"
    assert journal.complete
    assert (journal.started_at, journal.stopped_at, journal.stop_reason) == (
        100.0,
        105.0,
        "stopped",
    )
    (track,) = journal.tracks
    assert (track.peer_id, track.kind, track.source, track.codec) == (
        "ada",
        "video",
        "camera",
        "vp8",
    )
    assert (track.started_at, track.ended_at, track.frames) == (100.5, 104.0, 90)


def test_a_writer_that_died_mid_line_leaves_a_readable_incomplete_journal(
    tmp_path: Path,
) -> None:
    writer = JournalWriter(tmp_path)
    writer.started(recording="rec-2", at=100.0)
    writer.close()
    with (tmp_path / JOURNAL).open("a", encoding="utf-8") as torn:
        torn.write('{"event": "track", "file": "00')

    journal = read_journal(tmp_path)

    assert journal.started_at == 100.0
    assert not journal.complete
    assert journal.tracks == []


def test_no_journal_reads_as_empty(tmp_path: Path) -> None:
    assert read_journal(tmp_path).started_at is None
