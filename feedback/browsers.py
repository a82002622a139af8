"""A browser's family and major version from its User-Agent header, and nothing more.

The survey keeps only these two facts, so the header itself is read here and dropped.
Order matters: Edge and Opera say "Chrome" too, and Chrome says "Safari".
"""

from __future__ import annotations

import re

_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("Edge", re.compile(r"\bEdgA?/(\d+)")),
    ("Opera", re.compile(r"\bOPR/(\d+)")),
    ("Samsung Internet", re.compile(r"\bSamsungBrowser/(\d+)")),
    ("Firefox", re.compile(r"\b(?:Firefox|FxiOS)/(\d+)")),
    ("Chrome", re.compile(r"\b(?:HeadlessChrome|Chrome|Chromium|CriOS)/(\d+)")),
    ("Safari", re.compile(r"\bVersion/(\d+)(?:\.\d+)*.*\bSafari/")),
)

MAX_MAJOR = 32767  # the column's range: anything beyond is not a real version


def browser_of(user_agent: str) -> tuple[str, int | None]:
    """("Chrome", 131), or ("Other", None) for a header we do not recognise."""
    for family, pattern in _PATTERNS:
        match = pattern.search(user_agent or "")
        if match:
            major = int(match[1])
            return family, major if major <= MAX_MAJOR else None
    return "Other", None
