"""Gallery geometry: where each of n tiles goes, and where a picture sits in its tile.

Every coordinate and size is even, so that the 4:2:0 chroma planes line up with luma.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Rect:
    x: int
    y: int
    width: int
    height: int


def _even(value: float) -> int:
    return int(value) // 2 * 2


def grid(count: int, width: int, height: int) -> list[Rect]:
    """Cells for ``count`` tiles: ceil(sqrt(n)) columns, rows filled left to right, the
    last row centred when it is not full."""
    if count <= 0:
        return []
    columns = math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    cell_width, cell_height = _even(width / columns), _even(height / rows)
    top = _even((height - rows * cell_height) / 2)
    cells = []
    for index in range(count):
        row, column = divmod(index, columns)
        in_row = min(columns, count - row * columns)
        left = _even((width - in_row * cell_width) / 2)
        cells.append(
            Rect(left + column * cell_width, top + row * cell_height, cell_width, cell_height)
        )
    return cells


def fit(width: int, height: int, cell: Rect) -> Rect:
    """A ``width`` x ``height`` picture scaled to fit ``cell``, aspect kept, centred."""
    scale = min(cell.width / width, cell.height / height)
    fitted_width = max(2, min(cell.width, _even(width * scale + 0.5)))
    fitted_height = max(2, min(cell.height, _even(height * scale + 0.5)))
    return Rect(
        cell.x + _even((cell.width - fitted_width) / 2),
        cell.y + _even((cell.height - fitted_height) / 2),
        fitted_width,
        fitted_height,
    )
