"""CSV that a spreadsheet opens as data: no cell can run as a formula.

Spreadsheets run a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and treat a
leading tab or carriage return the same way), so a guest's chosen name or a description
someone typed could become a formula in a host's or a staff member's sheet (OWASP "CSV
injection"). Such text gets a leading apostrophe, which spreadsheets show as text.
Numbers are written as they are: -5 is a number, not a formula.

Every CSV the service writes (attendance, finance exports, the disclosure ledger, the
access-request ZIP) goes through `FormulaSafeWriter`.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any, Protocol

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

Cell = str | int | float | Decimal | None


class _Writable(Protocol):
    def write(self, text: str, /) -> Any: ...


def defuse(text: str) -> str:
    """`text`, with an apostrophe in front if a spreadsheet would run it as a formula."""
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def safe_cell(value: Cell) -> str:
    """One cell's text: empty for None, a finite number as is, anything else defused."""
    if value is None:
        return ""
    if _is_number(value):
        return str(value)
    return defuse(str(value))


def _is_number(value: Cell) -> bool:
    # "-inf" and "NaN" are not numbers a spreadsheet reads; they are defused as text.
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, Decimal) and value.is_finite()


class FormulaSafeWriter:
    """`csv.writer` whose cells can never run as spreadsheet formulas."""

    def __init__(self, out: _Writable) -> None:
        self._writer = csv.writer(out)

    def writerow(self, row: Iterable[Cell]) -> Any:
        """Write one row; returns what `out.write` returned (the line, for `csv_lines`)."""
        return self._writer.writerow([safe_cell(value) for value in row])

    def writerows(self, rows: Iterable[Iterable[Cell]]) -> None:
        for row in rows:
            self.writerow(row)


class _Line:
    def write(self, text: str, /) -> str:
        return text


def csv_lines(header: Sequence[str], rows: Iterable[Iterable[Cell]]) -> Iterator[str]:
    """The CSV one line at a time, for a `StreamingHttpResponse` over a large query."""
    writer = FormulaSafeWriter(_Line())
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow(row)


def csv_text(header: Sequence[str], rows: Iterable[Iterable[Cell]]) -> str:
    """The whole CSV as one string: the header, then the rows."""
    return "".join(csv_lines(header, rows))
