"""Facts stored once per distinct signature, as decisions stored from migration 0008 to
0012 hold them (decisions stored since hold what the columns do not: `compact`).
`facts_of` reads them back; `split` is how they were made, kept as the reference that
`compact` is tested against, and `digests` is the digest of every signature, of both forms.

Enrichment gives each item one fact holding the declaration's header facts (the same
for every item) and the item's own (`item.` fields). They are stored as two kinds of
signature, each a JSON object stored once however many decisions were made on it: a
decision refers to its header facts, and each of its items to that item's own facts
(`decision_item`). The facts come back as they were made, key order included.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

ITEM_FACTS = "item."  # the prefix of the facts each goods item has of its own (facts.FIELDS)
KEYS = ("decl", "position")


@dataclass
class Signatures:
    """A set's facts as signatures: `texts` (sig, text) each distinct signature text
    once, `sig` its row; `header` (decl, sig) one per declaration whose items share
    their header facts, `items` (decl, position, sig) one per item: its own facts, or all
    of them where its declaration's items differ in their header facts. Rows refer to
    texts by number, so storing joins integers, not texts of a kilobyte."""

    texts: pl.DataFrame
    header: pl.DataFrame
    items: pl.DataFrame

    def distinct(self) -> pl.DataFrame:
        """Every distinct signature text of the set (`sig`, `digest`, `facts`)."""
        texts = self.texts.get_column("text")
        return pl.DataFrame({"sig": self.texts.get_column("sig"), "digest": digests(texts), "facts": texts})


def split(facts: pl.DataFrame) -> Signatures:
    """The signatures of a set's facts (one row per item: `decl`, `position` and one column
    per fact field)."""
    fields = [c for c in facts.columns if c not in KEYS]
    head = [c for c in fields if not c.startswith(ITEM_FACTS)]
    own = [c for c in fields if c.startswith(ITEM_FACTS)]
    rows = facts.select(*KEYS, _json(head).alias("head"), _json(own).alias("own"), _json(fields).alias("whole"))
    shared = rows.group_by("decl").agg(pl.col("head").n_unique().alias("n")).filter(pl.col("n") == 1)
    rows = rows.with_columns(pl.col("decl").is_in(shared.get_column("decl").implode()).alias("shared"))
    header = (
        rows.filter("shared")
        .unique("decl", keep="first", maintain_order=True)
        .select("decl", pl.col("head").alias("text"))
        .filter(pl.col("text").is_not_null())
    )
    items = rows.select(*KEYS, pl.when("shared").then("own").otherwise("whole").alias("text"))
    items = items.filter(pl.col("text").is_not_null())
    unique = pl.concat([header.get_column("text"), items.get_column("text")]).unique(maintain_order=True)
    texts = pl.DataFrame({"sig": pl.int_range(len(unique), dtype=pl.UInt32, eager=True), "text": unique})
    return Signatures(
        texts,
        header.join(texts, on="text", maintain_order="left").select("decl", "sig"),
        items.join(texts, on="text", maintain_order="left").select(*KEYS, "sig"),
    )


def _json(columns: Sequence[str]) -> pl.Expr:
    if not columns:
        return pl.lit(None, pl.String)
    return pl.struct(columns).struct.json_encode()


def digests(texts: Iterable[str]) -> list[str]:
    """The digest a signature is stored and sealed by: of its text as stored."""
    return [hashlib.blake2b(text.encode(), digest_size=16).hexdigest() for text in texts]


def facts_of(header: str | None, items: Sequence[str]) -> list[dict[str, Any]]:
    """A decision's facts, one per item as enrichment made them, from its signatures'
    texts (the standard library: a fact may hold an integer past 64 bits)."""
    shared = json.loads(header) if header else {}
    return [shared | json.loads(text) for text in items]


def parts(stored: list[dict[str, Any]] | dict[str, Any]) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """Facts as a decision row held them before migration 0008 (`{"header", "items"}`, or
    one dict per item) as signatures' values: the header the items share, if any, and
    each item's own facts."""
    if isinstance(stored, dict):
        return stored["header"], stored["items"]
    return None, stored


def text_of(values: dict[str, Any]) -> str:
    """A signature's text, as migration 0008 writes the facts stored before it."""
    return json.dumps(values, ensure_ascii=False, separators=(",", ":"))
