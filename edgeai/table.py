"""Plain-text tables that fit a terminal."""

from __future__ import annotations

import shutil


def format_table(headers: list[str], rows: list[list], align: str | None = None) -> str:
    cells = [[str(c) for c in headers]] + [[_fmt(c) for c in row] for row in rows]
    width = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    limit = shutil.get_terminal_size((120, 24)).columns
    # Shrink the widest column (names are long in TFLite files) until the table fits.
    while sum(width) + 2 * (len(width) - 1) > limit and max(width) > 12:
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


def _fmt(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
