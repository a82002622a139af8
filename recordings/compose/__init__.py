"""Composition: a recording's per-track WebM files into one MP4 people can watch.

The media server writes one WebM per track and a journal (``recordings.journal``); a
Celery worker turns them into ``composed.mp4`` (H.264 + AAC, faststart) and a thumbnail.
Everything streams: a track is opened when the timeline reaches it and only its current
frame is held, so memory does not grow with the recording's length.

- ``span``: the recorded time, from the journal (and the files, when it is incomplete);
- ``sources``: reading a track file as far as it can be read;
- ``layout``, ``video``: the gallery of the cameras and screens present at each moment;
- ``audio``: every audio track placed by its timestamps and mixed;
- ``pipeline``: ``compose`` itself; ``media``: probing, verifying, thumbnails.
"""

from .media import CompositionError, MediaInfo, make_thumbnail, probe, verify
from .pipeline import compose
from .span import recorded_span

__all__ = [
    "CompositionError",
    "MediaInfo",
    "compose",
    "make_thumbnail",
    "probe",
    "recorded_span",
    "verify",
]
