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
    """(row, other_row), row < other_row: natural persons of different companies sharing a
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
    people = people.with_columns(pl.col("company_key").rank("dense").alias("company"))
    by_name = (
        people.select("row", "company", "person_name")
        .join(keyed.join(small_keys, on="key", how="semi"), on="person_name")
        .drop("person_name")
    )
    by_id = people.filter(pl.col("id_key").is_not_null()).select(
        "row", "company", (pl.lit("i:") + pl.col("id_key")).alias("key")
    )
    by_id = by_id.filter(pl.len().over("key").is_between(2, persons.MAX_NAMESAKES))
    small = pl.concat([by_name, by_id]).select(pl.col("key").rank("dense").alias("key"), "row", "company")
    # the self-join a share of the keys at a time (a key's carriers all in one share):
    # whole, it was the largest frame of a load (1.9 M rows at 200k people)
    packed = pl.concat([_packed_pairs(small.filter(pl.col("key") % JOIN_SHARES == share))
                        for share in range(JOIN_SHARES)]).unique()  # fmt: skip
    return pl.DataFrame({"row": packed // PACK, "other_row": packed % PACK})


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
    Ids and birth dates are compared as columns; names once per distinct pair of names."""
    people = _with_ids(people)
    candidates = candidate_pairs(people)
    # names and ids travel as integer codes (equal where the text is): the candidates are many
    people = people.with_columns(pl.col("person_name").rank("dense").alias("name"),
                                 pl.col("id_key").rank("dense").alias("id"))  # fmt: skip
    info = people.select("row", "name", "id", "birth_date")
    joined = candidates.join(info, on="row").join(info, left_on="other_row", right_on="row", suffix="_other")
    both_ids = pl.col("id").is_not_null() & pl.col("id_other").is_not_null()
    births_differ = pl.col("birth_date") != pl.col("birth_date_other")  # null when either is missing
    by_id = joined.filter(both_ids & (pl.col("id") == pl.col("id_other")))
    by_name = joined.filter(~both_ids & ~births_differ.fill_null(False))
    del joined, candidates, info  # gone before the matches are joined: the load's peak is here
    spelled = people.select("name", "person_name").unique("name")
    distinct = by_name.select("name", "name_other").unique().join(spelled, on="name")
    distinct = distinct.join(spelled, left_on="name_other", right_on="name", suffix="_other")
    matches = _name_matches(distinct.select("person_name", "person_name_other"))
    matches = matches.join(distinct, on=["person_name", "person_name_other"]).drop("person_name", "person_name_other")
    by_name = by_name.join(matches, on=["name", "name_other"])
    del people, spelled, distinct, matches
    same_birth = (pl.col("birth_date") == pl.col("birth_date_other")).fill_null(False).alias("same_birth")
    id_rows = by_id.select(
        "row", "other_row", pl.lit("person_id").alias("kind"), pl.lit(1.0).alias("score"),
        pl.lit(0.0).alias("full_score"), pl.lit(False).alias("initials"), pl.lit(False).alias("same_birth"),
    )  # fmt: skip
    name_rows = by_name.select(
        "row", "other_row", pl.lit("name").alias("kind"), "score", "full_score", "initials", same_birth
    )
    return pl.concat([id_rows, name_rows]).cast(PAIR_SCHEMA).sort("row", "other_row")  # type: ignore[arg-type]


def company_pairs(company_keys: pl.DataFrame, people: pl.DataFrame) -> pl.DataFrame:
    """The person pairs of the registry: `person_pairs` of its natural persons (rows no
    company holds), between companies of `company_keys` (its `key` column), each with both
    companies' keys: row, other_row, company_key, other_company_key, then the match."""
    natural = people.filter(pl.col("holder_key").is_null()).select(
        pl.col("pk").alias("row"), "company_key", "person_name", "person_id", "birth_date"
    )
    # the rows of known companies, joined once each side: they filter and name the pairs
    known = natural.select("row", "company_key").join(company_keys, left_on="company_key", right_on="key", how="semi")
    pairs = person_pairs(natural).join(known, on="row")
    pairs = pairs.join(known, left_on="other_row", right_on="row", suffix="_other")
    return (
        pairs.sort("row", "other_row")
        .rename({"company_key_other": "other_company_key"})
        .select("row", "other_row", "company_key", "other_company_key", *list(PAIR_SCHEMA)[2:])
    )


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
