"""Plain-text and JSON output of the commands: aligned tables and one JSON document."""

from __future__ import annotations

import json
import math
import shutil
import textwrap
from collections.abc import Sequence
from typing import Any, TextIO

__all__ = ["print_json", "table", "terminal_width", "wrap"]

_MIN_WIDTH = 60


def terminal_width() -> int:
    """Columns of the terminal (``$COLUMNS`` honoured), at least 60; 100 when unknown."""
    return max(_MIN_WIDTH, shutil.get_terminal_size((100, 24)).columns)


def wrap(text: str, width: int) -> str:
    """*text* wrapped to *width* columns, keeping its own line breaks."""
    width = max(width, 20)
    return "\n".join(
        "\n".join(textwrap.wrap(line, width, break_on_hyphens=False) or [""])
        for line in text.split("\n")
    )


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], indent: str = "  ") -> str:
    """Rows under *headers*, columns left-aligned; a cell may hold several lines (``\\n``).

    The last column is not padded, so long text there never adds trailing spaces.
    """
    split = [[cell.split("\n") for cell in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in split:
        for i, lines in enumerate(row):
            widths[i] = max(widths[i], *(len(line) for line in lines))

    def line(cells: Sequence[str]) -> str:
        padded = [c.ljust(widths[i]) for i, c in enumerate(cells[:-1])]
        return (indent + "  ".join([*padded, cells[-1]])).rstrip()

    out = [line(headers)]
    for row in split:
        height = max(len(lines) for lines in row)
        for n in range(height):
            out.append(line([lines[n] if n < len(lines) else "" for lines in row]))
    return "\n".join(out)


def print_json(document: Any, out: TextIO) -> None:
    """Write *document* as indented, strict JSON (RFC 8259) followed by a newline.

    Non-finite floats, which strict JSON cannot hold, are written as the strings
    ``"+Inf"``, ``"-Inf"`` and ``"NaN"``, as Prometheus' HTTP API writes them (a burn
    rate against a 100 % objective, say); other non-JSON values as their ``str``.
    """
    text = json.dumps(_finite(document), indent=2, default=str, allow_nan=False)
    out.write(text + "\n")


def _finite(value: Any) -> Any:
    """*value* with every non-finite float replaced by its Prometheus spelling."""
    if isinstance(value, float):
        if value != value:
            return "NaN"
        if value in (math.inf, -math.inf):
            return "+Inf" if value > 0 else "-Inf"
        return value
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value
