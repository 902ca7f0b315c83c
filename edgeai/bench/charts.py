"""Grouped bar charts as inline SVG: plots in the HTML report without a plotting library."""

from __future__ import annotations

from html import escape

PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#9c755f")


def bar_chart(title: str, groups: list[str], series: dict[str, list[float | None]], unit: str = "",
              width: int = 720, height: int = 260) -> str:
    """groups along x (e.g. models), one bar per series (e.g. targets) in each group; None leaves a gap."""
    values = [v for vs in series.values() for v in vs if v]
    top = max(values) if values else 1.0
    left, bottom, right, head = 70, 40, 10, 28
    plot_w, plot_h = width - left - right, height - bottom - head
    group_w = plot_w / max(len(groups), 1)
    bar_w = group_w * 0.8 / max(len(series), 1)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + 18 * len(series)}" '
           f'font-family="sans-serif" font-size="11">',
           f'<text x="{left}" y="16" font-size="13" font-weight="bold">{escape(title)}</text>']
    for i in range(5):
        y = head + plot_h - plot_h * i / 4
        out.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{_short(top * i / 4)}{escape(unit)}</text>')
    for g, group in enumerate(groups):
        x0 = left + g * group_w + group_w * 0.1
        for s, (name, vs) in enumerate(series.items()):
            v = vs[g] if g < len(vs) else None
            if not v:
                continue
            h = plot_h * v / top
            x = x0 + s * bar_w
            out.append(f'<rect x="{x:.1f}" y="{head + plot_h - h:.1f}" width="{bar_w - 1:.1f}" height="{h:.1f}" '
                       f'fill="{PALETTE[s % len(PALETTE)]}"><title>{escape(name)} {escape(group)}: '
                       f'{v:,.4g}{escape(unit)}</title></rect>')
        out.append(f'<text x="{x0 + group_w * 0.4:.1f}" y="{head + plot_h + 14}" text-anchor="middle">'
                   f'{escape(group)}</text>')
    for s, name in enumerate(series):
        y = height + 18 * s
        out.append(f'<rect x="{left}" y="{y - 9}" width="10" height="10" fill="{PALETTE[s % len(PALETTE)]}"/>')
        out.append(f'<text x="{left + 14}" y="{y}">{escape(name)}</text>')
    out.append("</svg>")
    return "\n".join(out)


def _short(v: float) -> str:
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= div:
            return f"{v / div:.3g}{suffix}"
    return f"{v:.3g}"
