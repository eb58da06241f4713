"""The columns that cross between reading, the screening core and the store.

A `DeclarationSet` is a set of whole declarations as two polars frames: one row per
declaration (`headers`) and one row per goods item (`items`), joined on `decl`, the
declaration's position in the set. Every reader builds one (the batch CSV reader by
columns; JSON, JSON Lines and the officer's form through the pydantic models, one record
at a time), and so does the store when it reads declarations back for a rescreen.
A `ScreenedSet` is what the core makes of one: a decision per declaration, its findings
with their evidence, and the facts each item was decided on.

Values are already validated and normalised (ASCII digits, upper-case codes, HS codes as
digits only): whoever builds a set has applied the contract of design.md §4.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import polars as pl

from ..contract.errors import Location
from ..contract.models import STORED, Declaration

HEADER_SCHEMA: dict[str, Any] = {
    "decl": pl.UInt32,  # position of the declaration in its set, from 0
    "declaration_id": pl.String,
    "date": pl.Date,
    "procedure": pl.String,  # export | import | re-export | transit
    "document_type": pl.String,
    "exporter_name": pl.String,
    "exporter_id": pl.String,
    "exporter_country": pl.String,
    "consignee_name": pl.String,
    "consignee_id": pl.String,
    "consignee_country": pl.String,
    "dispatch_country": pl.String,
    "destination_country": pl.String,
    "transit_countries": pl.List(pl.String),
    "extra": pl.String,  # the declaration's extra fields as a JSON object, or null
    "exporter_extra": pl.String,  # the exporter's extra fields as a JSON object, or null
    "consignee_extra": pl.String,  # the consignee's extra fields as a JSON object, or null
    "source": pl.String,  # where it was read: a file name, <stdin>, the database...
    "line": pl.Int64,  # the input line it starts on (null: none, e.g. a JSON list record)
    "record": pl.Int64,  # its record number in a JSON list (null otherwise)
    "lines": pl.Int32,  # how many input lines (CSV rows, JSON records) it came from
}
ITEM_SCHEMA: dict[str, Any] = {
    "decl": pl.UInt32,
    "position": pl.UInt32,  # the item's position in its declaration, from 0
    "line": pl.Int64,  # the item's `line` field (not an input line)
    "hs_code": pl.String,  # digits only
    "description": pl.String,
    "quantity": pl.Float64,
    "unit": pl.String,
    "value": pl.Float64,
    "currency": pl.String,
    "origin_country": pl.String,
    "net_mass_kg": pl.Float64,
    "extra": pl.String,  # the item's extra fields as a JSON object, or null
}
PARTY_FIELDS = ("name", "id", "country")
ITEM_FIELDS = tuple(k for k in ITEM_SCHEMA if k not in ("decl", "position", "extra"))
HEADER_FIELDS = ("declaration_id", "date", "procedure", "document_type", "dispatch_country",
                 "destination_country", "transit_countries")  # fmt: skip


@dataclass
class DeclarationSet:
    """Whole declarations as columns (see the module's docstring)."""

    headers: pl.DataFrame
    items: pl.DataFrame

    def __len__(self) -> int:
        return self.headers.height

    @classmethod
    def empty(cls) -> DeclarationSet:
        return cls(pl.DataFrame(schema=HEADER_SCHEMA), pl.DataFrame(schema=ITEM_SCHEMA))

    @classmethod
    def from_declarations(
        cls, declarations: Sequence[Declaration], locations: Sequence[Location] | None = None,
        lines: Sequence[int] | None = None,
    ) -> DeclarationSet:  # fmt: skip
        """A set of validated declarations (a JSON file, a submission, the form...)."""
        headers: list[dict[str, Any]] = []
        items: list[dict[str, Any]] = []
        for number, decl in enumerate(declarations):
            where = locations[number] if locations is not None else Location()
            headers.append(_header_row(number, decl, where, lines[number] if lines is not None else 1))
            items += [_item_row(number, position, item) for position, item in enumerate(decl.items)]
        return cls(pl.DataFrame(headers, schema=HEADER_SCHEMA),
                   pl.DataFrame(items, schema=ITEM_SCHEMA))  # fmt: skip

    def declarations(self, stored: bool = False) -> Iterator[Declaration]:
        """Each declaration as the pydantic model (for the per-declaration reference and
        for callers that need one object; the core itself never builds them). `stored`:
        read back from the database, so checks that move with today (a date's range)
        were made when it was stored."""
        items_of: dict[int, list[dict[str, Any]]] = {}
        for item in self.items.iter_rows(named=True):
            items_of.setdefault(item["decl"], []).append(_item_dict(item))
        for header in self.headers.iter_rows(named=True):
            data = _declaration_dict(header, items_of.get(header["decl"], []))
            yield Declaration.model_validate(data, context=STORED if stored else None)

    def locations(self) -> list[Location]:
        return [
            Location(source or "", line, record)
            for source, line, record in self.headers.select("source", "line", "record").iter_rows()
        ]

    def location_texts(self) -> list[str]:
        """`str(location)` of each declaration, made by columns (a batch has millions)."""
        source = pl.col("source").fill_null("")
        text = (
            pl.when(source == "").then(pl.lit("<input>")).otherwise(source)
            + pl.when(pl.col("line").is_null()).then(pl.lit("")).otherwise(pl.lit(":") + pl.col("line").cast(pl.String))
            + pl.when(pl.col("record").is_null())
            .then(pl.lit(""))
            .otherwise(pl.lit(", record ") + pl.col("record").cast(pl.String))
        )
        return self.headers.select(text.alias("where")).to_series().to_list()

    def slice(self, start: int, length: int) -> DeclarationSet:
        """Declarations start..start+length-1, renumbered from 0."""
        headers = self.headers.slice(start, length)
        items = self.items.filter(pl.col("decl").is_between(start, start + length - 1))
        shift = pl.col("decl") - start
        return DeclarationSet(headers.with_columns(shift.cast(pl.UInt32)), items.with_columns(shift.cast(pl.UInt32)))

    @staticmethod
    def concat(sets: Iterable[DeclarationSet]) -> DeclarationSet:
        """One set of several, renumbered in order."""
        headers, items, offset = [], [], 0
        for part in sets:
            shift = (pl.col("decl") + offset).cast(pl.UInt32)
            headers.append(part.headers.with_columns(shift))
            items.append(part.items.with_columns(shift))
            offset += len(part)
        if not headers:
            return DeclarationSet.empty()
        return DeclarationSet(pl.concat(headers), pl.concat(items))


KNOWN_HEADER = {"declaration_id", "date", "procedure", "document_type", "exporter", "consignee",
                "dispatch_country", "destination_country", "transit_countries", "items"}  # fmt: skip


def _extra(data: dict[str, Any], known: Iterable[str]) -> str | None:
    extra = {k: v for k, v in data.items() if k not in known}
    if not extra:
        return None
    try:
        return orjson.dumps(extra).decode()
    except orjson.JSONEncodeError:  # an integer past 64 bits: kept exactly, as the contract allows
        return json.dumps(extra, ensure_ascii=False, separators=(",", ":"))


def _loads(text: str | None) -> dict[str, Any]:
    # the standard library: orjson reads an integer past 64 bits as a float
    return json.loads(text) if text else {}


def _header_row(number: int, decl: Declaration, where: Location, lines: int) -> dict[str, Any]:
    row: dict[str, Any] = {"decl": number}
    for name in HEADER_FIELDS:
        value = getattr(decl, name)
        row[name] = value.value if name == "procedure" else value
    for role in ("exporter", "consignee"):
        party = getattr(decl, role)
        row |= {f"{role}_{key}": getattr(party, key) for key in PARTY_FIELDS}
        row[f"{role}_extra"] = _extra(party.model_extra or {}, ())
    row["extra"] = _extra(decl.model_extra or {}, ())
    return row | {"source": where.source, "line": where.line, "record": where.record, "lines": lines}


def _item_row(number: int, position: int, item: Any) -> dict[str, Any]:
    row = {"decl": number, "position": position} | {name: getattr(item, name) for name in ITEM_FIELDS}
    return row | {"extra": _extra(item.model_extra or {}, ())}


def _item_dict(row: dict[str, Any]) -> dict[str, Any]:
    data = {name: row[name] for name in ITEM_FIELDS}
    return data | _loads(row["extra"])


def _declaration_dict(row: dict[str, Any], items: list[dict[str, Any]]) -> dict[str, Any]:
    data: dict[str, Any] = {name: row[name] for name in HEADER_FIELDS}
    for role in ("exporter", "consignee"):
        data[role] = {key: row[f"{role}_{key}"] for key in PARTY_FIELDS}
        if row.get(f"{role}_extra"):  # a set built before the column existed has none
            data[role] |= _loads(row[f"{role}_extra"])
    data["items"] = items
    return data | _loads(row["extra"])


DECISION_SCHEMA: dict[str, Any] = {
    "decl": pl.UInt32,
    "declaration_id": pl.String,
    "decision": pl.String,  # hold | inspect | release
    "score": pl.Float64,
}
FINDING_SCHEMA: dict[str, Any] = {
    "decl": pl.UInt32,
    "rule_id": pl.String,
    "title": pl.String,
    "action": pl.String,
    "score": pl.Float64,
    "item_line": pl.Int64,  # null: a declaration-level finding
    "is_test": pl.Boolean,  # a rule in `test` status: recorded, never counted
    "evidence": pl.String,  # JSON object
    "rank": pl.UInt32,  # the finding's place in its declaration's list
}


@dataclass
class ScreenedSet:
    """What the core made of a DeclarationSet: one decision per declaration (`decisions`,
    in the set's order), the findings with their evidence (`findings`), and the facts
    each item was decided on (`facts`: one row per item, `decl` and `position` and one
    column per fact field of `facts.FIELDS`)."""

    declarations: DeclarationSet
    decisions: pl.DataFrame
    findings: pl.DataFrame
    facts: pl.DataFrame
    ruleset_version: str
    screened_at: dt.datetime
    without_registry: bool = False
    # the registry's "name (company id)" of each party it knows, per declaration and role
    registered: pl.DataFrame = field(default_factory=pl.DataFrame)
    # decl, exporter_key, consignee_key: the parties' identities in history, as the history
    # facts computed them (stored with the declarations); empty when not computed
    party_keys: pl.DataFrame = field(default_factory=pl.DataFrame)

    def __len__(self) -> int:
        return self.decisions.height
