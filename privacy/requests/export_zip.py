"""The ZIP an access request delivers: everything about the person, readable two ways.

``data.json`` holds it all; ``<app>/<section>.csv`` holds each section for a spreadsheet,
written by the shared formula-safe writer (``common.safe_csv``); the composed recordings
the person hosts go under ``recordings/``. The file is written under a temporary name
and renamed at the end, so a crash never leaves a half ZIP in its place.
"""

from __future__ import annotations

import json
import os
import secrets
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone

from common.safe_csv import Cell, csv_text
from privacy.subjects import AppData, Row, Subject
from recordings import privacy_data as recordings_data

from . import data_map

Progress = Callable[[int], None]
CHUNK = 1024 * 1024
# Share of the progress bar: gathering the data, then writing it, then the media files.
GATHERED = 40
WRITTEN = 50


def build_export_zip(
    subject: Subject, *, destination: Path, progress: Progress | None = None
) -> Path:
    """Write the person's export to `destination` (a file path) and return it.

    `progress` is called with a percentage (0 to 100) as the work advances.
    """
    report = _Reporter(progress)
    report(0)
    data = data_map.export_person(subject)
    files = recordings_data.export_files(subject)
    report(GATHERED)
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(f".{destination.name}.{secrets.token_hex(4)}.part")
    try:
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("README.txt", _readme(subject, data, files))
            archive.writestr("data.json", _json(subject, data))
            for app, sections in data.items():
                for section, rows in sections.items():
                    if rows:
                        archive.writestr(f"{app}/{section}.csv", _csv(rows))
            report(WRITTEN)
            _add_files(archive, files, report)
        os.replace(partial, destination)
    finally:
        partial.unlink(missing_ok=True)
    report(100)
    return destination


class _Reporter:
    """Calls the callback only when the percentage moves forward."""

    def __init__(self, callback: Progress | None) -> None:
        self.callback = callback
        self.last = -1

    def __call__(self, percent: int) -> None:
        percent = max(0, min(100, int(percent)))
        if self.callback is not None and percent > self.last:
            self.last = percent
            self.callback(percent)


def _add_files(archive: zipfile.ZipFile, files: list[tuple[str, Path]], report: _Reporter) -> None:
    total = sum(path.stat().st_size for _, path in files) or 1
    done = 0
    for name, path in files:
        # Video is compressed already: stored, not deflated again.
        info = zipfile.ZipInfo.from_file(path, arcname=name)
        info.compress_type = zipfile.ZIP_STORED
        with path.open("rb") as source, archive.open(info, "w", force_zip64=True) as target:
            while chunk := source.read(CHUNK):
                target.write(chunk)
                done += len(chunk)
                report(WRITTEN + (99 - WRITTEN) * done // total)


def _json(subject: Subject, data: dict[str, AppData]) -> str:
    document = {
        "about": subject.email,
        "generated_at": timezone.now().isoformat(),
        "service": settings.SITE_NAME,
        "data": data,
    }
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=False)


def _columns(rows: list[Row]) -> list[str]:
    columns: dict[str, None] = {}
    for item in rows:
        columns.update(dict.fromkeys(item))
    return list(columns)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return "; ".join(_text(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _cell(value: Any) -> Cell:
    # Numbers stay numbers (a negative one is not a formula); the writer defuses text.
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    return value if is_number else _text(value)


def _csv(rows: list[Row]) -> str:
    columns = _columns(rows)
    return csv_text(columns, ([_cell(item.get(column)) for column in columns] for item in rows))


def _readme(subject: Subject, data: dict[str, AppData], files: list[tuple[str, Path]]) -> str:
    lines = [
        f"Your data at {settings.SITE_NAME}",
        "=" * 40,
        "",
        f"This archive holds the personal information we keep about {subject.email},",
        f"gathered on {timezone.now():%Y-%m-%d at %H:%M} UTC.",
        "",
        "What is in it:",
        "",
        "- data.json: everything, in one JSON document. Times are ISO 8601 in UTC.",
        "- <area>/<section>.csv: the same data, one spreadsheet file per section.",
        "  A cell that starts with = + - or @ begins with an apostrophe, so that a",
        "  spreadsheet shows it as text instead of running it as a formula.",
    ]
    if files:
        lines.append("- recordings/: the recordings of meetings you hosted, as MP4 video.")
    lines += ["", "Sections:", ""]
    for app, sections in data.items():
        for section, rows in sections.items():
            where = f"{app}/{section}.csv" if rows else "no rows, so no CSV file"
            lines.append(f"- {app} / {section}: {len(rows)} row(s) ({where})")
    lines += [
        "",
        "Some things are left out on purpose: your password, two-factor secrets and API",
        "token keys are secrets (we show that they exist, not what they are), and other",
        "people's personal information (who else attended or was invited) is not yours",
        "to receive; your meetings show how many took part instead.",
        "",
        "Questions about this export: write to us through the contact form and quote the",
        "reference of your request.",
        "",
    ]
    return "\n".join(lines)
