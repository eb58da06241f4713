"""A backtest drawn as one self-contained HTML file (`backtest --report FILE.html`).

It is drawn from the JSON summary object and the changed declarations: the from -> to
matrix, each pack's inspection load and confirmed cases, hits per rule as paired bars, and
the first declarations that change. Nothing is fetched from anywhere (the page forbids it),
no script runs, and every text from the data goes through `html.escape`: declared names
are untrusted.
"""

from __future__ import annotations

import os
from html import escape
from pathlib import Path
from typing import Any

__all__ = ["CHANGE_ROWS", "render_backtest", "write_backtest_report"]

DECISIONS = ("release", "inspect", "hold")
COLORS = {"hold": "#c0392b", "inspect": "#e6a100", "release": "#3a8f5c"}
SIDES = {"baseline": "#7f8c8d", "candidate": "#2c6fbb"}
CHANGE_ROWS = 1_000  # the page lists this many changes at most; --out has them all
RULE_ROWS = 100
CSP = (
    '<meta http-equiv="Content-Security-Policy" '
    "content=\"default-src 'none'; style-src 'unsafe-inline'\">"
)  # fmt: skip
CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:980px;color:#222}
h1{margin:0 0 8px}h2{margin:28px 0 8px;font-size:18px;border-bottom:1px solid #ddd}
.meta{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:0}.meta dt{color:#666}.meta dd{margin:0}
.note{color:#666;font-size:13px}table{border-collapse:collapse;width:100%}
th,td{padding:3px 8px;border-bottom:1px solid #eee;text-align:right}
th:first-child,td:first-child{text-align:left;word-break:break-word}th{background:#f5f5f5;white-space:nowrap}
td.same{color:#888}td.up{background:#fdecea}td.down{background:#eaf6ee}
.legend span{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px;vertical-align:-1px}
svg{max-width:100%;height:auto;font-size:12px}
"""


def write_backtest_report(path: Path, summary: dict[str, Any], changes: list[dict[str, Any]]) -> None:
    text = render_backtest(summary, changes)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)  # a half-written report must never look like a finished one


def render_backtest(summary: dict[str, Any], changes: list[dict[str, Any]]) -> str:
    parts = [
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">", CSP,
        "<title>customs-rules backtest</title>", f"<style>{CSS}</style></head><body>",
        "<h1>Backtest: candidate rule pack against the baseline</h1>", _meta(summary),
        "<h2>Decisions, baseline (rows) to candidate (columns)</h2>", _matrix(summary),
        "<h2>Each pack</h2>", _sides(summary),
        "<h2>Hits per rule (declarations)</h2>", _rules(summary["rules"]),
        f"<h2>Declarations whose decision changes ({len(changes):,})</h2>", _changes(changes),
        "</body></html>",
    ]  # fmt: skip
    return "\n".join(parts)


def _e(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, list):
        value = ", ".join(str(v) for v in value)
    return escape(f"{value:,}" if isinstance(value, int) else str(value))


def _meta(summary: dict[str, Any]) -> str:
    period = f"{summary['declared_since'] or 'any'} to {summary['declared_until'] or 'any'}"
    items = [
        ("Run at", summary["run_at"]),
        ("Candidate", f"{summary['candidate']['rules']} ({summary['candidate']['version']})"),
        ("Baseline", f"{summary['baseline']['rules']} ({summary['baseline']['version']})"),
        ("Declared", period),
        ("Registry", summary["registry"]),
        ("Declarations", summary["declarations"]),
        ("Lines", summary["lines"]),
        ("Decisions that change", summary["changed"]),
    ]
    return '<dl class="meta">' + "".join(f"<dt>{k}</dt><dd>{_e(v)}</dd>" for k, v in items) + "</dl>"


def _matrix(summary: dict[str, Any]) -> str:
    level = {d: n for n, d in enumerate(DECISIONS)}
    head = "<tr><th>from \\ to</th>" + "".join(f"<th>{d}</th>" for d in DECISIONS) + "<th>total</th></tr>"
    rows = []
    for was in DECISIONS:
        row = summary["matrix"][was]
        cells = []
        for to in DECISIONS:
            kind = "same" if to == was else "up" if level[to] > level[was] else "down"
            cells.append(f'<td class="{kind}">{_e(row[to])}</td>')
        rows.append(f"<tr><td>{was}</td>{''.join(cells)}<td>{_e(sum(row.values()))}</td></tr>")
    note = '<p class="note">Red: stricter under the candidate; green: more lenient.</p>'
    return f"<table><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>{note}"


def _sides(summary: dict[str, Any]) -> str:
    confirmed = summary["confirmed"]
    rows = [("hold", *(summary["decisions"][s]["hold"] for s in SIDES)),
            ("inspect", *(summary["decisions"][s]["inspect"] for s in SIDES)),
            ("inspection load (inspect or hold)", *(f"{summary['load'][s]:.2%}" for s in SIDES)),
            (f"confirmed cases caught (of {confirmed['total']:,})", *(confirmed[s]["caught"] for s in SIDES)),
            ("confirmed cases missed", *(confirmed[s]["missed"] for s in SIDES))]  # fmt: skip
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows)
    table = f"<table><thead><tr><th></th><th>baseline</th><th>candidate</th></tr></thead><tbody>{body}</tbody></table>"
    lists = []
    only = (("caught_only_by_candidate", "Caught only by the candidate"),
            ("caught_only_by_baseline", "Caught only by the baseline (the candidate misses them)"))  # fmt: skip
    for key, what in only:
        if confirmed[key]:
            lists.append(f'<p class="note">{what}: {_e(confirmed[key])}</p>')
    return table + "".join(lists)


def _rules(rules: list[dict[str, Any]]) -> str:
    shown = rules[:RULE_ROWS]
    if not shown:
        return '<p class="note">No rule found anything.</p>'
    top = max(max(r["baseline"]["hits"], r["candidate"]["hits"]) for r in shown) or 1
    label, width, bar, gap = 300, 760, 12, 6
    height = len(shown) * (2 * bar + gap) + 10
    out = [f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
           f'aria-label="hits per rule"><title>hits per rule, baseline and candidate</title>']  # fmt: skip
    for n, rule in enumerate(shown):
        y = 5 + n * (2 * bar + gap)
        was, now = (rule[side]["status"] or "absent" for side in SIDES)
        name = rule["rule_id"] + ("" if was == now == "active" else f" ({now})" if was == now else f" ({was} → {now})")
        out.append(f'<text x="{label - 6}" y="{y + bar + 3}" text-anchor="end">{_e(name)}</text>')
        for k, side in enumerate(SIDES):
            hits = rule[side]["hits"]
            w = (width - label - 70) * hits / top
            out.append(f'<rect x="{label}" y="{y + k * bar}" width="{w:.1f}" height="{bar - 1}" fill="{SIDES[side]}">'
                       f"<title>{side}: {hits:,}</title></rect>")  # fmt: skip
            out.append(f'<text x="{label + w + 4:.1f}" y="{y + k * bar + bar - 2}" font-size="10">{hits:,}</text>')
    out.append("</svg>")
    legend = '<p class="legend">' + "".join(f'<span style="background:{c}"></span>{s} ' for s, c in SIDES.items())
    more = f'<p class="note">{len(rules) - len(shown):,} more rules not shown.</p>' if len(rules) > len(shown) else ""
    return legend + "</p>" + "".join(out) + more


def _changes(changes: list[dict[str, Any]]) -> str:
    if not changes:
        return '<p class="note">None: the candidate decides every declaration as the baseline does.</p>'
    columns = ["declaration_id", "date", "exporter", "consignee", "from", "to", "rules_added", "rules_removed",
               "outcome"]  # fmt: skip
    head = "".join(f"<th>{c}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_e(row[c])}</td>" for c in columns) + "</tr>" for row in changes[:CHANGE_ROWS]
    )
    more = ""
    if len(changes) > CHANGE_ROWS:
        more = f'<p class="note">{len(changes) - CHANGE_ROWS:,} more not shown: --out FILE writes them all.</p>'
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}"
