"""Policy versions: one Markdown file per version, with a YAML front matter.

    privacy/policy_texts/<document>/v<N>.md

    ---
    version: 2
    effective: 2026-11-28
    material: true
    changes:
      - What changed, one line each.
    ---
    The text, in Markdown, with [[generated:...]] lines where facts come from the code.

Files are read and validated once per process; a malformed file raises
PolicyTextError when loaded (the test suite loads every file), never a half-page for a
visitor. A version becomes visible on its effective date (00:00 UTC) and not before.
"""

from __future__ import annotations

import functools
import itertools
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path

import yaml
from django.utils import timezone

from privacy.models import PolicyDocument

from .generated import GENERATORS, MARKER

TEXTS_DIR = Path(__file__).resolve().parent.parent / "policy_texts"

_FILE_NAME = re.compile(r"^v([1-9][0-9]*)\.md$")
_FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n(.*)\Z", re.DOTALL)
_FIELDS = {"version", "effective", "material", "changes"}
# Anything that looks like a marker, so that a typo cannot slip through as plain text.
_MARKER_LIKE = re.compile(r"\[\[\s*generated", re.IGNORECASE)


class PolicyTextError(ValueError):
    """A policy file that cannot be published as it is."""


@dataclass(frozen=True)
class PolicyVersion:
    document: PolicyDocument
    version: int
    effective: date
    material: bool
    changes: tuple[str, ...]
    source: str  # Markdown, markers not yet expanded

    @property
    def title(self) -> str:
        return str(self.document.label)

    @property
    def effective_start(self) -> datetime:
        """The moment the version takes effect: 00:00 UTC of its effective date."""
        return datetime.combine(self.effective, time.min, tzinfo=UTC)

    def is_visible(self, today: date) -> bool:
        return self.effective <= today


def today_utc() -> date:
    return timezone.now().astimezone(UTC).date()


def all_versions(document: str) -> tuple[PolicyVersion, ...]:
    """Every version of a document, oldest first, future ones included."""
    return _load(TEXTS_DIR).get(PolicyDocument(document), ())


def visible_versions(document: str, *, today: date | None = None) -> tuple[PolicyVersion, ...]:
    today = today or today_utc()
    return tuple(v for v in all_versions(document) if v.is_visible(today))


def current_version(document: str, *, today: date | None = None) -> PolicyVersion | None:
    """The highest version already in effect; None before the first one is."""
    visible = visible_versions(document, today=today)
    return visible[-1] if visible else None


def visible_version(
    document: str, version: int, *, today: date | None = None
) -> PolicyVersion | None:
    for item in visible_versions(document, today=today):
        if item.version == version:
            return item
    return None


def load_all(root: Path | None = None) -> dict[PolicyDocument, tuple[PolicyVersion, ...]]:
    """Load and validate every file (cached per directory); raises PolicyTextError."""
    return _load(root or TEXTS_DIR)


@functools.cache
def _load(root: Path) -> dict[PolicyDocument, tuple[PolicyVersion, ...]]:
    if not root.is_dir():
        raise PolicyTextError(f"No policy texts directory at {root}.")
    loaded: dict[PolicyDocument, tuple[PolicyVersion, ...]] = {}
    for folder in sorted(path for path in root.iterdir() if path.is_dir()):
        try:
            document = PolicyDocument(folder.name)
        except ValueError:
            raise PolicyTextError(f"{folder}: not a policy document.") from None
        versions = sorted(
            (_parse(path, document) for path in folder.iterdir() if path.is_file()),
            key=lambda item: item.version,
        )
        _check_sequence(folder, versions)
        loaded[document] = tuple(versions)
    return loaded


def _parse(path: Path, document: PolicyDocument) -> PolicyVersion:
    name = _FILE_NAME.match(path.name)
    if name is None:
        raise PolicyTextError(f"{path}: policy files are named v<number>.md.")
    text = path.read_text(encoding="utf-8").replace("\r\n", "\n")
    parts = _FRONT_MATTER.match(text)
    if parts is None:
        raise PolicyTextError(f"{path}: no front matter between two '---' lines.")
    try:
        meta = yaml.safe_load(parts.group(1))
    except yaml.YAMLError as exc:
        raise PolicyTextError(f"{path}: front matter is not valid YAML: {exc}") from exc
    if not isinstance(meta, dict) or set(meta) != _FIELDS:
        found = sorted(meta) if isinstance(meta, dict) else meta
        raise PolicyTextError(f"{path}: front matter needs exactly {sorted(_FIELDS)}, has {found}.")
    version, effective, material, changes = (
        meta["version"],
        meta["effective"],
        meta["material"],
        meta["changes"],
    )
    if type(version) is not int or version != int(name.group(1)):
        raise PolicyTextError(f"{path}: version must be the number in the file name.")
    # YAML reads an unquoted 2026-11-28 as a date; a datetime or a string is a mistake.
    if type(effective) is not date:
        raise PolicyTextError(f"{path}: effective must be a date (YYYY-MM-DD).")
    if type(material) is not bool:
        raise PolicyTextError(f"{path}: material must be true or false.")
    if (
        not isinstance(changes, list)
        or not changes
        or not all(isinstance(line, str) and line.strip() for line in changes)
    ):
        raise PolicyTextError(f"{path}: changes must be a non-empty list of lines.")
    source = parts.group(2).strip()
    if not source:
        raise PolicyTextError(f"{path}: the text is empty.")
    _check_markers(path, source)
    return PolicyVersion(
        document=document,
        version=version,
        effective=effective,
        material=material,
        changes=tuple(line.strip() for line in changes),
        source=source,
    )


def _check_markers(path: Path, source: str) -> None:
    for number, line in enumerate(source.splitlines(), start=1):
        if not _MARKER_LIKE.search(line):
            continue
        marker = MARKER.fullmatch(line.strip())
        if marker is None:
            raise PolicyTextError(f"{path}:{number}: a marker stands alone on its line.")
        if marker.group(1) not in GENERATORS:
            raise PolicyTextError(
                f"{path}:{number}: unknown generated section {marker.group(1)!r}; "
                f"known: {sorted(GENERATORS)}."
            )


def _check_sequence(folder: Path, versions: list[PolicyVersion]) -> None:
    if not versions:
        raise PolicyTextError(f"{folder}: no versions.")
    numbers = [item.version for item in versions]
    if numbers != list(range(1, len(numbers) + 1)):
        raise PolicyTextError(f"{folder}: versions must run 1, 2, 3... without gaps: {numbers}.")
    for earlier, later in itertools.pairwise(versions):
        if later.effective < earlier.effective:
            raise PolicyTextError(
                f"{folder}: v{later.version} takes effect before v{earlier.version}."
            )
