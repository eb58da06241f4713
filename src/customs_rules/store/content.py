"""What a stored declaration is: columns (a `declaration` row and its `item` rows), the
one content hash defined on them, and the declaration those columns make back.

The content hash is what makes storing idempotent (the same id with the same content is
the same revision) and what the audit seals hold. Every path computes it here, from the
columns of a `DeclarationSet`: a batch, a submission, `audit verify` reading rows back,
and migration 0008. It covers every content column (not where a declaration was read).

Seals written before migration 0008 hold the hash of the declaration's canonical JSON
(`legacy_hash`); `canonical` rebuilds that JSON from the columns, so they still verify.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import polars as pl

from ..screening.frames import HEADER_SCHEMA, ITEM_SCHEMA

PARTIES = ("exporter", "consignee")
# the declaration row's content columns, in the contract's field order
HEADER_COLUMNS = ("declaration_id", "date", "procedure", "document_type",
                  "exporter_name", "exporter_id", "exporter_country", "exporter_extra",
                  "consignee_name", "consignee_id", "consignee_country", "consignee_extra",
                  "dispatch_country", "destination_country", "transit_countries", "extra")  # fmt: skip
ITEM_COLUMNS = ("line", "hs_code", "description", "quantity", "unit", "value", "currency", "origin_country",
                "net_mass_kg", "extra")  # fmt: skip
EXTRAS = ("extra", "exporter_extra", "consignee_extra")
KNOWN_FIELDS = {"declaration_id", "date", "procedure", "document_type", *PARTIES, "dispatch_country",
                "destination_country", "transit_countries", "items"}  # fmt: skip


def complete(headers: pl.DataFrame) -> pl.DataFrame:
    """The headers with every column of HEADER_SCHEMA (a set built before the party extra
    columns existed lacks them: no extra fields)."""
    missing = [pl.lit(None, dtype).alias(name) for name, dtype in HEADER_SCHEMA.items() if name not in headers.columns]
    return headers.with_columns(missing) if missing else headers


def content_hashes(headers: pl.DataFrame, items: pl.DataFrame) -> list[str]:
    """The content hash of each declaration of a set (`headers` in order; `items` joined
    on `decl`): sha256 of its header columns and its items' columns in position order,
    each row as a JSON array. Extra fields count by content, not by the order written."""
    headers = complete(headers)
    head = headers.select("decl", _row([_typed(headers, name, HEADER_SCHEMA) for name in HEADER_COLUMNS]).alias("text"))
    lines = (
        items.sort("decl", "position")
        .select("decl", _row([_typed(items, name, ITEM_SCHEMA) for name in ITEM_COLUMNS]).alias("line"))
        .group_by("decl", maintain_order=True)
        .agg(pl.col("line").str.join("\n"))
    )
    texts = head.join(lines, on="decl", how="left", maintain_order="left").select(
        pl.concat_str("text", pl.col("line").fill_null(""), separator="\n")  # no item left: still a text
    )
    return [hashlib.sha256(text.encode()).hexdigest() for text in texts.to_series()]


def _typed(frame: pl.DataFrame, name: str, schema: Mapping[str, Any]) -> pl.Expr:
    """A column as the set's contract types it (rows read back from a database come with
    the database's types), extra fields in one canonical form."""
    column = pl.col(name).cast(schema[name])
    if name in EXTRAS and frame[name].null_count() < frame.height:
        column = column.map_elements(canonical_extra, return_dtype=pl.String, skip_nulls=True)
    return column


def _row(columns: list[pl.Expr]) -> pl.Expr:
    # a JSON array: unambiguous (strings are quoted and escaped), and null is not "";
    # the pieces are never null, so concat_str joins them as a list joined would (at half the cost)
    return pl.concat_str([pl.struct(c).struct.json_encode() for c in columns], separator=",")


def canonical_extra(text: str) -> str:
    """Extra fields as one text whatever the order they were written in (the standard
    library: extra fields may hold integers past 64 bits)."""
    return json.dumps(json.loads(text), sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def header_row(content: Mapping[str, Any]) -> dict[str, Any]:
    """A declaration's content (the contract's JSON object, as stored before migration
    0008) as the columns of its `declaration` row; unknown fields go to its extras."""
    plain = ("declaration_id", "procedure", "document_type", "dispatch_country", "destination_country")
    row: dict[str, Any] = {name: content.get(name) for name in plain}
    row["date"] = dt.date.fromisoformat(content["date"]) if isinstance(content.get("date"), str) else content["date"]
    for role in PARTIES:
        party = dict(content.get(role) or {})
        row |= {f"{role}_{key}": party.pop(key, None) for key in ("name", "id", "country")}
        row[f"{role}_extra"] = _dumps(party)
    row["transit_countries"] = list(content.get("transit_countries") or [])
    row["extra"] = _dumps({k: v for k, v in content.items() if k not in KNOWN_FIELDS})
    return row


def item_rows(content: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A stored content's items as the columns of their `item` rows."""
    rows = []
    for position, item in enumerate(content.get("items") or []):
        own = dict(item)
        row = {"position": position} | {name: own.pop(name, None) for name in ITEM_COLUMNS if name != "extra"}
        rows.append(row | {"extra": _dumps(own)})
    return rows


def _dumps(extra: Mapping[str, Any]) -> str | None:
    return json.dumps(extra, ensure_ascii=False, separators=(",", ":")) if extra else None


def canonical(header: Mapping[str, Any], items: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The declaration as the contract's JSON object (`Declaration.canonical()`: every
    field, in the model's order, extra fields after), from its stored columns."""
    day = header["date"]
    data: dict[str, Any] = {
        "declaration_id": header["declaration_id"],
        "date": day.isoformat() if isinstance(day, dt.date) else day,
        "procedure": header["procedure"],
        "document_type": header["document_type"],
    }
    for role in PARTIES:
        party = {key: header[f"{role}_{key}"] for key in ("name", "id", "country")}
        data[role] = party | _loads(header[f"{role}_extra"])
    data |= {"dispatch_country": header["dispatch_country"], "destination_country": header["destination_country"],
             "transit_countries": transit_list(header["transit_countries"])}  # fmt: skip
    data["items"] = [
        {name: item[name] for name in ITEM_COLUMNS if name != "extra"} | _loads(item["extra"]) for item in items
    ]
    return data | _loads(header["extra"])


def _loads(text: str | None) -> dict[str, Any]:
    return json.loads(text) if text else {}


def transit_text(countries: Iterable[str] | None) -> str:
    """Transit countries as the column holds them: alpha-2 codes, one space between."""
    return " ".join(countries or ())


def transit_list(text: str | None) -> list[str]:
    return text.split() if text else []


def legacy_hash(content: Mapping[str, Any]) -> str:
    """The content hash seals held before migration 0008: sha256 of the canonical JSON."""
    text = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
