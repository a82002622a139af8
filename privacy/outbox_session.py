"""The plumbing of a delivery batch: one connection to the email backend, and commits
that do not each wait for the disk."""

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

from django.conf import settings
from django.core.mail import get_connection
from django.db import DatabaseError
from django.db import connection as db


@contextmanager
def provider_connection() -> Iterator[Any]:
    """One connection to the email backend for a batch, or why it could not be opened."""
    try:
        connection = get_connection(fail_silently=False)
        if hasattr(connection, "open"):
            connection.open()
    except Exception as exc:
        yield exc
        return
    try:
        yield connection
    finally:
        if hasattr(connection, "close"):
            with suppress(Exception):  # the messages are recorded; a failed QUIT is not ours
                connection.close()


@contextmanager
def commits_without_flush() -> Iterator[None]:
    """PostgreSQL: the batch's per-message commits do not each wait for the disk.

    A commit is then in the server, visible to every worker, the moment it returns, so
    a worker killed mid-batch loses nothing. Only a crash of the database server itself
    could drop the last fraction of a second of "sent" marks, and those messages would
    go again under their Message-ID: what the provider already dedupes after a worker
    dies between its acceptance and our record.
    """
    # Behind a transaction pooler a session SET would stay on a server connection that
    # other clients' transactions then use (and RESET might reach another one).
    if db.vendor != "postgresql" or db.in_atomic_block or settings.DB_TRANSACTION_POOLING:
        yield
        return
    with db.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO OFF")
    try:
        yield
    finally:
        with suppress(DatabaseError), db.cursor() as cursor:
            cursor.execute("RESET synchronous_commit")
