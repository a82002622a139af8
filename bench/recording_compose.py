"""Composing a recording on one core: how much faster than real time, and at what memory.

The input is what the media server writes for a 10-minute meeting of three participants:
640x480 30 fps VP8 (~600 kbps, camera-like grain) and 20 ms Opus per participant, joining at
0 s, 5 s and 60 s, the third leaving at 400 s. It is synthesized once with
``tests.recordings.tracks`` (a 20 s clip per participant, its packets repeated) and cached
under var/bench/inputs/; delete that directory to rebuild it.

``recordings.compose.compose`` then runs once in a child process pinned to CPU 0
(``os.sched_setaffinity``), as a Celery worker with one core would: wall and CPU seconds
(``time.process_time``, all threads), speed = media seconds / wall seconds (and per CPU
second, which is what an idle core gives when other work shares CPU 0), and the child's
peak RSS (``resource.getrusage(RUSAGE_SELF).ru_maxrss``: the whole child, imports included;
its value just before composing is reported too). Table row: the wall time of each 1% of
the timeline (6 s of media).
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from recordings.journal import read_journal

from . import OUTPUT_DIR, Report, Result

SECONDS = 600.0
INPUTS = OUTPUT_DIR / "inputs" / "recording_compose-v1"
READY = ".complete"  # written last: a half-built cache is rebuilt


def synthesize(directory: Path) -> None:
    from tests.recordings.tracks import BLUE, GREEN, RED, Encoding, Participant, write_recording

    encoding = Encoding(
        width=640,
        height=480,
        fps=30,
        video_bit_rate=650_000,
        audio_bit_rate=32_000,
        noise=True,
        clip_seconds=20.0,
    )
    participants = [
        Participant("alice", RED, 440.0),
        Participant("bob", BLUE, 660.0, joins=5.0),
        Participant("carol", GREEN, 990.0, joins=60.0, leaves=400.0),
    ]
    shutil.rmtree(directory, ignore_errors=True)
    write_recording(directory, participants, seconds=SECONDS, encoding=encoding)
    (directory / READY).touch()


def _compose_pinned(tracks: str, output: str, results: Any) -> None:
    """The child: one core, then compose once."""
    os.sched_setaffinity(0, {0})
    from recordings.compose import compose

    journal = read_journal(Path(tracks))
    rss_before_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    marks: list[int] = []
    wall0, cpu0 = time.perf_counter(), time.process_time()
    info = compose(
        journal,
        Path(tracks),
        Path(output),
        on_progress=lambda _: marks.append(time.perf_counter_ns()),
    )
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    results.put(
        {
            "wall_s": wall,
            "cpu_s": cpu,
            "rss_before_kb": rss_before_kb,
            "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            "start_ns": int(wall0 * 1e9),
            "marks_ns": marks,
            "duration_s": info.duration,
            "size_bytes": info.size_bytes,
            "affinity": sorted(os.sched_getaffinity(0)),
        }
    )


def run() -> Report:
    if not (INPUTS / READY).exists():
        print(f"synthesizing the input recording in {INPUTS} (once) ...", flush=True)
        started = time.monotonic()
        synthesize(INPUTS)
        print(f"  took {time.monotonic() - started:.0f} s", flush=True)
    video_kbps = {
        t.file: (INPUTS / t.file).stat().st_size * 8 / 1000 / ((t.ended_at or 0) - t.started_at)
        for t in read_journal(INPUTS).tracks
        if t.kind == "video"
    }

    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    with tempfile.TemporaryDirectory(prefix="bench-compose-") as scratch:
        output = Path(scratch) / "composed.mp4"
        child = context.Process(target=_compose_pinned, args=(str(INPUTS), str(output), results))
        child.start()
        measured = results.get(timeout=3600)
        child.join()

    from recordings.compose.pipeline import FPS, HEIGHT, WIDTH, X264_OPTIONS

    speed = SECONDS / measured["wall_s"]
    cpu_speed = SECONDS / measured["cpu_s"]  # what an otherwise idle core would give
    marks = [measured["start_ns"], *measured["marks_ns"]]
    steps = [b - a for a, b in itertools.pairwise(marks)]
    print(
        f"composed {SECONDS:.0f} s in {measured['wall_s']:.1f} s wall, "
        f"{measured['cpu_s']:.1f} s CPU on CPU {measured['affinity']}: {speed:.2f}x real time "
        f"({cpu_speed:.2f}x per CPU second)"
    )
    print(
        f"peak RSS {measured['peak_rss_kb'] / 1024:.0f} MiB "
        f"(before composing {measured['rss_before_kb'] / 1024:.0f} MiB); "
        f"output {measured['size_bytes'] / 1e6:.1f} MB, {measured['duration_s']:.2f} s"
    )
    return Report(
        results=[
            Result.from_timings("compose: wall per 1% of timeline", steps, measured["wall_s"])
        ],
        context={
            "input": {
                "seconds": SECONDS,
                "participants": "joining at 0, 5 and 60 s; the third leaves at 400 s",
                "video": "640x480 30 fps VP8",
                "video_file_kbps": {k: round(v) for k, v in video_kbps.items()},
            },
            "output": f"{WIDTH}x{HEIGHT} {FPS} fps H.264 {X264_OPTIONS} + AAC",
            "cores": measured["affinity"],
            "wall_s": round(measured["wall_s"], 2),
            "cpu_s": round(measured["cpu_s"], 2),
            "speed_x_real_time": round(speed, 2),
            "speed_x_real_time_per_cpu_second": round(cpu_speed, 2),
            "peak_rss_mib": round(measured["peak_rss_kb"] / 1024, 1),
            "rss_before_compose_mib": round(measured["rss_before_kb"] / 1024, 1),
            "rss_method": "resource.getrusage(RUSAGE_SELF).ru_maxrss of the composing child",
            "output_bytes": measured["size_bytes"],
            "output_duration_s": round(measured["duration_s"], 3),
        },
    )


if __name__ == "__main__":
    from .__main__ import main

    sys.exit(main(["recording_compose"]))
