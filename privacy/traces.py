"""Where a person still shows up: every text column of every model, and every stored file.

The check behind "erasure leaves nothing behind": it reads everything, so it is for tests
and for a privacy admin's one-off look (``manage.py count_person_traces``), never for a
page. Text and JSON columns are searched as text in any letter case; sessions are
decoded first (their column is encoded); files are read as bytes, ZIP members too.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import models
from django.db.models import Q, TextField
from django.db.models.functions import Cast

_TEXT = (models.CharField, models.TextField, models.JSONField)
# Where the service writes files about people. STATIC_ROOT holds only the site's assets.
STORAGE_SETTINGS = ("PRIVACY_EXPORTS_ROOT", "RECORDINGS_ROOT", "MEDIA_ROOT", "EMAIL_FILE_PATH")


@dataclass(frozen=True, order=True)
class Trace:
    """One place that holds a search term: "app_label.Model" and column, or a file (and
    the member of a ZIP file)."""

    where: str
    column: str
    key: str  # the row's primary key, or the file's path

    @property
    def qualified_column(self) -> str:
        """ "app_label.Model.column", as ``ErasureLine.columns`` names kept columns."""
        if self.where.startswith("/"):
            return f"{self.where}!{self.column}" if self.column else self.where
        return f"{self.where}.{self.column}"


def find_traces(terms: Sequence[str]) -> list[Trace]:
    terms = [term.lower() for term in terms if term.strip()]
    if not terms:
        raise ValueError("Give at least one address or name to look for.")
    return sorted([*_rows_holding(terms), *_files_holding(terms, storage_roots())])


def storage_roots() -> list[Path]:
    roots = [getattr(settings, name, None) for name in STORAGE_SETTINGS]
    return [Path(root) for root in roots if root and Path(root).is_dir()]


def _rows_holding(terms: Sequence[str]) -> Iterator[Trace]:
    for model in apps.get_models(include_auto_created=True):
        label = model._meta.label
        if model is Session:
            yield from _sessions_holding(terms)
            continue
        for field in model._meta.concrete_fields:
            if not isinstance(field, _TEXT):
                continue
            # JSON as its text, so a key or a nested value counts as much as a plain column.
            rows = model._base_manager.annotate(_as_text=Cast(field.attname, TextField()))
            query = Q()
            for term in terms:
                query |= Q(_as_text__icontains=term)
            for pk in rows.filter(query).values_list("pk", flat=True):
                yield Trace(label, field.name, str(pk))


def _sessions_holding(terms: Sequence[str]) -> Iterator[Trace]:
    for session in Session.objects.all().iterator():
        text = json.dumps(session.get_decoded()).lower()
        if any(term in text for term in terms):
            yield Trace(Session._meta.label, "session_data", session.pk)


def _files_holding(terms: Sequence[str], roots: Iterable[Path]) -> Iterator[Trace]:
    needles = [term.encode() for term in terms]
    for root in roots:
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            data = path.read_bytes()
            if _holds(data, needles):
                yield Trace(str(path), "", str(path))
            if zipfile.is_zipfile(path):
                with zipfile.ZipFile(path) as archive:
                    for member in archive.namelist():
                        if _holds(archive.read(member), needles):
                            yield Trace(str(path), member, str(path))


def _holds(data: bytes, needles: Sequence[bytes]) -> bool:
    data = data.lower()
    return any(needle in data for needle in needles)
