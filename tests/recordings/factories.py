"""Recordings in each state, with the files a processed one has on disk.

A READY recording gets `composed.mp4` (known bytes by default, so range tests can check
exact slices; `files="real"` encodes a short real MP4 with PyAV) and, with
`has_thumbnail=True`, a `thumbnail.jpg`.
"""

from __future__ import annotations

import fractions
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import av
import factory
import numpy as np
from asgiref.sync import async_to_sync
from django.utils import timezone

from recordings import storage
from recordings.models import ConsentReceipt, Recording, ShareLink
from tests.meetings.factories import MeetingFactory

# 10 000 bytes that differ from their neighbours, so a wrong offset shows.
MEDIA_BYTES = bytes(i % 251 for i in range(10_000))
THUMBNAIL_BYTES = b"\xff\xd8\xff\xe0 not really a jpeg \xff\xd9"


def write_real_mp4(path: Path, *, seconds: float = 1.0) -> None:
    """A tiny H.264 + AAC MP4, as processing makes it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", format="mp4") as container:
        video = container.add_stream("libx264", rate=10)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        audio = container.add_stream("aac", rate=48_000)
        audio.layout = "mono"  # type: ignore[union-attr]
        for i in range(int(seconds * 10)):
            image = np.full((48, 64, 3), (i * 20) % 255, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = i
            container.mux(video.encode(frame))
        samples = 1024
        for i in range(int(seconds * 48_000 / samples)):
            tone = np.sin(np.arange(samples) * 0.05).astype(np.float32).reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(tone, format="flt", layout="mono")
            frame.sample_rate = 48_000
            frame.pts = i * samples
            frame.time_base = fractions.Fraction(1, 48_000)
            container.mux(audio.encode(frame))
        container.mux(video.encode(None))
        container.mux(audio.encode(None))


class RecordingFactory(factory.django.DjangoModelFactory):
    """A recording of the first sitting of a new meeting of `host`; READY unless told."""

    class Meta:
        model = Recording
        skip_postgeneration_save = True

    meeting = factory.LazyAttribute(lambda o: MeetingFactory(host=o.host))
    occurrence = factory.LazyAttribute(lambda o: o.meeting.occurrences.first())
    host = factory.SubFactory("tests.factories.UserFactory")
    title = factory.Sequence(lambda n: f"Recording {n}")
    state = Recording.State.READY
    started_at = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=2))
    stopped_at = factory.LazyAttribute(lambda o: o.started_at + timedelta(minutes=30))
    duration_seconds = 1800.0
    size_bytes = len(MEDIA_BYTES)
    progress = 100
    retention_days = 30
    expires_at = factory.LazyAttribute(
        lambda o: (o.stopped_at + timedelta(days=o.retention_days)) if o.stopped_at else None
    )

    @factory.post_generation
    def files(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        """`files="real"`: a real MP4; `files=False`: nothing on disk; else known bytes."""
        if not create or extracted is False or self.state != Recording.State.READY:
            return
        path = storage.composed_path(self)
        path.parent.mkdir(parents=True, exist_ok=True)
        if extracted == "real":
            write_real_mp4(path)
            self.size_bytes = path.stat().st_size
            self.save(update_fields=["size_bytes"])
        else:
            path.write_bytes(MEDIA_BYTES)
        if self.has_thumbnail:
            storage.thumbnail_path(self).write_bytes(THUMBNAIL_BYTES)


def processing(**fields: Any) -> Recording:
    values = {
        "state": Recording.State.PROCESSING,
        "progress": 42,
        "duration_seconds": None,
        "size_bytes": None,
        "expires_at": None,
    }
    return RecordingFactory(**(values | fields))


def failed(**fields: Any) -> Recording:
    values = {
        "state": Recording.State.FAILED,
        "progress": 0,
        "failure_reason": "The audio track could not be read.",
        "duration_seconds": None,
        "size_bytes": None,
        "expires_at": None,
    }
    return RecordingFactory(**(values | fields))


class ShareLinkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ShareLink

    recording = factory.SubFactory(RecordingFactory)
    created_by = factory.LazyAttribute(lambda o: o.recording.host)
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=7))


class ConsentReceiptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ConsentReceipt

    recording = factory.SubFactory(RecordingFactory)
    participant_id = factory.LazyFunction(uuid.uuid4)
    display_name = factory.Faker("name")
    email = factory.Sequence(lambda n: f"guest{n}@example.com")
    decision = ConsentReceipt.Decision.ACCEPTED
    context = ConsentReceipt.Context.IN_MEETING
    decided_at = factory.LazyFunction(timezone.now)


def streamed_body(response: Any) -> bytes:
    """A media response's bytes, read as an ASGI server reads them (it streams async)."""

    async def read() -> bytes:
        return b"".join([chunk async for chunk in response.streaming_content])

    return async_to_sync(read)()
