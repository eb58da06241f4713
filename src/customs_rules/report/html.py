"""Batch screening report: one self-contained HTML file a risk analyst opens offline.

The decisions are read in one pass into small counters and a bounded list of the held
and inspected declarations (`aggregate`), so a run of millions of rows costs memory only
per distinct rule, country, party and date. What it shows, top to bottom:

- the run (inputs, ruleset version, lines and declarations) and the decision totals;
- holds and inspections over time, each on its own scale, then all declarations;
- the rules that found, each bar coloured by the rule's own action (hold, inspect);
- destinations, exporters and consignees with the most holds and inspections;
- the held and inspected declarations, with their rules, evidence and link graphs (`flagged`).

Charts are inline SVG (`svg`), the page shell and escaping are shared (`html_parts`).
"""

from __future__ import annotations

import heapq
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pycountry

from . import flagged
from .aggregate import DECISIONS, LIST_CAP, Aggregate, Counts, time_buckets
from .html_parts import COLORS, color, legend, num, page, pct, table, text
from .svg import bar_chart, column_chart

__all__ = ["COLORS", "LIST_CAP", "Aggregate", "render", "time_buckets", "write_aggregate", "write_report"]

TOP = 20
UNIT_TEXT = {"day": "day", "week": "week starting Monday", "month": "month", "year": "year"}
RULE_ROWS = 50  # a ruleset has dozens of rules; the cap only guards against a runaway one


def write_report(path: Path, decisions: Iterable[dict[str, Any]], meta: dict[str, Any]) -> None:
    """Aggregate `decisions` (summary rows, any iterable, read once) and write the report."""
    agg = Aggregate()
    for row in decisions:
        agg.add(row)
    write_aggregate(path, agg, meta)


def write_aggregate(path: Path, agg: Aggregate, meta: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(render(agg, meta), encoding="utf-8")
    os.replace(tmp, path)  # a half-written report must never look like a finished one


def render(agg: Aggregate, meta: dict[str, Any]) -> str:
    total = sum(agg.totals.values())
    countries = heapq.nlargest(TOP, agg.countries.items(), key=ranked)
    exporters = heapq.nlargest(TOP, ((k, v) for k, v in agg.exporters.items() if v[0] + v[1]), key=ranked)
    consignees = heapq.nlargest(TOP, ((k, v) for k, v in agg.consignees.items() if v[0] + v[1]), key=ranked)
    body = [
        header(meta),
        '<section class="cards">',
        *(card(d, agg.totals[d], total) for d in DECISIONS),
        f'<div class="card"><b>{total:,}</b>declarations in this report</div></section>',
        '<p><a href="#flagged">Held and inspected declarations ↓</a></p>',
        *over_time(agg),
        *by_rule(agg),
        f"<h2>Destination countries (top {TOP} by holds and inspections)</h2>",
        table(["Country", "Declarations", "Holds", "Inspects", "Flagged"], [country_row(k, v) for k, v in countries]),
        more(len(agg.countries), len(countries), "countries"),
        f"<h2>Exporters with the most holds and inspections (top {TOP})</h2>",
        table(["Exporter", "Declarations", "Holds", "Inspects", "Flagged"], [party_row(k, v) for k, v in exporters]),
        f"<h2>Consignees with the most holds and inspections (top {TOP})</h2>",
        table(["Consignee", "Declarations", "Holds", "Inspects", "Flagged"], [party_row(k, v) for k, v in consignees]),
        flagged.section(agg.flagged),
    ]
    return page(str(meta.get("title") or "Screening report"), body, flagged.CSS)


def over_time(agg: Aggregate) -> list[str]:
    """Holds and inspections each on a scale of its own (a few holds among thousands of
    releases stay visible), then every declaration stacked by decision."""
    unit, buckets = time_buckets(agg.days)
    per = UNIT_TEXT[unit]
    charts = [f"<h2>Holds and inspections over time (per {per}, by declaration date)</h2>"]
    for i, decision in enumerate(DECISIONS[:2]):
        rows = [(label, [v[i]]) for label, v in buckets]
        series = [(decision, COLORS[decision])]
        charts += [legend([(f"{decision}s per {unit}, on a scale of their own", COLORS[decision])]),
                   column_chart(rows, series, f"{decision.capitalize()}s per {unit}", f"{decision}s", 200)]  # fmt: skip
    charts += [
        f"<h2>All declarations over time (per {per})</h2>",
        legend([(d, COLORS[d]) for d in DECISIONS], "final decision:"),
        column_chart(
            buckets, [(d, COLORS[d]) for d in DECISIONS], f"Declarations per {unit} by decision", "declarations"
        ),
    ]
    if agg.undated:
        charts.append(f'<p class="note">{agg.undated:,} declarations without a valid date are not in these charts.</p>')
    return charts


def by_rule(agg: Aggregate) -> list[str]:
    """Each rule's bar in the colour of its own action (an inspect rule is never drawn as a
    hold because another rule held the declaration); the table splits its hits by decision."""
    rules = heapq.nlargest(RULE_ROWS, agg.rules.items(), key=lambda kv: (sum(kv[1]), kv[1][0], kv[1][1]))
    actions = {rule: agg.actions.get(rule, "unknown") for rule, _ in rules}
    bars = [(rule, [(f"{actions[rule]} rule, declarations found", sum(v), color(actions[rule]))]) for rule, v in rules]
    kinds = ["hold", "inspect", *sorted(set(actions.values()) - {"hold", "inspect"})]
    return [
        f"<h2>Rules that found ({len(agg.rules):,} rules)</h2>",
        legend([(f"{a} rule", color(a)) for a in kinds], "bar colour = the rule's own action:"),
        bar_chart(bars[:TOP], "Declarations each rule found, coloured by the rule's action", "No rule found anything."),
        table(
            ["Rule", "Action", "Declarations", "Held", "Inspected", "Released"],
            [(k, actions[k], sum(v), *v) for k, v in rules],
        ),  # fmt: skip
        '<p class="note">Held, inspected, released: the final decisions of the declarations the rule found '
        "(a declaration is held when any of its rules holds, or its score reaches the policy's threshold).</p>",
        more(len(agg.rules), len(rules), "rules"),
    ]


def ranked(item: tuple[str, Counts]) -> tuple[int, int, int]:
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
    return '<dl class="meta">' + "".join(f"<dt>{k}</dt><dd>{text(v)}</dd>" for k, v in items) + "</dl>"


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
