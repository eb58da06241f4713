"""The batch report's data, filled one declaration at a time: counters (per decision, rule,
country, party and day) and the held and inspected declarations kept for its list.

A run of millions of declarations costs memory per distinct rule, country, party and date,
plus at most `LIST_CAP` listed declarations: the list keeps the first `LIST_CAP` by
decision (holds first), then score (highest first), then input order, and counts the rest.
"""

from __future__ import annotations

import heapq
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

DECISIONS = ("hold", "inspect", "release")
LIST_CAP = 200  # declarations listed with their evidence; the report says how many more there are

Counts = list[int]  # [hold, inspect, release]: a 3-int list is far smaller than a Counter per key


@dataclass
class Listed:
    """A held or inspected declaration as the list shows it: its summary, its findings
    (`rule_id, title, action, score, item_line, evidence` as in the decision JSON), the
    ids of the test rules that found, and per role its party's registry and watchlist
    evidence (`screening.core.CoreResult.party_evidence`; empty when not recorded)."""

    declaration_id: str
    decision: str
    score: float
    date: str
    exporter: str
    consignee: str
    destination_country: str
    findings: list[dict[str, Any]]
    test_rule_ids: list[str]
    parties: dict[str, dict[str, Any]]


@dataclass
class FlaggedList:
    """The first `cap` held or inspected declarations (holds first, then by score, then
    in input order), in a bounded heap whose top is the one to drop next; `seen` counts
    every held and inspected one, listed or not."""

    cap: int = LIST_CAP
    seen: Counter[str] = field(default_factory=Counter)
    _heap: list[tuple[int, float, int, Listed]] = field(default_factory=list)

    def offer(self, row: dict[str, Any], text: str | None = None) -> None:
        """`row`: a summary row (`workflow.batch.summary_rows`, with the report's extras);
        its findings come from `row["findings"]` or, only when it is listed, from `text`
        (the decision's JSON line), so most rows of a large run are never parsed."""
        decision = row["decision"]
        if decision == "release":
            return
        self.seen[decision] += 1
        # the heap's top is the worst kept: the lowest rank, then score, then the latest
        key = (-DECISIONS.index(decision), float(row.get("score") or 0), -sum(self.seen.values()))
        if self.cap <= 0 or (len(self._heap) >= self.cap and key <= self._heap[0][:3]):
            return
        entry = (*key, listed(row, text))
        if len(self._heap) < self.cap:
            heapq.heappush(self._heap, entry)
        else:
            heapq.heapreplace(self._heap, entry)

    def entries(self) -> list[Listed]:
        """The listed declarations, holds first, then by score, then in input order."""
        return [e[3] for e in sorted(self._heap, reverse=True)]

    @property
    def left_out(self) -> int:
        return sum(self.seen.values()) - len(self._heap)


def listed(row: dict[str, Any], text: str | None) -> Listed:
    body = row if "findings" in row or not text else json.loads(text)
    return Listed(
        str(row["declaration_id"]), row["decision"], float(row.get("score") or 0), str(row.get("date") or ""),
        str(row.get("exporter") or ""), str(row.get("consignee") or ""), str(row.get("destination_country") or ""),
        list(body.get("findings") or []), [str(f.get("rule_id")) for f in body.get("test_findings") or []],
        dict(row.get("parties") or {}),
    )  # fmt: skip


class Aggregate:
    """Counters filled one row at a time, and the list of flagged declarations; nothing
    else keeps a reference to a row."""

    def __init__(self, cap: int = LIST_CAP) -> None:
        self.totals: Counter[str] = Counter()
        self.rules: dict[str, Counts] = {}
        self.actions: dict[str, str] = {}  # each rule's own action, as its findings say
        self.countries: dict[str, Counts] = {}
        self.exporters: dict[str, Counts] = {}
        self.consignees: dict[str, Counts] = {}
        self.days: dict[date, Counts] = {}
        self.undated = 0
        self.flagged = FlaggedList(cap)

    def add(self, row: dict[str, Any], text: str | None = None) -> None:
        decision = row["decision"]
        if decision not in DECISIONS:
            # The engine only says these three; anything else is a bug upstream, not a fourth column
            raise ValueError(f"declaration {row.get('declaration_id')!r}: unknown decision {decision!r}")
        i = DECISIONS.index(decision)
        self.totals[decision] += 1
        rule_ids = [str(r) for r in row.get("rule_ids") or ()]
        for rule_id, action in zip(rule_ids, row.get("rule_actions") or (), strict=False):
            self.actions.setdefault(rule_id, str(action))
        for finding in row.get("findings") or ():
            self.actions.setdefault(str(finding.get("rule_id")), str(finding.get("action")))
        for rule_id in set(rule_ids):  # set: a rule that found twice is one hit
            self.rules.setdefault(rule_id, [0, 0, 0])[i] += 1
        self.countries.setdefault(str(row.get("destination_country") or "?").upper(), [0, 0, 0])[i] += 1
        self.exporters.setdefault(str(row.get("exporter") or ""), [0, 0, 0])[i] += 1
        self.consignees.setdefault(str(row.get("consignee") or ""), [0, 0, 0])[i] += 1
        self.flagged.offer(row, text)
        try:
            day = date.fromisoformat(str(row.get("date"))[:10])
        except ValueError:
            self.undated += 1  # counted and shown, so the time chart never silently loses rows
            return
        self.days.setdefault(day, [0, 0, 0])[i] += 1


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
