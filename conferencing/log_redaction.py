"""Keep websocket join tickets out of the server's logs.

The room client puts its ticket (a ten-minute bearer credential) in the websocket URL's
query, and uvicorn logs the full path: HTTP requests on `uvicorn.access`, websocket
handshakes on `uvicorn.error`. A filter on both rewrites `ticket=<value>` before any
handler sees the record.
"""

from __future__ import annotations

import logging
import re

TICKET = re.compile(r"([?&;]ticket=)[^&;#\s\"']*", re.IGNORECASE)
REDACTED = "[redacted]"
LOGGERS = ("uvicorn.access", "uvicorn.error")


def redact(text: str) -> str:
    return TICKET.sub(lambda match: match.group(1) + REDACTED, text)


class RedactTickets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "ticket=" in message.lower():
            record.msg, record.args = redact(message), None
        return True


def install() -> None:
    """Add the filter to uvicorn's loggers (idempotent): call once the app is loaded."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTickets) for f in logger.filters):
            logger.addFilter(RedactTickets())
