"""The goods-description facts of a set (`item.description_lists`,
`item.description_code_mismatch`), computed once per distinct description and code by the
matcher the reference uses (`GoodsMatcher.values`, without building evidence), joined
back as columns; evidence is built for the findings only, by the reference's function."""

from __future__ import annotations

import polars as pl

from ..engine.enrichment import description_features
from ..rules.reference import ReferenceData

LISTS, MISMATCH = "item.description_lists", "item.description_code_mismatch"


def description_columns(items: pl.DataFrame, reference: ReferenceData) -> pl.DataFrame:
    """One row per row of `items` (columns `description`, `hs_code`): the two facts."""
    keys = items.select("description", "hs_code")
    distinct = keys.unique(maintain_order=True)
    matcher = reference.goods_text()
    lists: list[list[str] | None] = []
    mismatch: list[bool | None] = []
    for description, hs_code in distinct.iter_rows():
        found, disagrees = matcher.values(description, hs_code)
        lists.append(found)
        mismatch.append(disagrees)
    answers = distinct.with_columns(
        pl.Series(LISTS, lists, dtype=pl.List(pl.String)), pl.Series(MISMATCH, mismatch, dtype=pl.Boolean)
    )
    on = ["description", "hs_code"]
    return keys.join(answers, on=on, how="left", nulls_equal=True, maintain_order="left").select(LISTS, MISMATCH)


def description_detail(description: str | None, hs_code: str, reference: ReferenceData, name: str) -> object:
    """The evidence detail of one of the two facts, as the reference gives it."""
    return description_features(description, hs_code, reference)[name].detail
