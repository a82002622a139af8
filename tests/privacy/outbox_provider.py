"""A stand-in email provider for worker processes: it keeps each message it accepts as a
file named by the message's Message-ID, so that, like a provider with idempotent
submission, the same message accepted twice is delivered once; `accepted.log` counts
every acceptance. `OUTBOX_PROVIDER_PAUSE` makes the first attempt stop for good at one
point (a test then kills the worker there), after writing `paused-<point>`:

- ``before_acceptance``: the worker has claimed the message, the provider has nothing;
- ``after_acceptance``: the provider has the message, the outbox does not know yet;
- ``after_task`` (see `outbox_worker_settings`): the outbox marked it sent, the task has
  not been acknowledged to the broker;
- ``mid_batch``: the worker has had one message accepted and is about to hand over the
  second of its batch.
"""

import hashlib
import os
import time
from pathlib import Path

DIRECTORY = "OUTBOX_PROVIDER_DIR"
PAUSE = "OUTBOX_PROVIDER_PAUSE"
_offered = 0


def directory() -> Path:
    return Path(os.environ[DIRECTORY])


def pause_once(point: str) -> None:
    """Stop here (until killed) the first time, if the test asked for `point`."""
    if os.environ.get(PAUSE) != point:
        return
    try:
        marker = os.open(directory() / f"paused-{point}", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return
    os.close(marker)
    time.sleep(120)


def delivered() -> list[Path]:
    return sorted((directory() / "delivered").glob("*.eml"))


def acceptances() -> list[str]:
    log = directory() / "accepted.log"
    return log.read_text().split() if log.exists() else []


class EmailBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages) -> int:
        global _offered
        for message in messages:
            _offered += 1
            if _offered == 2:
                pause_once("mid_batch")
            pause_once("before_acceptance")
            raw = message.message().as_bytes()
            message_id = message.message()["Message-ID"]
            name = hashlib.sha256(message_id.encode()).hexdigest()[:32]
            inbox = directory() / "delivered"
            inbox.mkdir(exist_ok=True)
            if not (inbox / f"{name}.eml").exists():
                (inbox / f"{name}.eml.part").write_bytes(raw)
                (inbox / f"{name}.eml.part").rename(inbox / f"{name}.eml")
            with (directory() / "accepted.log").open("a") as log:
                log.write(message_id + "\n")
            pause_once("after_acceptance")
        return len(messages)
