"""Reference data kept beside the rules: goods lists, country groups, the activity map.

Each file lives under `rules/lists/`, states its source, and is loaded with located
errors. Lists are matched by HS prefix; a list with a `tier` (or other) attribute also
yields one named sub-list per value (`chpl/1`, `chpl/3A`, ...), so rules can pick tiers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..contract.codes import normalize_country
from ..contract.errors import LocatedError, Location
from ..entities.goods_text import GoodsMatcher, KeywordList
from .allowlist import TrustedTrader, load_trusted_traders
from .history import DEFAULTS, HistorySettings, history_problems, parse_history
from .keywords import load_keyword_list
from .yamlfile import line_of, load_documents

KINDS = ("hs_list", "country_groups", "activity_map", "keyword_list", "history", "trusted_traders")


@dataclass(frozen=True)
class ListEntry:
    code: str
    description: str = ""
    tier: str | None = None


@dataclass
class HsList:
    """Goods named by HS prefix (2 to 10 digits); an item matches its longest prefix."""

    name: str
    title: str
    source: str
    entries: dict[str, ListEntry] = field(default_factory=dict)

    def match(self, hs_code: str) -> ListEntry | None:
        for length in range(min(len(hs_code), 10), 1, -1):
            entry = self.entries.get(hs_code[:length])
            if entry is not None:
                return entry
        return None


@dataclass
class CountryGroup:
    name: str
    title: str
    source: str
    countries: frozenset[str]


@dataclass
class ActivityMap:
    """Which HS prefixes a company in a NACE/OKED activity plausibly trades."""

    source: str
    covers: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def goods_for(self, activity_code: str) -> tuple[str, ...]:
        """The HS prefixes of every map entry that is a prefix of the activity code."""
        code = activity_code.replace(".", "").strip()
        found: list[str] = []
        for key, prefixes in self.covers.items():
            if code.startswith(key):
                found.extend(prefixes)
        return tuple(found)

    def covering(self, activity_codes: tuple[str, ...], hs_code: str) -> list[str]:
        """The activity codes that cover the HS code (empty when none does)."""
        key = (activity_codes, hs_code)
        found = self._covering.get(key)
        if found is None:
            found = [a for a in activity_codes if any(hs_code.startswith(p) for p in self.goods_for(a))]
            self._covering[key] = found
        return list(found)

    def __post_init__(self) -> None:
        # companies repeat the same codes and goods: the answer is memoised per pair
        self._covering: dict[tuple[tuple[str, ...], str], list[str]] = {}


@dataclass
class ReferenceData:
    hs_lists: dict[str, HsList] = field(default_factory=dict)
    country_groups: dict[str, CountryGroup] = field(default_factory=dict)
    activity_map: ActivityMap = field(default_factory=lambda: ActivityMap(source=""))
    trusted_traders: list[TrustedTrader] = field(default_factory=list)  # the allow-list (rules/allowlist.py)
    files: list[Path] = field(default_factory=list)
    keyword_lists: dict[str, KeywordList] = field(default_factory=dict)  # goods descriptions' words
    history: HistorySettings = DEFAULTS  # windows and thresholds of the history facts (`history.py`)

    def __post_init__(self) -> None:
        self._lists_cache: dict[str, dict[str, ListEntry]] = {}
        self._groups_cache: dict[str, frozenset[str]] = {}
        self._goods_text: GoodsMatcher | None = None
        self._history_at: tuple[str, dict[str, int]] = ("", {})

    def goods_text(self) -> GoodsMatcher:
        """The keyword lists compiled for matching descriptions (once per reference data)."""
        if self._goods_text is None:
            self._goods_text = GoodsMatcher(self.keyword_lists.values())
        return self._goods_text

    def lists_for(self, hs_code: str) -> dict[str, ListEntry]:
        """Every named list (and tier sub-list) the HS code belongs to, with its entry."""
        found = self._lists_cache.get(hs_code)
        if found is None:
            found = {}
            for name, hs_list in self.hs_lists.items():
                entry = hs_list.match(hs_code)
                if entry is not None:
                    found[name] = entry
            self._lists_cache[hs_code] = found
        return found

    def groups_for(self, country: str | None) -> frozenset[str]:
        if not country:
            return frozenset()
        found = self._groups_cache.get(country)
        if found is None:
            found = frozenset(g.name for g in self.country_groups.values() if country in g.countries)
            self._groups_cache[country] = found
        return found


def load_reference(directory: Path) -> tuple[ReferenceData, list[LocatedError]]:
    """Load every reference file under `directory/lists`, collecting all errors."""
    data = ReferenceData()
    errors: list[LocatedError] = []
    lists_dir = directory / "lists"
    for path in sorted(lists_dir.rglob("*.y*ml")) if lists_dir.is_dir() else []:
        display = _display(path, directory)
        documents, problems = load_documents(path, display)
        errors += problems
        for doc in documents:
            errors += _load_document(doc, data, display)
        data.files.append(path)
    if data.history is not DEFAULTS:
        errors += history_problems(data.history, set(data.hs_lists), set(data.country_groups), *data._history_at)
    return data, errors


def _display(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root.parent))
    except ValueError:
        return str(path)


def _load_document(doc: Any, data: ReferenceData, display: str) -> list[LocatedError]:
    where = Location(display, line_of(doc))
    if not isinstance(doc, dict):
        return [LocatedError(where, "a reference file must be a mapping")]
    kind = doc.get("kind")
    missing = [k for k in ("kind", "source") if not doc.get(k)]
    if missing:
        return [LocatedError(where, f"missing {', '.join(missing)} (every list states its source)")]
    if kind == "hs_list":
        return _load_hs_list(doc, data, display)
    if kind == "country_groups":
        return _load_country_groups(doc, data, display)
    if kind == "activity_map":
        return _load_activity_map(doc, data, display)
    if kind == "keyword_list":
        return _load_keyword_list(doc, data, display)
    if kind == "history":
        if data.history is not DEFAULTS:
            return [
                LocatedError(Location(display, line_of(doc, "kind"), field="kind"), "history settings defined twice")
            ]
        data.history, problems = parse_history(doc, display)
        data._history_at = (display, {key: line_of(doc, key) or 0 for key in ("listed_goods", "risk_links")})
        return problems
    if kind == "trusted_traders":
        traders, errors = load_trusted_traders(doc, display)
        data.trusted_traders += traders
        return errors
    at = Location(display, line_of(doc, "kind"), field="kind")
    return [LocatedError(at, f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")]


def _load_hs_list(doc: Any, data: ReferenceData, display: str) -> list[LocatedError]:
    errors: list[LocatedError] = []
    name = str(doc.get("name") or "")
    if not name or name in data.hs_lists:
        problem = "missing list name" if not name else f"list {name!r} is defined twice"
        return [LocatedError(Location(display, line_of(doc, "name"), field="name"), problem)]
    main = HsList(name, str(doc.get("title", name)), str(doc["source"]))
    tiers: dict[str, HsList] = {}
    entries = doc.get("entries") or []
    if not isinstance(entries, list):
        return [LocatedError(Location(display, line_of(doc, "entries"), field="entries"), "entries must be a list")]
    for entry in entries:
        line = line_of(entry)
        code = str(entry.get("code", "")) if isinstance(entry, dict) else ""
        code = code.replace(".", "").replace(" ", "")
        if not _ascii_digits(code) or not 2 <= len(code) <= 10:
            problem = f"entry code {code!r} must be an HS prefix of 2 to 10 digits"
            errors.append(LocatedError(Location(display, line, field="code"), problem))
            continue
        tier = str(entry["tier"]) if entry.get("tier") is not None else None
        item = ListEntry(code, str(entry.get("description", "")), tier)
        main.entries[code] = item
        if tier:
            sub = tiers.setdefault(tier, HsList(f"{name}/{tier}", f"{main.title}, tier {tier}", main.source))
            sub.entries[code] = item
    data.hs_lists[name] = main
    data.hs_lists.update({sub.name: sub for sub in tiers.values()})
    return errors


def _load_keyword_list(doc: Any, data: ReferenceData, display: str) -> list[LocatedError]:
    found, errors = load_keyword_list(doc, display)
    if found is not None and found.name in data.keyword_lists:
        problem = f"keyword list {found.name!r} is defined twice"
        return [LocatedError(Location(display, line_of(doc, "name"), field="name"), problem)]
    if found is not None:
        data.keyword_lists[found.name] = found
    return errors


def _load_country_groups(doc: Any, data: ReferenceData, display: str) -> list[LocatedError]:
    errors: list[LocatedError] = []
    groups = doc.get("groups") or {}
    if not isinstance(groups, dict):
        return [LocatedError(Location(display, line_of(doc, "groups"), field="groups"), "groups must be a mapping")]
    for name, group in groups.items():
        line = line_of(groups, name)
        if not isinstance(group, dict) or not isinstance(group.get("countries"), list) or not group["countries"]:
            errors.append(LocatedError(Location(display, line), f"group {name!r} needs countries"))
            continue
        codes = []
        for code in group["countries"]:
            try:
                codes.append(normalize_country(str(code)))
            except ValueError as exc:
                errors.append(LocatedError(Location(display, line, field=name), str(exc)))
        source = str(group.get("source", doc["source"]))
        data.country_groups[name] = CountryGroup(name, str(group.get("title", name)), source, frozenset(codes))
    return errors


def _load_activity_map(doc: Any, data: ReferenceData, display: str) -> list[LocatedError]:
    errors: list[LocatedError] = []
    data.activity_map = ActivityMap(str(doc["source"]))
    covers = doc.get("covers") or {}
    if not isinstance(covers, dict):
        return [LocatedError(Location(display, line_of(doc, "covers"), field="covers"), "covers must be a mapping")]
    for activity, prefixes in covers.items():
        where = Location(display, line_of(covers, activity), field=str(activity))
        if not isinstance(prefixes, list):
            errors.append(LocatedError(where, "each activity maps to a list of HS prefixes"))
            continue
        try:
            expanded = tuple(p for spec in prefixes or [] for p in expand_prefixes(str(spec)))
        except ValueError as exc:
            errors.append(LocatedError(where, str(exc)))
            continue
        data.activity_map.covers[str(activity).replace(".", "")] = expanded
    return errors


def _ascii_digits(code: str) -> bool:
    # isdigit() alone takes "٨٨٠٦" and "²": declared HS codes are ASCII once read (contract/models.py)
    return code.isascii() and code.isdigit()


@lru_cache(maxsize=1024)
def expand_prefixes(spec: str) -> tuple[str, ...]:
    """`85` -> (85,); `8532-8542` -> every prefix in that range, of the same length."""
    spec = spec.replace(".", "").replace(" ", "")
    low, _, high = spec.partition("-")
    high = high or low
    if not (_ascii_digits(low) and _ascii_digits(high) and len(low) == len(high) and 2 <= len(low) <= 6):
        raise ValueError(f"HS prefix {spec!r} must be digits (2 to 6) or a range such as 8532-8542")
    if int(high) < int(low):
        raise ValueError(f"HS range {spec!r} runs backwards")
    return tuple(str(n).zfill(len(low)) for n in range(int(low), int(high) + 1))
