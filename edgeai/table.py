"""Plain-text tables that fit a terminal."""

from __future__ import annotations

import shutil
import sys


def format_table(headers: list[str], rows: list[list], align: str | None = None) -> str:
    cells = [[str(c) for c in headers]] + [[_fmt(c) for c in row] for row in rows]
    width = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    limit = _terminal_columns()
    # Shrink the widest column (names are long in TFLite files) until the table fits.
    while limit is not None and sum(width) + 2 * (len(width) - 1) > limit and max(width) > 12:
        width[width.index(max(width))] -= 1
    align = align or "".join("r" if isinstance(c, (int, float)) else "l" for c in (rows[0] if rows else headers))
    lines = []
    for n, row in enumerate(cells):
        parts = []
        for i, text in enumerate(row):
            if len(text) > width[i]:
                text = "…" + text[-(width[i] - 1):]
            parts.append(text.rjust(width[i]) if align[i] == "r" and n else text.ljust(width[i]))
        lines.append("  ".join(parts).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in width))
    return "\n".join(lines)


def _terminal_columns() -> int | None:
    """The width to fit when a person reads standard output on a terminal; None into a pipe or a file, where a
    script reads the table and no cell may lose characters (COLUMNS alone does not count: pytest-xdist and CI
    runners set it for output that is not a terminal)."""
    try:
        if not sys.stdout.isatty():
            return None
    except (AttributeError, ValueError):  # replaced or closed stdout
        return None
    return shutil.get_terminal_size((120, 24)).columns


def _fmt(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
