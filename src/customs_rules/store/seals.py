"""Seals: what a stored decision says, in a few bytes its audit entry keeps.

A seal covers the decision row's every column, its declaration's content hash (itself
computed on the declaration's and its items' columns: `content.content_hashes`), every
finding with its evidence, and the digest of every fact signature it was decided on: in
form 6 (migration 0013) its facts' layout, declaration and items signatures (the facts
the columns rebuild are covered by the content hash: `compact`), in form 5 the header
signature and each item's, in item order. `audit verify` recomputes it from the stored
rows, so an edit of any of them is found. Seals of forms 5 and 6 are computed for a
whole set at once (`seal_all`); the forms written before migration 0008 (2, 3 and 4,
`legacy_seal`) stay verifiable.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import operator
from collections.abc import Callable, Iterable
from itertools import islice
from typing import Any

import orjson
import polars as pl

from ..contract.decision import WITHOUT_REGISTRY

SEAL = "6:"  # every column of the decision row and its three facts signatures (migration 0013)
SEAL_V5 = "5:"  # every column of the decision row and its facts' signatures, one per item (migration 0008)
SEAL_V4 = "4:"  # every column of the decision row, the registry mark too, facts as one value
SEAL_V3 = "3:"  # every column but the registry mark (added by migration 0006)
SEAL_V2 = "2:"  # findings, facts and content, not the decision's other columns
TIME = "%Y-%m-%dT%H:%M:%S%.6f"  # UTC, without a zone: every database hands it back so

# (column, type): what a seal covers of the decision row, keyed by `key`
DECISION_COLUMNS = {"decision": pl.String, "score": pl.Float64, "ruleset_version": pl.String,
                    "content_hash": pl.String, "declaration_id": pl.String, "revision": pl.Int64,
                    "kind": pl.String, "officer": pl.String, "registry_version": pl.Int64,
                    WITHOUT_REGISTRY: pl.Boolean, "header_digest": pl.String}  # fmt: skip
FINDING_COLUMNS = {"rule_id": pl.String, "title": pl.String, "action": pl.String, "score": pl.Float64,
                   "item_line": pl.Int64, "is_test": pl.Boolean, "evidence": pl.String}  # fmt: skip


def seal_all(decisions: pl.DataFrame, findings: pl.DataFrame, facts: pl.DataFrame, form: str = SEAL) -> list[str]:
    """The seal of each decision (form 6, or 5), in the order of `decisions`: `decisions`
    has `key`, `screened_at` and DECISION_COLUMNS; `findings` has `key` and
    FINDING_COLUMNS; `facts` has `key`, `position` and `digest`: of each item's signature
    (form 5), or of the layout (position 0) and the items signature (1) (form 6)."""
    head = decisions.select(
        "key",
        _array([pl.col(c).cast(t) for c, t in DECISION_COLUMNS.items()] + [pl.col("screened_at").dt.to_string(TIME)]),
    )
    found = (
        findings.select("key", _array([pl.col(c).cast(t) for c, t in FINDING_COLUMNS.items()]).alias("row"))
        .group_by("key")
        .agg(pl.col("row").sort().str.join("\n"))  # sorted: the order findings are listed in is not sealed
    )
    items = facts.sort("key", "position").group_by("key", maintain_order=True).agg(pl.col("digest").str.join(" "))
    texts = (
        head.join(found, on="key", how="left")
        .join(items, on="key", how="left")
        .select(
            pl.concat_str(pl.col("text"), pl.col("row").fill_null(""), pl.col("digest").fill_null(""), separator="\n")
        )  # fmt: skip
        .to_series()
    )
    return [form + hashlib.sha256(text.encode()).hexdigest()[:16] for text in texts]


def _array(columns: list[pl.Expr]) -> pl.Expr:
    # a JSON array per row: strings quoted and escaped, null apart from ""
    return pl.concat_list(pl.struct(c.alias("v")).struct.json_encode() for c in columns).list.join(",").alias("text")


# -- the forms before migration 0008 -------------------------------------------------------


def legacy_seal(
    verdict: str,
    score: float,
    version: str,
    findings: list[dict[str, Any]],
    content_digest: str,
    facts: Any,
    columns: dict[str, Any] | None = None,
    form: str = SEAL_V4,
) -> str:
    """A seal of form 4, 3 or 2 (as written before migration 0008): the verdict, score
    and rule set, every finding with its evidence, the facts as the decision row held
    them (`pack_facts`), the content hash of its canonical JSON and (forms 3 and 4) the
    decision row's other columns (`sealed_columns`)."""
    sealed = sorted(orjson.dumps(_sealed_finding(f), option=orjson.OPT_SORT_KEYS).decode() for f in findings)
    body = [verdict, float(score), version, sealed, content_digest, facts]
    if columns is not None:
        body.append(columns)
    digest = hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]
    return (form if columns is not None else SEAL_V2) + digest


def sealed_columns(row: dict[str, Any], revision: int, form: str = SEAL_V4) -> dict[str, Any]:
    """The decision row's columns a seal of form 4 or 3 covers beside its verdict, score,
    rule set and facts (UTC, no zone)."""
    at = row["screened_at"]
    at = at if at.tzinfo is None else at.astimezone(dt.UTC).replace(tzinfo=None)
    columns = {
        "declaration_id": row["declaration_id"],
        "revision": revision,
        "kind": row["kind"],
        "officer": row["officer"],
        "registry_version": row["registry_version"],
        "screened_at": at.isoformat(),
    }
    if form == SEAL_V4:
        columns[WITHOUT_REGISTRY] = bool(row[WITHOUT_REGISTRY])
    return columns


def _sealed_finding(finding: dict[str, Any]) -> list[Any]:
    return [finding["rule_id"], finding["title"], finding["action"], float(finding["score"]), finding["item_line"],
            bool(finding["is_test"]), finding["evidence"]]  # fmt: skip


ITEM_FACTS = "item."


def pack_facts(facts: list[dict[str, Any]]) -> list[dict[str, Any]] | dict[str, Any]:
    """The facts as a decision row held them before migration 0008 (what its seals
    cover): the header facts once, then each item's own, when every item shares the
    header exactly; else one dict per item."""
    if not facts:
        return facts
    keys = tuple(facts[0])
    size = next((n for n, key in enumerate(keys) if key.startswith(ITEM_FACTS)), len(keys))
    header = dict(islice(facts[0].items(), size))
    items = []
    for fact in facts:
        if tuple(islice(fact, size)) != keys[:size] or not _same_values(header, fact, size):
            return facts
        items.append(dict(islice(fact.items(), size, None)))
    return {"header": header, "items": items}


def _same_values(header: dict[str, Any], fact: dict[str, Any], size: int) -> bool:
    values = list(islice(fact.values(), size))
    if all(map(operator.is_, header.values(), values)):
        return True
    try:
        return orjson.dumps(list(header.values())) == orjson.dumps(values)  # exact: 1 is not true
    except orjson.JSONEncodeError:  # an integer past 64 bits: the standard encoder is exact too
        return json.dumps(list(header.values())) == json.dumps(values)


def unpack_facts(stored: list[dict[str, Any]] | dict[str, Any]) -> list[dict[str, Any]]:
    """One fact per item, from either form `pack_facts` gives."""
    if isinstance(stored, dict):
        return [stored["header"] | own for own in stored["items"]]
    return stored


def first_altered(
    kind: str, rows: Iterable[Any], sealed: dict[int, tuple[int, str]], seal_of: Callable[[Any], str],
    label: Callable[[Any], str] = lambda row: "", unsealed: str = "",
) -> str | None:  # fmt: skip
    """The first of `rows` (by id) that no longer holds what the newest audit entry naming
    it sealed, that no entry seals, or that an entry sealed and is gone; None when all hold.
    `sealed`: row id -> (audit entry id, seal); `label`: what follows "KIND #N" for a row."""
    left = dict(sealed)
    for row in rows:
        name = f"{kind} #{row.id}{label(row)}"
        entry = left.pop(int(row.id or 0), None)
        if entry is None:
            return f"{name} has no audit entry{unsealed}"
        if seal_of(row) != entry[1]:
            return f"{name} no longer says what audit entry {entry[0]} recorded"
    if left:
        number, (entry_id, _) = min(left.items())
        return f"{kind} #{number} recorded by audit entry {entry_id} is missing"
    return None
