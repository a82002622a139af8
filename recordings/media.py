"""Serve a recording's file to a browser: whole, or one byte range for seeking.

Supports a single range (`bytes=a-b`, `bytes=a-`, `bytes=-n`), HEAD, `If-Range` and
`If-None-Match`. A request for several ranges gets the whole file, which RFC 9110 allows;
players only ever ask for one. The file is streamed in blocks, never read whole.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.utils.http import content_disposition_header, http_date, quote_etag

BLOCK_SIZE = 64 * 1024
# Private: only the browser that was allowed may keep it, and only briefly, so a revoked
# link or a trashed recording stops playing soon after.
CACHE_CONTROL = "private, max-age=300"
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # inclusive

    @property
    def length(self) -> int:
        return self.end - self.start + 1


class Unsatisfiable(Exception):
    pass


def parse_range(header: str, size: int) -> ByteRange | None:
    """The one range asked for, None to send the whole file; Unsatisfiable if none fits."""
    match = _RANGE.match(header.strip().replace(" ", ""))
    if match is None:
        return None  # malformed or several ranges: ignore the header
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # the last n bytes
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise Unsatisfiable
        return ByteRange(max(size - suffix, 0), size - 1)
    start = int(first)
    if last and int(last) < start:
        return None  # invalid syntax per RFC 9110: ignore
    if start >= size:
        raise Unsatisfiable
    end = int(last) if last else size - 1
    return ByteRange(start, min(end, size - 1))


class _FileBody:
    """``length`` bytes of an open file from ``start``, as an async iterator.

    Under ASGI, Django reads a synchronous iterator whole into memory before sending it;
    an asynchronous one is sent block by block (reads happen in a thread).
    """

    def __init__(self, handle: BinaryIO, start: int, length: int) -> None:
        self._handle = handle
        self._start = start
        self._length = length

    async def __aiter__(self) -> AsyncIterator[bytes]:
        await asyncio.to_thread(self._handle.seek, self._start)
        left = self._length
        while left > 0:
            block = await asyncio.to_thread(self._handle.read, min(BLOCK_SIZE, left))
            if not block:
                return
            left -= len(block)
            yield block

    def close(self) -> None:
        self._handle.close()


def _etag(stat: os.stat_result) -> str:
    return quote_etag(f"{stat.st_size:x}-{stat.st_mtime_ns:x}")


def _if_range_matches(request: HttpRequest, etag: str, last_modified: str) -> bool:
    """With If-Range, serve a range only if the client's copy is still this file."""
    given = request.headers.get("If-Range")
    return given is None or given in (etag, last_modified)


def _not_modified(request: HttpRequest, etag: str) -> bool:
    given = request.headers.get("If-None-Match", "")
    return any(tag.strip() in (etag, "*") for tag in given.split(",") if tag.strip())


def serve_file(
    request: HttpRequest,
    path: Path,
    *,
    content_type: str,
    download_name: str | None = None,
) -> HttpResponseBase:
    """The file at `path` as a (possibly partial) response; 404 if it is not there."""
    try:
        handle = path.open("rb")
    except (FileNotFoundError, IsADirectoryError):
        raise Http404("The file is not there.") from None
    stat = os.fstat(handle.fileno())
    size = stat.st_size
    etag, last_modified = _etag(stat), http_date(stat.st_mtime)
    headers = {
        "Accept-Ranges": "bytes",
        "ETag": etag,
        "Last-Modified": last_modified,
        "Cache-Control": CACHE_CONTROL,
    }
    if download_name is not None:
        headers["Content-Disposition"] = content_disposition_header(True, download_name) or ""

    if _not_modified(request, etag):
        handle.close()
        return _plain(304, headers, length=None)

    byte_range: ByteRange | None = None
    header = request.headers.get("Range")
    if header and _if_range_matches(request, etag, last_modified):
        try:
            byte_range = parse_range(header, size)
        except Unsatisfiable:
            handle.close()
            return _plain(416, headers | {"Content-Range": f"bytes */{size}"}, length=0)

    status, length = (200, size) if byte_range is None else (206, byte_range.length)
    if byte_range is not None:
        headers["Content-Range"] = f"bytes {byte_range.start}-{byte_range.end}/{size}"
    if request.method == "HEAD":
        handle.close()
        return _plain(status, headers | {"Content-Type": content_type}, length=length)

    start = 0 if byte_range is None else byte_range.start
    response = StreamingHttpResponse(
        _FileBody(handle, start, length), status=status, content_type=content_type
    )
    for name, value in headers.items():
        response[name] = value
    response["Content-Length"] = str(length)
    return response


def _plain(status: int, headers: dict[str, str], *, length: int | None) -> HttpResponse:
    response = HttpResponse(status=status)
    for name, value in headers.items():
        response[name] = value
    if length is not None:
        response["Content-Length"] = str(length)
    return response
