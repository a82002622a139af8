"""Write policy versions to a temporary directory and point the loader at it."""

from datetime import date
from pathlib import Path

import pytest

from privacy.policies import documents


def write_version(
    root: Path,
    document: str,
    version: int,
    *,
    effective: date,
    material: bool = False,
    changes: tuple[str, ...] = ("Something changed.",),
    body: str = "## Section\n\nText.",
) -> Path:
    folder = root / document
    folder.mkdir(parents=True, exist_ok=True)
    lines = "\n".join(f'  - "{line}"' for line in changes)
    path = folder / f"v{version}.md"
    path.write_text(
        f"---\nversion: {version}\neffective: {effective.isoformat()}\n"
        f"material: {'true' if material else 'false'}\nchanges:\n{lines}\n---\n{body}\n",
        encoding="utf-8",
    )
    return path


def point_loader_at(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty texts directory the loader reads instead of privacy/policy_texts."""
    root = tmp_path / "policy_texts"
    root.mkdir()
    monkeypatch.setattr(documents, "TEXTS_DIR", root)
    return root
