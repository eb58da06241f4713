"""History facts, the plain-Python definition: what a party did before a declaration.

This is the reference the columnar computation (`screening/history.py`) is held against
(tests/test_history.py, hypothesis over random histories). Every fact is computed **as
of the declaration's date**: only declarations dated strictly before it count (no
look-ahead), one per declaration id (the newest revision: an identical declaration
submitted again counts once), never the declaration itself. Windows, cut-off dates and
thresholds come from the pack's history settings (`rules/history.py`).

A party's identity in history is `party_key`: its declared id (normalised), else its
name key (legal forms dropped, any script). Not the registry's company: the registry is
today's snapshot, and what a party did on a past date must not change with it; and the
key is computed without the registry, so a batch's pre-pass can key a whole file cheaply.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..entities.names import spelling_keys
from ..entities.persons import normalize_id
from ..rules.history import HistorySettings

EXPORTS = ("export", "re-export")  # the procedures that ship goods out
IMPORT = "import"
FLAG_REASONS = ("hold", "seized", "irregularity")


def since_detail(declaration_id: str, date: dt.date) -> dict[str, Any]:
    """The evidence of `history.since`: the earliest declaration of the history before."""
    return {"declarations": [{"declaration_id": declaration_id, "date": date.isoformat()}], "count": 1}


def party_key(ident: str | None, name: str) -> str:
    """A party's identity in history: `id:<normalised id>`, else `name:<name key>`."""
    normal = normalize_id(ident)
    if normal:
        return f"id:{normal}"
    return "name:" + (spelling_keys(name)[0] or name.casefold())


@dataclass(frozen=True)
class PastDeclaration:
    """A declaration as history sees it: who, when, which goods at what value."""

    declaration_id: str
    date: dt.date
    procedure: str
    exporter_key: str
    consignee_key: str
    items: tuple[tuple[str, float | None], ...]  # (hs_code, value)


@dataclass(frozen=True)
class PastFlag:
    """A party's declaration held, or found seized or irregular by an inspection, on `date`
    (when the decision was made, or the outcome recorded)."""

    declaration_id: str
    date: dt.date
    keys: tuple[str, str]  # its exporter's and consignee's party keys
    reason: str  # hold | seized | irregularity


def money(value: float) -> float:
    """Sums of values are rounded to the cent: the columnar and the plain sums may add in
    another order."""
    return round(value, 2)


def distinct(history: Iterable[PastDeclaration]) -> dict[str, PastDeclaration]:
    """One per declaration id: the last given wins (the newest revision; a batch's own
    declarations come after the store's)."""
    return {past.declaration_id: past for past in history}


def history_values(
    declaration_id: str, date: dt.date, procedure: str, exporter_key: str, consignee_key: str, hs_codes: Sequence[str],
    history: dict[str, PastDeclaration], flags: Sequence[PastFlag], settings: HistorySettings,
    listed: Callable[[str], bool],
) -> tuple[dict[str, Any], list[Any], dict[str, Any]]:  # fmt: skip
    """(header facts, one `item.history_reexport_imports` per hs code, evidence per fact)."""
    before = [p for p in history.values() if p.date < date and p.declaration_id != declaration_id]
    before.sort(key=lambda p: (p.date, p.declaration_id))

    def listed_value(past: PastDeclaration) -> float:
        return math.fsum(v or 0.0 for hs, v in past.items if listed(hs))

    shipped = [p for p in before if any(listed(hs) for hs, _ in p.items)]
    facts: dict[str, Any] = {"history.since": before[0].date.isoformat() if before else None}
    details: dict[str, Any] = {}
    if before:
        details["history.since"] = since_detail(before[0].declaration_id, before[0].date)
    limit = settings.evidence_limit

    def named(rows: list[PastDeclaration], **extra: Any) -> dict[str, Any]:
        listed_rows = [{"declaration_id": p.declaration_id, "date": p.date.isoformat(), "value": money(listed_value(p))}
                       for p in rows[-limit:]]  # fmt: skip
        return {"declarations": listed_rows, "count": len(rows)} | extra

    own = [p for p in shipped if p.exporter_key == exporter_key]
    first = own[0] if own else None
    facts["history.exporter_first_listed_on"] = first.date.isoformat() if first else None
    facts["history.exporter_listed_before_cutoff"] = bool(own) and own[0].date < settings.cutoff
    if first is not None:
        early = [p for p in own if p.date < settings.cutoff]
        details["history.exporter_first_listed_on"] = named([first])
        details["history.exporter_listed_before_cutoff"] = named(early, cutoff=settings.cutoff.isoformat())
    else:
        details["history.exporter_listed_before_cutoff"] = {"cutoff": settings.cutoff.isoformat(), "count": 0}
    recent_from = date - dt.timedelta(days=settings.recent_days)
    baseline_from = recent_from - dt.timedelta(days=settings.baseline_days)
    for role, key in (("exporter", exporter_key), ("consignee", consignee_key)):
        mine = [p for p in shipped if (p.exporter_key if role == "exporter" else p.consignee_key) == key]
        recent = [p for p in mine if p.date >= recent_from]
        baseline = [p for p in mine if baseline_from <= p.date < recent_from]
        recent_value = money(math.fsum(listed_value(p) for p in recent))
        baseline_value = money(math.fsum(listed_value(p) for p in baseline))
        prefix = f"history.{role}_listed_"
        facts |= {
            f"{prefix}recent_value": recent_value, f"{prefix}recent_count": len(recent),
            f"{prefix}baseline_value": baseline_value, f"{prefix}baseline_count": len(baseline),
            f"{prefix}ratio": ratio(recent_value, baseline_value, settings),
        }  # fmt: skip
        windows = {"recent": [recent_from.isoformat(), date.isoformat()],
                   "baseline": [baseline_from.isoformat(), recent_from.isoformat()]}  # fmt: skip
        if recent:
            details[f"{prefix}recent_value"] = details[f"{prefix}recent_count"] = named(
                recent, window=windows["recent"]
            )
        if baseline:
            shown = named(baseline, window=windows["baseline"])
            details[f"{prefix}baseline_value"] = details[f"{prefix}baseline_count"] = shown
        # the ratio's evidence names the declarations of both windows, as the counts' do
        details[f"{prefix}ratio"] = {"recent_value": recent_value, "baseline_value": baseline_value,
                                     "recent_days": settings.recent_days, "baseline_days": settings.baseline_days,
                                     "windows": windows, "recent": named(recent),
                                     "baseline": named(baseline)}  # fmt: skip
    split_from = date - dt.timedelta(days=settings.split_days)
    split = [p for p in shipped if p.consignee_key == consignee_key and p.date >= split_from]
    facts["history.consignee_split_count"] = len(split)
    facts["history.consignee_split_value"] = money(math.fsum(listed_value(p) for p in split))
    if split:
        details["history.consignee_split_count"] = details["history.consignee_split_value"] = named(
            split, window=[split_from.isoformat(), date.isoformat()]
        )
    flags_from = date - dt.timedelta(days=settings.flags_days)
    for role, key in (("exporter", exporter_key), ("consignee", consignee_key)):
        hits: dict[str, list[PastFlag]] = {}
        for flag in flags:
            if key in flag.keys and flags_from <= flag.date < date and flag.declaration_id != declaration_id:
                hits.setdefault(flag.declaration_id, []).append(flag)
        facts[f"history.{role}_prior_flags"] = len(hits)
        if hits:
            latest = sorted(hits.items(), key=lambda kv: (min(f.date for f in kv[1]), kv[0]))[-limit:]
            details[f"history.{role}_prior_flags"] = {
                "count": len(hits), "window": [flags_from.isoformat(), date.isoformat()],
                "declarations": [{"declaration_id": ident, "flags": sorted({(f.date.isoformat(), f.reason)
                                                                          for f in fs})}
                                 for ident, fs in latest],
            }  # fmt: skip
    if procedure not in EXPORTS:
        return facts, [(0, None) for _ in hs_codes], details
    reexports = [reexport_imports(hs, date, exporter_key, before, settings) for hs in hs_codes]
    return facts, reexports, details


def reexport_imports(
    hs_code: str, date: dt.date, exporter_key: str, before: Sequence[PastDeclaration], settings: HistorySettings
) -> tuple[int, dict[str, Any] | None]:
    """How many import declarations brought goods with the same first `reexport_digits`
    into the exporter (their consignee) within `reexport_days` before the date, with
    those declarations."""
    digits = settings.reexport_digits
    since = date - dt.timedelta(days=settings.reexport_days)
    prefix = hs_code[:digits]
    found = [
        p for p in before
        if p.procedure == IMPORT and p.consignee_key == exporter_key and p.date >= since
        and any(hs[:digits] == prefix for hs, _ in p.items)
    ]  # fmt: skip
    if not found:
        return 0, None
    shown = [
        {"declaration_id": p.declaration_id, "date": p.date.isoformat(),
         "value": money(math.fsum(v or 0.0 for hs, v in p.items if hs[:digits] == prefix))}
        for p in found[-settings.evidence_limit :]
    ]  # fmt: skip
    detail = {"count": len(found), "hs_prefix": prefix, "window": [since.isoformat(), date.isoformat()],
              "imports": shown}  # fmt: skip
    return len(found), detail


def ratio(recent: float, baseline: float, settings: HistorySettings) -> float | None:
    """Recent value per day against baseline value per day; missing without a baseline."""
    if baseline <= 0:
        return None
    return (recent / settings.recent_days) / (baseline / settings.baseline_days)


@dataclass
class PlainHistory:
    """The past as the per-declaration reference reads it: declarations by id, flags."""

    declarations: dict[str, PastDeclaration]
    flags: list[PastFlag]


def add_history(enriched: Any, history: PlainHistory, settings: HistorySettings, listed: Callable[[str], bool]) -> None:
    """Add the history facts (values and evidence) to a declaration's enriched items
    (`enrichment.Enriched`), as the columnar core computes them."""
    decl = enriched.declaration
    exporter, consignee = (
        party_key(decl.exporter.id, decl.exporter.name),
        party_key(decl.consignee.id, decl.consignee.name),
    )
    header, reexports, details = history_values(
        decl.declaration_id, decl.date, decl.procedure.value, exporter, consignee, [i.hs_code for i in decl.items],
        history.declarations, history.flags, settings, listed,
    )  # fmt: skip
    for values, detail, (count, why) in zip(enriched.items, enriched.details, reexports, strict=True):
        values.update(header)
        values["item.history_reexport_imports"] = count
        # header facts before the item's own, in the order the core stores and `explain` shows them
        ordered = sorted(values.items(), key=lambda pair: pair[0].startswith("item."))
        values.clear()
        values.update(ordered)
        detail.update(details)
        if why is not None:
            detail["item.history_reexport_imports"] = why
