"""Batch screening report: one self-contained HTML file a risk analyst opens offline.

The decisions are read in one pass into small counters, so a run of millions of rows costs memory
only per distinct rule, country, party and date. Charts are inline SVG drawn here: the file must
open on an air-gapped desk, so nothing (fonts, scripts, styles) is fetched from anywhere.
"""

from __future__ import annotations

import heapq
import math
import os
from collections import Counter
from collections.abc import Iterable
from datetime import date, timedelta
from html import escape
from pathlib import Path
from typing import Any

import pycountry

DECISIONS = ("hold", "inspect", "release")
COLORS = {"hold": "#c0392b", "inspect": "#e6a100", "release": "#3a8f5c"}
TOP = 20
UNIT_TEXT = {"day": "day", "week": "week starting Monday", "month": "month", "year": "year"}
RULE_ROWS = 50  # a ruleset has dozens of rules; the cap only guards against a runaway one

Counts = list[int]  # [hold, inspect, release]: a 3-int list is far smaller than a Counter per key


class Aggregate:
    """Counters filled one row at a time; nothing keeps a reference to a row."""

    def __init__(self) -> None:
        self.totals: Counter[str] = Counter()
        self.rules: dict[str, Counts] = {}
        self.countries: dict[str, Counts] = {}
        self.exporters: dict[str, Counts] = {}
        self.consignees: dict[str, Counts] = {}
        self.days: dict[date, Counts] = {}
        self.undated = 0

    def add(self, row: dict[str, Any]) -> None:
        decision = row["decision"]
        if decision not in DECISIONS:
            # The engine only says these three; anything else is a bug upstream, not a fourth column
            raise ValueError(f"declaration {row.get('declaration_id')!r}: unknown decision {decision!r}")
        i = DECISIONS.index(decision)
        self.totals[decision] += 1
        for rule_id in set(row.get("rule_ids") or ()):  # set: a rule that found twice is one hit
            self.rules.setdefault(str(rule_id), [0, 0, 0])[i] += 1
        self.countries.setdefault(str(row.get("destination_country") or "?").upper(), [0, 0, 0])[i] += 1
        self.exporters.setdefault(str(row.get("exporter") or ""), [0, 0, 0])[i] += 1
        self.consignees.setdefault(str(row.get("consignee") or ""), [0, 0, 0])[i] += 1
        try:
            day = date.fromisoformat(str(row.get("date"))[:10])
        except ValueError:
            self.undated += 1  # counted and shown, so the time chart never silently loses rows
            return
        self.days.setdefault(day, [0, 0, 0])[i] += 1


def write_report(path: Path, decisions: Iterable[dict[str, Any]], meta: dict[str, Any]) -> None:
    """Aggregate `decisions` (any iterable, read once) and write the HTML report to `path`."""
    agg = Aggregate()
    for row in decisions:
        agg.add(row)
    text = render(agg, meta)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)  # a half-written report must never look like a finished one


def render(agg: Aggregate, meta: dict[str, Any]) -> str:
    total = sum(agg.totals.values())
    rules = heapq.nlargest(RULE_ROWS, agg.rules.items(), key=lambda kv: (sum(kv[1]), kv[1][0], kv[1][1]))
    countries = heapq.nlargest(TOP, agg.countries.items(), key=flagged)
    exporters = heapq.nlargest(TOP, ((k, v) for k, v in agg.exporters.items() if v[0] + v[1]), key=flagged)
    consignees = heapq.nlargest(TOP, ((k, v) for k, v in agg.consignees.items() if v[0] + v[1]), key=flagged)
    unit, buckets = time_buckets(agg.days)
    title = escape(str(meta.get("title") or "Screening report"))
    parts = [
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>{CSP}',
        f"<style>{CSS}</style></head><body><h1>{title}</h1>",
        header(meta),
        '<section class="cards">',
        *(card(d, agg.totals[d], total) for d in DECISIONS),
        f'<div class="card"><b>{total:,}</b>declarations in this report</div></section>',
        LEGEND,
        f"<h2>Decisions over time (per {UNIT_TEXT[unit]}, by declaration date)</h2>",
        column_chart(buckets, unit),
        f'<p class="note">{agg.undated:,} declarations without a valid date are not in this chart.</p>'
        if agg.undated
        else "",
        f"<h2>Decisions by rule ({len(agg.rules):,} rules found)</h2>",
        bar_chart(rules[:TOP], "Declarations each rule found, by final decision"),
        table(["Rule", "Hits", "Holds", "Inspects", "Released"], [(k, sum(v), *v) for k, v in rules]),
        more(len(agg.rules), len(rules), "rules"),
        f"<h2>Destination countries (top {TOP} by holds and inspections)</h2>",
        table(["Country", "Declarations", "Holds", "Inspects", "Flagged"], [country_row(k, v) for k, v in countries]),
        more(len(agg.countries), len(countries), "countries"),
        f"<h2>Exporters with the most holds and inspections (top {TOP})</h2>",
        table(["Exporter", "Declarations", "Holds", "Inspects", "Flagged"], [party_row(k, v) for k, v in exporters]),
        f"<h2>Consignees with the most holds and inspections (top {TOP})</h2>",
        table(["Consignee", "Declarations", "Holds", "Inspects", "Flagged"], [party_row(k, v) for k, v in consignees]),
        f"<script>{CHECK_SCRIPT}</script></body></html>",
    ]
    return "\n".join(parts)


def flagged(item: tuple[str, Counts]) -> tuple[int, int, int]:
    """Rank by risk first (holds + inspects, then holds), volume only breaks ties."""
    v = item[1]
    return (v[0] + v[1], v[0], sum(v))


def header(meta: dict[str, Any]) -> str:
    inputs = ", ".join(str(p) for p in meta.get("inputs") or []) or "–"
    items = [
        ("Inputs", inputs),
        ("Screened at", meta.get("screened_at", "–")),
        ("Ruleset version", meta.get("ruleset_version", "–")),
        ("Lines read", num(meta.get("lines"))),
        ("Lines screened", num(meta.get("screened_lines"))),
        ("Lines rejected", num(meta.get("rejected_lines"))),
        ("Declarations screened", num(meta.get("screened"))),
        ("Declarations rejected", num(meta.get("rejected"))),
    ]
    return '<dl class="meta">' + "".join(f"<dt>{k}</dt><dd>{escape(str(v))}</dd>" for k, v in items) + "</dl>"


def num(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value if value is not None else "–")


def pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "–"


def card(decision: str, n: int, total: int) -> str:
    return f'<div class="card" style="border-color:{COLORS[decision]}"><b>{n:,}</b>{decision} ({pct(n, total)})</div>'


def more(distinct: int, shown: int, what: str) -> str:
    return f'<p class="note">{distinct - shown:,} more {what} not shown.</p>' if distinct > shown else ""


def country_row(code: str, v: Counts) -> tuple[Any, ...]:
    country = pycountry.countries.get(alpha_2=code) if len(code) == 2 else None
    name = f"{code} {country.name}" if country else code
    return (name, sum(v), v[0], v[1], pct(v[0] + v[1], sum(v)))


def party_row(name: str, v: Counts) -> tuple[Any, ...]:
    return (name or "(blank)", sum(v), v[0], v[1], pct(v[0] + v[1], sum(v)))


def table(head: list[str], rows: list[tuple[Any, ...]]) -> str:
    if not rows:
        return '<p class="note">None.</p>'
    cells = "".join(
        "<tr>" + "".join(f"<td>{escape(num(c))}</td>" for c in row) + "</tr>" for row in rows
    )  # every cell goes through escape: declared names are untrusted text
    return (
        "<table><thead><tr>" + "".join(f"<th>{h}</th>" for h in head) + f"</tr></thead><tbody>{cells}</tbody></table>"
    )


def time_buckets(days: dict[date, Counts]) -> tuple[str, list[tuple[str, Counts]]]:
    """Per day, week, month or year so the chart keeps at most ~120 bars; empty buckets stay as gaps."""
    if not days:
        return "day", []
    first, last = min(days), max(days)
    span = (last - first).days
    unit = "day" if span <= 62 else "week" if span <= 730 else "month" if span <= 3650 else "year"
    out: dict[date, Counts] = {}
    for day, v in days.items():
        c = out.setdefault(bucket(day, unit), [0, 0, 0])
        for i in range(3):
            c[i] += v[i]
    start, end, rows = bucket(first, unit), bucket(last, unit), []
    while True:
        label = start.strftime({"day": "%Y-%m-%d", "week": "%Y-%m-%d", "month": "%Y-%m", "year": "%Y"}[unit])
        rows.append((label, out.get(start, [0, 0, 0])))
        if start >= end:  # stop before stepping: the bucket after year 9999 does not exist
            return unit, rows
        start = following(start, unit)


def bucket(day: date, unit: str) -> date:
    if unit == "week":
        return day - timedelta(days=day.weekday())  # weeks start on Monday (ISO)
    if unit == "month":
        return day.replace(day=1)
    return day.replace(month=1, day=1) if unit == "year" else day


def following(start: date, unit: str) -> date:
    if unit in ("day", "week"):
        return start + timedelta(days=1 if unit == "day" else 7)
    if unit == "month" and start.month < 12:
        return start.replace(month=start.month + 1)
    return start.replace(year=start.year + 1, month=1)


def ticks(top: int) -> list[int]:
    """Round axis steps (1, 2, 5 × 10^k) so the analyst reads values off gridlines."""
    top = max(top, 1)
    mag = 10 ** math.floor(math.log10(top / 4))
    step = max(1, int(next(m * mag for m in (1, 2, 5, 10) if m * mag >= top / 4)))
    return list(range(0, math.ceil(top / step) * step + 1, step))


def segments(counts: Counts, x: float, y: float, scale: float, thick: float, vertical: bool) -> str:
    out = []
    for d, n in zip(DECISIONS, counts, strict=True):
        if not n:
            continue
        size = n * scale
        if vertical:  # stacked upwards from the baseline y
            y -= size
            out.append(f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{thick:.1f}" height="{size:.1f}" ')
        else:
            out.append(f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{size:.1f}" height="{thick:.1f}" ')
            x += size
        out[-1] += f'fill="{COLORS[d]}"><title>{d}: {n:,}</title></rect>'
    return "".join(out)


def bar_chart(rows: list[tuple[str, Counts]], label: str) -> str:
    """Horizontal stacked bars, one per rule, with gridlines and a count at the end of each bar."""
    width, left, right, row_h, top = 900, 230, 70, 24, 24
    axis = ticks(max((sum(v) for _, v in rows), default=0))
    scale = (width - left - right) / axis[-1]
    height = top + row_h * max(len(rows), 1) + 30
    out = [svg_open(width, height, len(rows), label)]
    for t in axis:
        x = left + t * scale
        out.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{height - 26}" class="grid"/>')
        out.append(f'<text x="{x:.1f}" y="{height - 10}" text-anchor="middle">{t:,}</text>')
    for i, (name, v) in enumerate(rows):
        y = top + i * row_h
        short = name if len(name) <= 32 else name[:31] + "…"
        out.append(
            f'<text x="{left - 8}" y="{y + 16}" text-anchor="end">{escape(short)}<title>{escape(name)}</title></text>'
        )
        out.append(segments(v, left, y + 4, scale, row_h - 8, vertical=False))
        out.append(f'<text x="{left + sum(v) * scale + 6:.1f}" y="{y + 16}">{sum(v):,}</text>')
    if not rows:
        out.append(f'<text x="{width / 2}" y="{top + 10}" text-anchor="middle">No rule found anything.</text>')
    return "".join(out) + "</svg>"


def column_chart(rows: list[tuple[str, Counts]], unit: str) -> str:
    """Vertical stacked columns over time, with a y axis, gridlines and thinned date labels."""
    width, height, left, bottom, top = 900, 320, 64, 46, 16
    axis = ticks(max((sum(v) for _, v in rows), default=0))
    plot_w, plot_h = width - left - 16, height - top - bottom
    scale, slot = plot_h / axis[-1], plot_w / max(len(rows), 1)
    out = [svg_open(width, height, len(rows), f"Declarations per {unit}: hold, inspect, release")]
    for t in axis:
        y = height - bottom - t * scale
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - 16}" y2="{y:.1f}" class="grid"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{t:,}</text>')
    out.append(
        f'<text transform="translate(14 {top + plot_h / 2}) rotate(-90)" text-anchor="middle">declarations</text>'
    )
    # Thin the x labels by their width (≈7 px a character at 12 px) so neighbours never touch
    fit = max(1, int(plot_w // (7 * len(rows[0][0]) + 18))) if rows else 1
    every = math.ceil(len(rows) / fit) or 1
    for i, (label, v) in enumerate(rows):
        x = left + i * slot
        thick = min(max(slot * 0.8, 1), 48)  # a few buckets must not become slabs
        bar = segments(v, x + (slot - thick) / 2, height - bottom, scale, thick, vertical=True)
        tip = ", ".join(f"{d} {n:,}" for d, n in zip(DECISIONS, v, strict=True))
        out.append(f"<g><title>{escape(label)}: {tip}</title>{bar}</g>")
        if i % every == 0:
            out.append(
                f'<text x="{x + slot / 2:.1f}" y="{height - bottom + 18}" text-anchor="middle">{escape(label)}</text>'
            )
    if not rows:
        out.append(f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle">No dated declarations.</text>')
    return "".join(out) + "</svg>"


def svg_open(width: int, height: int, bars: int, label: str) -> str:
    # No xmlns: inline SVG in HTML needs none, and the report must not name any URL at all
    return (
        f'<svg class="chart" data-bars="{bars}" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{escape(label)}"><title>{escape(label)}</title>'
    )


# The browser itself then refuses any fetch, so a stray reference can never leak an analyst's view
CSP = (
    '<meta http-equiv="Content-Security-Policy" '
    "content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'\">"
)
LEGEND = '<p class="legend">' + "".join(f'<span style="background:{c}"></span>{d} ' for d, c in COLORS.items()) + "</p>"

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:960px;color:#222}
h1{margin:0 0 8px}h2{margin:28px 0 8px;font-size:18px;border-bottom:1px solid #ddd}
.meta{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:0}.meta dt{color:#666}.meta dd{margin:0}
.cards{display:flex;gap:12px;margin:16px 0}.card{flex:1;border:1px solid #ccc;border-left-width:6px;padding:8px 12px}
.card b{display:block;font-size:22px}.note{color:#666;font-size:13px}
.legend span{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px;vertical-align:-1px}
svg.chart{max-width:100%;height:auto;font-size:12px}svg.chart .grid{stroke:#e3e3e3}
table{border-collapse:collapse;width:100%}th,td{padding:3px 8px;border-bottom:1px solid #eee;text-align:right}
th:first-child,td:first-child{text-align:left;word-break:break-word}th{background:#f5f5f5}
"""

# Proof for tests and for anyone suspicious: count charts the browser actually laid out with a visible bar
CHECK_SCRIPT = """(function(){var n=0;document.querySelectorAll('svg.chart').forEach(function(s){
var b=s.getBoundingClientRect();if(!(b.width>0&&b.height>0))return;
if(Array.prototype.some.call(s.querySelectorAll('rect'),function(r){var q=r.getBoundingClientRect();
return q.width>0&&q.height>0;}))n++;});document.body.dataset.chartsDrawn=String(n);})();"""
