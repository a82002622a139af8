"""The media server's cost of recording: CPU per recorded stream, as % of one core.

A ``meetings.media.recorder.RoomRecorder`` is fed through its loop-side API (``add``, then
``push`` of ``EncodedFrame``s, as the SFU's receiver tap does) with N streams, each one
participant's camera (pre-encoded 640x480 30 fps VP8 at ~1 Mbps, the clip from
``bench.media_forwarding``, repeated) and microphone (20 ms Opus packets, 50 per second),
MEDIA_SECONDS of media each, as fast as possible; then ``close()`` waits for the writer
thread to finish the files. CPU = ``time.process_time`` (every thread of the process) from
the first ``add`` to the end of ``close``; reported per second of media per stream. The
frames are built before the clock starts, so only the recorder is measured (plus a bare
Python loop). Files go to a scratch directory under var/bench/, on the disk recordings use.

Table rows: one per N; count = frames pushed, p50/p99 ms = one ``push`` call (what the
event loop pays per frame). Goal: at most 1% of a core per stream.
"""

from __future__ import annotations

import heapq
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from meetings.media.aiortc_tap import EncodedFrame, make_packet
from meetings.media.recorder import RoomRecorder

from . import OUTPUT_DIR, Report, Result
from .media_forwarding import FPS, VIDEO_CLOCK, encode_clip

N_VALUES: tuple[int, ...] = (1, 4, 8)
MEDIA_SECONDS = 20.0
REPEATS = 3  # the median run is reported: single runs of a few tenths of a second are noisy
AUDIO_CLOCK = 48_000
AUDIO_FRAME = 960  # 20 ms
START = 1_700_000_000.0


CODECS = {"video": ("video/VP8", VIDEO_CLOCK), "audio": ("audio/opus", AUDIO_CLOCK)}


def _frame(kind: str, data: bytes, timestamp: int) -> EncodedFrame:
    mime_type, clock_rate = CODECS[kind]
    return EncodedFrame(
        packet=make_packet(data, timestamp, clock_rate),
        data=data,
        kind=kind,
        mime_type=mime_type,
        timestamp=timestamp,
        clock_rate=clock_rate,
    )


def schedule(video: list[bytes], audio: list[bytes]) -> list[tuple[float, str, EncodedFrame]]:
    """MEDIA_SECONDS of one participant's frames in arrival order: (media time, kind, frame)."""
    video_frames = [
        (i / FPS, "video", _frame("video", video[i % len(video)], i * VIDEO_CLOCK // FPS))
        for i in range(int(MEDIA_SECONDS * FPS))
    ]
    audio_frames = [
        (
            i * AUDIO_FRAME / AUDIO_CLOCK,
            "audio",
            _frame("audio", audio[i % len(audio)], i * AUDIO_FRAME),
        )
        for i in range(int(MEDIA_SECONDS * AUDIO_CLOCK / AUDIO_FRAME))
    ]
    return list(heapq.merge(video_frames, audio_frames, key=lambda item: item[0]))


@dataclass
class Run:
    cpu_s: float
    wall_s: float
    push_ns: list[int]
    bytes_written: int


def measure(streams: int, frames: list[tuple[float, str, EncodedFrame]]) -> Run:
    now = [START]
    with tempfile.TemporaryDirectory(prefix="bench-recording-", dir=OUTPUT_DIR) as scratch:
        peers = [f"peer{i}" for i in range(streams)]
        push_ns: list[int] = []
        clock = time.perf_counter_ns
        cpu0, wall0 = time.process_time(), time.perf_counter()
        recorder = RoomRecorder("bench", Path(scratch), set(peers), clock=lambda: now[0])
        for peer in peers:
            for kind, source, mime in (
                ("video", "camera", "video/VP8"),
                ("audio", "mic", "audio/opus"),
            ):
                recorder.add((peer, kind), peer_id=peer, kind=kind, source=source, mime_type=mime)
        for t, kind, frame in frames:
            now[0] = START + t
            for peer in peers:
                before = clock()
                recorder.push((peer, kind), frame)
                push_ns.append(clock() - before)
        recorder.close()
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        written = sum(p.stat().st_size for p in Path(scratch).glob("*.webm"))
    return Run(cpu, wall, push_ns, written)


def run() -> Report:
    from tests.recordings.tracks import Encoding, Participant, opus_packets

    video = encode_clip()
    tone = Participant("a", (0, 0, 0), 440.0)
    audio = [data for _, data in opus_packets(tone, 10.0, Encoding(audio_bit_rate=32_000))]
    video_kbps = sum(map(len, video)) * 8 / (len(video) / FPS) / 1000
    audio_kbps = sum(map(len, audio)) * 8 / (len(audio) * AUDIO_FRAME / AUDIO_CLOCK) / 1000
    print(
        f"per stream: VP8 {video_kbps:.0f} kbps at {FPS} fps + Opus {audio_kbps:.0f} kbps at "
        f"50 fps; {MEDIA_SECONDS:.0f} s of media",
        flush=True,
    )
    frames = schedule(video, audio)
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    measure(1, frames[:100])  # warm up imports and allocators

    results: list[Result] = []
    per_stream: dict[int, float] = {}
    for n in N_VALUES:
        runs = sorted((measure(n, frames) for _ in range(REPEATS)), key=lambda r: r.cpu_s)
        median = runs[len(runs) // 2]
        pcts = [round(100 * r.cpu_s / (MEDIA_SECONDS * n), 3) for r in runs]
        per_stream[n] = 100 * median.cpu_s / (MEDIA_SECONDS * n)
        print(
            f"  N={n}: {median.cpu_s:.3f} s CPU for {MEDIA_SECONDS * n:.0f} stream-seconds = "
            f"{per_stream[n]:.3f}% of a core per stream (runs: {pcts}); "
            f"wall {median.wall_s:.2f} s, {median.bytes_written / 1e6:.1f} MB written",
            flush=True,
        )
        results.append(Result.from_timings(f"N={n} push()", median.push_ns, median.wall_s))
    print(f"worst: {max(per_stream.values()):.3f}% of one core per recorded stream (goal <= 1%)")
    return Report(
        results=results,
        context={
            "stream": f"640x480 {FPS} fps VP8 {video_kbps:.0f} kbps + Opus {audio_kbps:.0f} kbps",
            "media_seconds": MEDIA_SECONDS,
            "cpu_method": "time.process_time (all threads), RoomRecorder() to close() inclusive",
            "statistic": f"median of {REPEATS} runs",
            "cpu_pct_of_one_core_per_stream": {n: round(v, 4) for n, v in per_stream.items()},
        },
    )


if __name__ == "__main__":
    from .__main__ import main

    sys.exit(main(["recording_cpu"]))
