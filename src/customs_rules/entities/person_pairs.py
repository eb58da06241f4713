"""The same-person rule (`entities.persons`) applied to a whole people file, as columns.

Candidate pairs by keys (a join), ids and birth dates compared as columns, names once per
distinct pair of names: what `registry load` stores in `person_pair`, and what the
in-memory reference (`registry.RegistryIndex`) computes for itself.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import polars as pl

from . import names, persons
from .persons import name_keys, normalize_ids

PEOPLE_SCHEMA = {
    "row": pl.Int64,
    "company_key": pl.Utf8,
    "person_name": pl.Utf8,
    "person_id": pl.Utf8,
    "birth_date": pl.Date,
}
PAIR_SCHEMA = {
    "row": pl.Int64,
    "other_row": pl.Int64,
    "kind": pl.Utf8,
    "score": pl.Float64,
    "full_score": pl.Float64,
    "initials": pl.Boolean,
    "same_birth": pl.Boolean,
}
NAME_MATCH_SCHEMA = {
    "person_name": pl.Utf8,
    "person_name_other": pl.Utf8,
    "score": pl.Float64,
    "full_score": pl.Float64,
    "initials": pl.Boolean,
}


def _with_ids(people: pl.DataFrame) -> pl.DataFrame:
    """`people` with `id_key`, the person id normalised (computed once per distinct id)."""
    ids = people.select(pl.col("person_id").drop_nulls().unique())
    ids = ids.with_columns(normalize_ids(ids["person_id"]).alias("id_key"))
    return people.join(ids, on="person_id", how="left")


def candidate_pairs(people: pl.DataFrame) -> pl.DataFrame:
    """(row, other_row), row < other_row, sorted: natural persons of different companies sharing a
    key carried by at most MAX_NAMESAKES rows. `people`: PEOPLE_SCHEMA plus `id_key`,
    natural persons only (each counts towards a key's carriers, whatever its company)."""
    distinct = people["person_name"].unique().to_list()
    keys = [(name, key) for name in distinct for key in name_keys(name)]
    keyed = pl.DataFrame(keys, schema={"person_name": pl.Utf8, "key": pl.Utf8}, orient="row")
    # each key's carriers are counted from the names' counts before any row is expanded,
    # and the rows meet by integer codes (companies too): the self-join is the load's
    # largest frame. Name keys (x:, p:, n:) and id keys (i:) never coincide.
    named = people.group_by("person_name").agg(pl.len().alias("carriers"))
    carried = keyed.join(named, on="person_name").group_by("key").agg(pl.col("carriers").sum())
    small_keys = carried.filter(pl.col("carriers").is_between(2, persons.MAX_NAMESAKES)).select("key")
    people = people.with_columns(codes(people["company_key"]).alias("company"))
    by_name = (
        people.select("row", "company", "person_name")
        .join(keyed.join(small_keys, on="key", how="semi"), on="person_name")
        .drop("person_name")
    )
    by_id = people.filter(pl.col("id_key").is_not_null()).select(
        "row", "company", (pl.lit("i:") + pl.col("id_key")).alias("key")
    )
    by_id = by_id.filter(pl.len().over("key").is_between(2, persons.MAX_NAMESAKES))
    small = pl.concat([by_name, by_id])
    small = small.select(codes(small["key"]).alias("key"), "row", "company")
    # the self-join a share of the keys at a time (a key's carriers all in one share):
    # whole, it was the largest frame of a load (1.9 M rows at 200k people)
    # sorted: (row, other_row) in order, which every later step keeps
    packed = pl.concat([_packed_pairs(small.filter(pl.col("key") % JOIN_SHARES == share))
                        for share in range(JOIN_SHARES)]).unique().sort()  # fmt: skip
    return pl.DataFrame({"row": packed // PACK, "other_row": packed % PACK})


def codes(text: pl.Series) -> pl.Series:
    """Each value's code, equal where the text is (`rank("dense")` less one; null stays
    null): the distinct values sorted, then mapped, ten times faster than ranking every row."""
    distinct = text.drop_nulls().unique().sort()
    if distinct.is_empty():  # replace_strict would hand the text back as it is
        return pl.Series(text.name, [None] * len(text), dtype=pl.UInt32)
    return text.replace_strict(distinct, pl.int_range(len(distinct), dtype=pl.UInt32, eager=True),
                               return_dtype=pl.UInt32)  # fmt: skip


PACK = 1 << 32
JOIN_SHARES = 4


def _packed_pairs(small: pl.DataFrame) -> pl.Series:
    """The pairs of rows of different companies sharing a key, each as one integer (rows
    are far below 2**31): polars' unique of one column needs a fraction of the memory of
    a frame's unique."""
    pairs = small.join(small, on="key", suffix="_other")
    pairs = pairs.filter((pl.col("row") < pl.col("row_other")) & (pl.col("company") != pl.col("company_other")))
    return pairs.select(pl.col("row") * PACK + pl.col("row_other")).to_series()


def person_pairs(people: pl.DataFrame) -> pl.DataFrame:
    """Every candidate pair that the rule does not keep apart, with its match (PAIR_SCHEMA,
    row < other_row, sorted). Threshold-free: `classify` applies the threshold when read.
    Ids and birth dates are compared as columns; names once per distinct pair of names.

    The candidates come sorted and every step after keeps their order (filters, joins
    that keep the left side's order): a pair's kind is a column rather than a frame of
    its own, so no frame of all the pairs is concatenated or sorted again (at 200k people
    those were the largest transient frames of a load)."""
    people = _with_ids(people)
    candidates = candidate_pairs(people)
    # names and ids travel as integer codes (equal where the text is): the candidates are many
    people = people.with_columns(codes(people["person_name"]).alias("name"), codes(people["id_key"]).alias("id"))
    joined = beside(candidates, people.select("row", "name", "id", "birth_date"))
    del candidates
    both_ids = pl.col("id").is_not_null() & pl.col("id_other").is_not_null()
    births_differ = pl.col("birth_date") != pl.col("birth_date_other")  # null when either is missing
    same_birth = (pl.col("birth_date") == pl.col("birth_date_other")).fill_null(False)
    by_id = both_ids & (pl.col("id") == pl.col("id_other"))
    kept = joined.filter(by_id | (~both_ids & ~births_differ.fill_null(False)))
    kept = kept.select("row", "other_row", "name", "name_other", by_id.alias("by_id"), same_birth.alias("same_birth"))
    del joined
    spelled = people.select("name", "person_name").unique("name")
    distinct = kept.filter(~pl.col("by_id")).select("name", "name_other").unique().join(spelled, on="name")
    distinct = distinct.join(spelled, left_on="name_other", right_on="name", suffix="_other")
    matches = _name_matches(distinct.select("person_name", "person_name_other"))
    matches = matches.join(distinct, on=["person_name", "person_name_other"]).drop("person_name", "person_name_other")
    del people, spelled, distinct
    # a pair of names that may not match has no row in `matches`: its candidates go
    kept = kept.join(matches, on=["name", "name_other"], how="left", maintain_order="left")
    kept = kept.filter(pl.col("by_id") | pl.col("score").is_not_null())
    by_id = pl.col("by_id")
    return kept.select(
        "row", "other_row", pl.when(by_id).then(pl.lit("person_id")).otherwise(pl.lit("name")).alias("kind"),
        pl.when(by_id).then(1.0).otherwise("score").alias("score"),
        pl.when(by_id).then(0.0).otherwise("full_score").alias("full_score"),
        pl.when(by_id).then(False).otherwise("initials").alias("initials"),
        (~by_id & pl.col("same_birth")).alias("same_birth"),
    ).cast(PAIR_SCHEMA)  # type: ignore[arg-type]  # fmt: skip


def company_pairs(company_keys: pl.DataFrame, people: pl.DataFrame) -> pl.DataFrame:
    """The person pairs of the registry: `person_pairs` of its natural persons (rows no
    company holds), between companies of `company_keys` (its `key` column), each with both
    companies' keys: row, other_row, company_key, other_company_key, then the match."""
    natural = people.filter(pl.col("holder_key").is_null()).select(
        pl.col("pk").alias("row"), "company_key", "person_name", "person_id", "birth_date"
    )
    # each row's company, and whether the registry knows it: they filter and name the pairs
    known = natural.select(
        "row", pl.col("company_key").is_in(company_keys["key"].implode()).fill_null(False).alias("known")
    )
    pairs = beside(person_pairs(natural), known).filter(pl.col("known") & pl.col("known_other"))
    pairs = beside(pairs.drop("known", "known_other"), natural.select("row", "company_key"))
    return pairs.rename({"company_key_other": "other_company_key"}).select(
        "row", "other_row", "company_key", "other_company_key", *list(PAIR_SCHEMA)[2:]
    )


def beside(pairs: pl.DataFrame, info: pl.DataFrame) -> pl.DataFrame:
    """`pairs` (row, other_row, ...) with `info`'s columns of each side: those of `row`,
    then those of `other_row` (suffix `_other`), in the pairs' order. `info`: `row` once
    each, every row of the pairs among them. The rows are found by binary search and
    gathered: the hash joins this replaces (keeping the pairs' order) needed twice the
    memory of their result at a load's largest frames."""
    info = info.sort("row")
    rows, values = info["row"], info.drop("row")
    one = values[rows.search_sorted(pairs["row"])]
    other = values[rows.search_sorted(pairs["other_row"])]
    return pairs.hstack(one).hstack(other.rename({c: f"{c}_other" for c in other.columns}))


def _name_matches(pairs: pl.DataFrame) -> pl.DataFrame:
    """`names.compare` of each distinct (earlier name, later name) that may match."""
    out = []
    for name, other in pairs.iter_rows():
        if names.may_match(name, other):
            match = names.compare(name, other)
            out.append((name, other, match.score, match.full_score, match.initials))
    return pl.DataFrame(out, schema=NAME_MATCH_SCHEMA, orient="row")


def people_frame(
    rows: Sequence[tuple[int, str, str, str | None, dt.date | None]],
) -> pl.DataFrame:
    """PEOPLE_SCHEMA from (row, company key, name, person id, birth date) tuples."""
    return pl.DataFrame(rows, schema=PEOPLE_SCHEMA, orient="row")
