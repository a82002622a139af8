"""``compose``: the journal's tracks into one MP4, streaming, on one core.

The timeline is walked once, in time order, alternating between the next video frame and
the next audio block, so both encoders advance together and the muxer interleaves as it
goes. Settings were chosen with ``python -m bench recording_compose`` (10 minutes of three
participants composes several times faster than real time on one core).
"""

from __future__ import annotations

import fractions
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av

from recordings.journal import Journal, JournalTrack

from .audio import LAYOUT, RATE, AudioTrack, audio_frame, mix
from .media import MediaInfo, probe, replacing
from .span import recorded_span
from .video import Gallery, VideoTrack

WIDTH, HEIGHT = 1280, 720
FPS = 15  # people talking; twice the cost buys little
# Constant quality, capped so that a busy gallery stays streamable over modest links.
X264_OPTIONS = {"preset": "veryfast", "crf": "23", "maxrate": "2M", "bufsize": "4M"}
KEYFRAME_SECONDS = 4  # how far a seek may have to decode from
AUDIO_BLOCK = 1024  # samples: one AAC frame
AUDIO_BIT_RATE = 128_000
PROGRESS_STEP = 0.01


def compose(
    journal: Journal,
    tracks_dir: Path,
    output: Path,
    *,
    on_progress: Callable[[float], None] | None = None,
) -> MediaInfo:
    """Compose the tracks into one MP4 at ``output`` (H.264 yuv420p + AAC, faststart).

    Written to a temp file next to ``output`` and moved into place at the end, so a crash
    never leaves a half file under that name and a rerun overwrites cleanly.
    ``on_progress(fraction)`` is called as the timeline advances (at most every 1%), and
    with 1.0 once the file is complete. Undecodable tracks are skipped with a warning.
    """
    tracks_dir, output = Path(tracks_dir), Path(output)
    start, end = recorded_span(journal, tracks_dir=tracks_dir)
    duration = end - start
    video_tracks, audio_tracks = _tracks(journal, tracks_dir, start)
    with replacing(output) as temp:
        try:
            _encode(temp, duration, video_tracks, audio_tracks, on_progress)
        finally:
            for video in video_tracks:
                video.close()
            for audio in audio_tracks:
                audio.close()
        info = probe(temp)
    if on_progress is not None:
        on_progress(1.0)  # the file is in place
    return info


def _tracks(
    journal: Journal, tracks_dir: Path, start: float
) -> tuple[list[VideoTrack], list[AudioTrack]]:
    """The journal's tracks on the timeline, video in tile order."""
    first_seen: dict[tuple[str, str], int] = {}
    video: list[VideoTrack] = []
    audio: list[AudioTrack] = []
    for track in sorted(journal.tracks, key=lambda t: t.started_at):
        offset = track.started_at - start
        if track.kind == "video":
            # Tiles in order of each participant's (and source's) first appearance: someone
            # who rejoins gets their old place back rather than the last one.
            seen = first_seen.setdefault((track.peer_id, track.source), len(first_seen))
            video.append(
                VideoTrack(
                    tracks_dir / track.file,
                    order=(seen, offset),
                    start=offset,
                    end=_end(track, start),
                )
            )
        elif track.kind == "audio":
            audio.append(AudioTrack(tracks_dir / track.file, start=round(offset * RATE)))
    video.sort(key=lambda t: t.order)
    return video, audio


def _end(track: JournalTrack, start: float) -> float | None:
    return None if track.ended_at is None else track.ended_at - start


def _encode(
    path: Path,
    duration: float,
    video_tracks: list[VideoTrack],
    audio_tracks: list[AudioTrack],
    on_progress: Callable[[float], None] | None,
) -> None:
    video_frames = max(1, math.ceil(duration * FPS - 1e-6))
    audio_samples = max(1, round(duration * RATE))
    container: Any = av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"})
    with container:
        video_stream, audio_stream = _add_streams(container)
        gallery = Gallery(WIDTH, HEIGHT)
        reported = 0.0
        frame_index = sample = 0
        while frame_index < video_frames or sample < audio_samples:
            frame_time = frame_index / FPS
            if sample >= audio_samples or (
                frame_index < video_frames and frame_time <= sample / RATE
            ):
                for track in video_tracks:
                    track.advance(frame_time)
                frame = gallery.render([t for t in video_tracks if t.showing])
                frame.pts = frame_index
                frame.duration = 1
                frame.time_base = video_stream.codec_context.time_base
                container.mux(video_stream.encode(frame))
                frame_index += 1
            else:
                length = min(AUDIO_BLOCK, audio_samples - sample)
                block = mix(audio_tracks, sample, length)
                container.mux(audio_stream.encode(audio_frame(block, sample)))
                sample += length
            done = min(frame_index / video_frames, sample / audio_samples)
            if on_progress is not None and done - reported >= PROGRESS_STEP and done < 1.0:
                reported = done
                on_progress(done)
        container.mux(video_stream.encode(None))
        container.mux(audio_stream.encode(None))


def _add_streams(container: Any) -> tuple[Any, Any]:
    video = container.add_stream("libx264", rate=FPS)
    video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    video.codec_context.thread_count = 1  # the worker's one core; threads would only contend
    video.codec_context.gop_size = KEYFRAME_SECONDS * FPS
    video.codec_context.time_base = fractions.Fraction(1, FPS)
    video.options = dict(X264_OPTIONS)
    audio = container.add_stream("aac", rate=RATE)
    audio.layout = LAYOUT
    audio.bit_rate = AUDIO_BIT_RATE
    return video, audio
