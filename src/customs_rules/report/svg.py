"""Inline SVG drawn here, for the HTML reports: horizontal bars, columns over time and small
link graphs. No xmlns and no reference to anything outside the page (the reports must
not name any URL). Every label goes through `html_parts.text`.

- `bar_chart(rows, label)`: one horizontal bar per row, made of coloured segments;
- `column_chart(rows, series, label, axis)`: stacked columns per time bucket;
- `link_graph(columns, edges, label)`: nodes in columns (exporter, persons or companies,
  consignee) joined by labelled edges.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from .html_parts import short, text

Segment = tuple[str, int, str]  # name, value, colour


def ticks(top: int) -> list[int]:
    """Round axis steps (1, 2, 5 × 10^k) so the analyst reads values off gridlines."""
    top = max(top, 1)
    mag = 10 ** math.floor(math.log10(top / 4))
    step = max(1, int(next(m * mag for m in (1, 2, 5, 10) if m * mag >= top / 4)))
    return list(range(0, math.ceil(top / step) * step + 1, step))


def svg_open(width: float, height: float, label: str, kind: str = "chart", bars: int | None = None) -> str:
    count = f' data-bars="{bars}"' if bars is not None else ""
    return (
        f'<svg class="{kind}"{count} width="{width:.0f}" height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'role="img" aria-label="{text(label)}"><title>{text(label)}</title>'
    )


def bar_chart(rows: Sequence[tuple[str, Sequence[Segment]]], label: str, empty: str = "Nothing to draw.") -> str:
    """Horizontal bars, one per row, each its segments side by side, with gridlines and
    the row's total at the end of its bar."""
    width, left, right, row_h, top = 900, 230, 70, 24, 24
    axis = ticks(max((sum(s[1] for s in segs) for _, segs in rows), default=0))
    scale = (width - left - right) / axis[-1]
    height = top + row_h * max(len(rows), 1) + 30
    out = [svg_open(width, height, label, bars=len(rows))]
    for t in axis:
        x = left + t * scale
        out.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{height - 26}" class="grid"/>')
        out.append(f'<text x="{x:.1f}" y="{height - 10}" text-anchor="middle">{t:,}</text>')
    for i, (name, segs) in enumerate(rows):
        y, x = top + i * row_h, float(left)
        out.append(
            f'<text x="{left - 8}" y="{y + 16}" text-anchor="end">{short(name, 32)}<title>{text(name)}</title></text>'
        )
        for what, n, fill in segs:
            if n:
                out.append(f'<rect class="bar" x="{x:.1f}" y="{y + 4}" width="{n * scale:.1f}" height="{row_h - 8}" '
                           f'fill="{fill}"><title>{text(name)}: {text(what)} {n:,}</title></rect>')  # fmt: skip
                x += n * scale
        out.append(f'<text x="{x + 6:.1f}" y="{y + 16}">{sum(s[1] for s in segs):,}</text>')
    if not rows:
        out.append(f'<text x="{width / 2}" y="{top + 10}" text-anchor="middle">{text(empty)}</text>')
    return "".join(out) + "</svg>"


def column_chart(
    rows: Sequence[tuple[str, Sequence[int]]], series: Sequence[tuple[str, str]], label: str, axis_label: str,
    height: int = 320,
) -> str:  # fmt: skip
    """Stacked columns over time (`rows`: bucket label, one value per `series` entry, whose
    names and colours these are), on a y axis of their own, with thinned date labels."""
    width, left, bottom, top = 900, 64, 46, 16
    axis = ticks(max((sum(v) for _, v in rows), default=0))
    plot_w, plot_h = width - left - 16, height - top - bottom
    scale, slot = plot_h / axis[-1], plot_w / max(len(rows), 1)
    out = [svg_open(width, height, label, bars=len(rows))]
    for t in axis:
        y = height - bottom - t * scale
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - 16}" y2="{y:.1f}" class="grid"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{t:,}</text>')
    out.append(
        f'<text transform="translate(14 {top + plot_h / 2}) rotate(-90)" text-anchor="middle">{text(axis_label)}</text>'
    )
    # Thin the x labels by their width (≈7 px a character at 12 px) so neighbours never touch
    fit = max(1, int(plot_w // (7 * len(rows[0][0]) + 18))) if rows else 1
    every = math.ceil(len(rows) / fit) or 1
    thick = min(max(slot * 0.8, 1), 48)  # a few buckets must not become slabs
    for i, (bucket, values) in enumerate(rows):
        x, y = left + i * slot + (slot - thick) / 2, float(height - bottom)
        bars = []
        for (name, fill), n in zip(series, values, strict=True):
            if n:  # stacked upwards from the baseline
                y -= n * scale
                bars.append(f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{thick:.1f}" height="{n * scale:.1f}" '
                            f'fill="{fill}"><title>{text(name)}: {n:,}</title></rect>')  # fmt: skip
        tip = ", ".join(f"{name} {n:,}" for (name, _), n in zip(series, values, strict=True))
        out.append(f"<g><title>{text(bucket)}: {text(tip)}</title>{''.join(bars)}</g>")
        if i % every == 0:
            out.append(f'<text x="{left + i * slot + slot / 2:.1f}" y="{height - bottom + 18}" '
                       f'text-anchor="middle">{text(bucket)}</text>')  # fmt: skip
    if not rows:
        out.append(f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle">No dated declarations.</text>')
    return "".join(out) + "</svg>"


@dataclass(frozen=True)
class Node:
    """A box of a link graph: `kind` is party (exporter, consignee), company, person or
    address; `detail` shows on hover."""

    label: str
    kind: str
    detail: str = ""


@dataclass(frozen=True)
class Edge:
    """From node `source` of column `column` to node `target` of the next column."""

    column: int
    source: int
    target: int
    label: str
    detail: str = ""


NODE_STYLE = {
    "party": 'fill="#eef3fb" stroke="#2c3e50" stroke-width="2"',
    "company": 'fill="#f4f4f4" stroke="#555"',
    "person": 'fill="#fdf3e1" stroke="#b07a00"',
    "address": 'fill="#ffffff" stroke="#777" stroke-dasharray="4 3"',
}


def link_graph(columns: Sequence[Sequence[Node]], edges: Sequence[Edge], label: str) -> str:
    """Columns of boxes left to right, each edge a line with its label above its middle."""
    box_w, box_h, gap_x, gap_y, pad = 200, 34, 70, 16, 8
    rows = max((len(c) for c in columns), default=1)
    width = pad * 2 + len(columns) * box_w + (len(columns) - 1) * gap_x
    height = pad * 2 + rows * box_h + (rows - 1) * gap_y + 14

    def place(col: int, index: int) -> tuple[float, float]:
        offset = (rows - len(columns[col])) * (box_h + gap_y) / 2  # each column centred
        return pad + col * (box_w + gap_x), pad + 14 + offset + index * (box_h + gap_y)

    out = [svg_open(width, height, label, kind="graph")]
    for e in edges:
        (x1, y1), (x2, y2) = place(e.column, e.source), place(e.column + 1, e.target)
        a, b = (x1 + box_w, y1 + box_h / 2), (x2, y2 + box_h / 2)
        out.append(f'<g><title>{text(e.detail or e.label)}</title><line x1="{a[0]:.1f}" y1="{a[1]:.1f}" '
                   f'x2="{b[0]:.1f}" y2="{b[1]:.1f}" stroke="#555" stroke-width="1.5"/>'
                   f'<text x="{(a[0] + b[0]) / 2:.1f}" y="{(a[1] + b[1]) / 2 - 4:.1f}" text-anchor="middle" '
                   f'font-size="11">{short(e.label, 14)}</text></g>')  # fmt: skip
    for col, nodes in enumerate(columns):
        for index, node in enumerate(nodes):
            x, y = place(col, index)
            style = NODE_STYLE.get(node.kind, NODE_STYLE["company"])
            out.append(f'<g><title>{text(node.detail or node.label)}</title><rect x="{x:.1f}" y="{y:.1f}" rx="5" '
                       f'width="{box_w}" height="{box_h}" {style}/><text x="{x + box_w / 2:.1f}" y="{y + 21:.1f}" '
                       f'text-anchor="middle">{short(node.label, 25)}</text></g>')  # fmt: skip
    return "".join(out) + "</svg>"
