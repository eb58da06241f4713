"""The settings of the history facts: windows, cut-off dates and thresholds as data.

They live in a reference file of kind `history` under `rules/lists/` (the bundled one is
`rules/lists/history.yaml`), so they are part of the pack and of its rule-set version.
Every key is optional (the defaults below); a bad value is a located error. A pack
without such a file gets the defaults.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from ..contract.errors import LocatedError, Location
from ..contract.registry_rows import ACTIVITY_CODE
from .yamlfile import line_of

MAX_DAYS = 3650


@dataclass(frozen=True)
class HistorySettings:
    """What the history facts count (see README, "History facts")."""

    # goods lists whose items count as "listed goods" (a code on any of them)
    listed_goods: tuple[str, ...] = ("chpl", "drones", "drone_parts")
    cutoff: dt.date = dt.date(2022, 2, 24)  # history.exporter_listed_before_cutoff
    recent_days: int = 90  # the recent window, just before the declaration's date
    baseline_days: int = 365  # the baseline window, just before the recent one
    reexport_days: int = 90  # an import of the same goods this many days before an export
    reexport_digits: int = 6  # "the same goods": the first 6 (HS6) or 4 (HS4) digits
    split_days: int = 30  # listed-goods declarations to one consignee within this many days
    flags_days: int = 365  # a party held, or found seized/irregular, within this many days
    # registry activity codes of freight forwarding and logistics: `*.forwarder` (a code
    # matches an entry that is a prefix of it, dots ignored, as the activity map matches)
    forwarding_activities: tuple[str, ...] = ("52.29", "52.24", "52.10", "49.41")
    # `*.risk_link_length`: companies registered in these country groups, or named by a
    # watchlist entry, are "risk" (the groups must exist in the pack)
    risk_groups: tuple[str, ...] = ("ru_by",)
    risk_watchlist: bool = True
    evidence_limit: int = 10  # declarations named in a finding's evidence, at most
    source: str = "defaults"

    @property
    def longest_days(self) -> int:
        return max(self.recent_days + self.baseline_days, self.reexport_days, self.split_days, self.flags_days)


DEFAULTS = HistorySettings()
_DAYS = ("recent_days", "baseline_days", "reexport_days", "split_days", "flags_days")
KEYS = {"kind", "source", "description", "listed_goods", "cutoff", *_DAYS, "reexport_digits",
        "forwarding_activities", "risk_links", "evidence_limit"}  # fmt: skip
RISK_KEYS = ("country_groups", "watchlist")


def parse_history(doc: dict[str, Any], display: str) -> tuple[HistorySettings, list[LocatedError]]:
    """A `kind: history` document into settings, with every located problem."""
    errors: list[LocatedError] = []
    values: dict[str, Any] = {"source": str(doc.get("source", ""))}

    def err(key: str, message: str) -> None:
        errors.append(LocatedError(Location(display, line_of(doc, key), field=key), message))

    for key in sorted(set(doc) - KEYS):
        err(key, f"unknown key; history settings are: {', '.join(sorted(KEYS - {'kind', 'source', 'description'}))}")
    for key in _DAYS:
        if key in doc:
            days = doc[key]
            if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
                err(key, f"{key} must be a whole number of days from 1 to {MAX_DAYS}, got {days!r}")
            else:
                values[key] = days
    if "reexport_digits" in doc:
        if doc["reexport_digits"] not in (4, 6) or isinstance(doc["reexport_digits"], bool):
            err("reexport_digits", f"reexport_digits must be 4 or 6, got {doc['reexport_digits']!r}")
        else:
            values["reexport_digits"] = doc["reexport_digits"]
    if "evidence_limit" in doc:
        limit = doc["evidence_limit"]
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 100:
            err("evidence_limit", f"evidence_limit must be a whole number from 1 to 100, got {limit!r}")
        else:
            values["evidence_limit"] = limit
    if "cutoff" in doc:
        cutoff = doc["cutoff"]
        try:
            values["cutoff"] = cutoff if isinstance(cutoff, dt.date) else dt.date.fromisoformat(str(cutoff))
        except ValueError:
            err("cutoff", f"cutoff must be a date YYYY-MM-DD, got {cutoff!r}")
    if "listed_goods" in doc:
        names = doc["listed_goods"]
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            err("listed_goods", "listed_goods must be a non-empty list of goods list names")
        else:
            values["listed_goods"] = tuple(names)
    if "forwarding_activities" in doc:
        codes = doc["forwarding_activities"]
        if not isinstance(codes, list) or not codes:
            err("forwarding_activities", "forwarding_activities must be a non-empty list of activity codes")
        else:
            bad = [c for c in codes if not isinstance(c, str) or not ACTIVITY_CODE.fullmatch(c)]
            if bad:
                err(
                    "forwarding_activities",
                    f"forwarding_activities: {', '.join(repr(c) for c in bad)} is not a "
                    'NACE/OKED code written as text, such as "52.29" (quote it: 52.10 unquoted is the number 52.1)',
                )
            else:
                values["forwarding_activities"] = tuple(codes)
    if "risk_links" in doc:
        values |= _risk_links(doc["risk_links"], err)
    return HistorySettings(**values), errors


def _risk_links(risk: Any, err: Any) -> dict[str, Any]:
    """`risk_links: {country_groups: [...], watchlist: true|false}` (both keys optional)."""
    if not isinstance(risk, dict):
        err("risk_links", "risk_links must be a mapping with country_groups and watchlist")
        return {}
    unknown = sorted(set(map(str, risk)) - set(RISK_KEYS))
    if unknown:
        err("risk_links", f"risk_links: unknown key(s) {', '.join(unknown)}; known: {', '.join(RISK_KEYS)}")
        return {}
    found: dict[str, Any] = {}
    groups = risk.get("country_groups", list(DEFAULTS.risk_groups))
    if not isinstance(groups, list) or not all(isinstance(g, str) and g for g in groups):
        err("risk_links", f"risk_links.country_groups must be a list of country group names, got {groups!r}")
    else:
        found["risk_groups"] = tuple(groups)
    watchlist = risk.get("watchlist", DEFAULTS.risk_watchlist)
    if not isinstance(watchlist, bool):
        err("risk_links", f"risk_links.watchlist must be true or false, got {watchlist!r}")
    else:
        found["risk_watchlist"] = watchlist
    if len(found) == 2 and not found["risk_groups"] and not found["risk_watchlist"]:
        err("risk_links", "risk_links names no risk: give country_groups, or watchlist: true")
        return {}
    return found


def history_problems(
    settings: HistorySettings, lists: set[str], groups: set[str], display: str, lines: dict[str, int]
) -> list[LocatedError]:
    """The goods lists and country groups the settings name must exist in the pack."""
    found = []
    unknown = [name for name in settings.listed_goods if name not in lists]
    if unknown:
        where = Location(display, lines.get("listed_goods", 0), field="listed_goods")
        found.append(
            LocatedError(where, f"unknown goods list(s) {', '.join(unknown)}; known: {', '.join(sorted(lists))}")
        )
    strange = [name for name in settings.risk_groups if name not in groups]
    if strange:
        where = Location(display, lines.get("risk_links", 0), field="risk_links")
        known = ", ".join(sorted(groups)) or "none"
        found.append(LocatedError(where, f"risk_links: unknown country group(s) {', '.join(strange)}; known: {known}"))
    return found


@dataclass
class HistoryFile:
    """Where the settings came from (for the check against the pack's lists)."""

    settings: HistorySettings = DEFAULTS
    display: str = ""
    line: int = 0
    errors: list[LocatedError] = field(default_factory=list)
