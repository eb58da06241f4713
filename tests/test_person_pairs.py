"""The person pairs of a load (`entities.person_pairs`), made in the candidates' sorted
order with each side's row found by binary search (`beside`), equal the straightforward
form they replaced (hash joins, a frame per kind, one sort at the end), kept here as the
reference; and each pair's match is `persons.pair_match` of its two rows. The companies'
name keys made for a load (`compile.company_name_keys`, `sorted_names`) equal those of
`compile.company_keys` and `name_frames`."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from test_registry_load_columns import spellings

from customs_rules.entities import compile as compiled
from customs_rules.entities import names, persons
from customs_rules.entities.person_pairs import (
    NAME_MATCH_SCHEMA,
    PAIR_SCHEMA,
    _with_ids,
    beside,
    candidate_pairs,
    codes,
    people_frame,
    person_pairs,
)

NAMES = [
    "Ivanov Ivan", "Иванов Иван", "Ivanov I.", "Ivanov Ivan Ivanovich", "Иванов Иван Иванович", "Ivanova Anna",
    "Petrov Petr", "Петров Пётр", "P. Petrov", "Serik Aliev", "Серік Әлиев", "Aliev Serik uly",
]  # fmt: skip
IDS = [None, None, "123", "1-23", "456", " 456 "]
BORN = [None, dt.date(1980, 1, 1), dt.date(1980, 1, 2)]


@st.composite
def people(draw: Any) -> list[tuple[int, str, str, str | None, dt.date | None]]:
    size = draw(st.integers(0, 25))
    rows = draw(st.lists(st.integers(1, 10_000), min_size=size, max_size=size, unique=True))  # any order
    return [
        (row, draw(st.sampled_from(["C1", "C2", "C3", "C4"])), draw(st.sampled_from(NAMES)),
         draw(st.sampled_from(IDS)), draw(st.sampled_from(BORN)))
        for row in rows
    ]  # fmt: skip


def _reference(people: pl.DataFrame) -> pl.DataFrame:
    """`person_pairs` as it was written before: joins, a frame per kind, sorted at the end."""
    people = _with_ids(people)
    candidates = candidate_pairs(people)
    people = people.with_columns(pl.col("person_name").rank("dense").alias("name"),
                                 pl.col("id_key").rank("dense").alias("id"))  # fmt: skip
    info = people.select("row", "name", "id", "birth_date")
    joined = candidates.join(info, on="row").join(info, left_on="other_row", right_on="row", suffix="_other")
    both_ids = pl.col("id").is_not_null() & pl.col("id_other").is_not_null()
    births_differ = pl.col("birth_date") != pl.col("birth_date_other")
    by_id = joined.filter(both_ids & (pl.col("id") == pl.col("id_other")))
    by_name = joined.filter(~both_ids & ~births_differ.fill_null(False))
    spelled = people.select("name", "person_name").unique("name")
    distinct = by_name.select("name", "name_other").unique().join(spelled, on="name")
    distinct = distinct.join(spelled, left_on="name_other", right_on="name", suffix="_other")
    found = []
    for name, other in distinct.select("person_name", "person_name_other").iter_rows():
        if names.may_match(name, other):
            match = names.compare(name, other)
            found.append((name, other, match.score, match.full_score, match.initials))
    matches = pl.DataFrame(found, schema=NAME_MATCH_SCHEMA, orient="row")
    matches = matches.join(distinct, on=["person_name", "person_name_other"]).drop("person_name", "person_name_other")
    by_name = by_name.join(matches, on=["name", "name_other"])
    same_birth = (pl.col("birth_date") == pl.col("birth_date_other")).fill_null(False).alias("same_birth")
    id_rows = by_id.select(
        "row", "other_row", pl.lit("person_id").alias("kind"), pl.lit(1.0).alias("score"),
        pl.lit(0.0).alias("full_score"), pl.lit(False).alias("initials"), pl.lit(False).alias("same_birth"),
    )  # fmt: skip
    name_rows = by_name.select(
        "row", "other_row", pl.lit("name").alias("kind"), "score", "full_score", "initials", same_birth
    )
    return pl.concat([id_rows, name_rows]).cast(PAIR_SCHEMA).sort("row", "other_row")  # type: ignore[arg-type]


@settings(max_examples=150, deadline=None)
@given(people())
def test_person_pairs_equal_the_reference_and_pair_match(rows: list[Any]) -> None:
    frame = people_frame(rows)
    got = person_pairs(frame)
    assert got.equals(_reference(frame))
    assert got.select(pl.col("row") < pl.col("other_row")).to_series().all()
    assert got.select("row", "other_row").is_duplicated().sum() == 0
    by_row = {row: (name, ident, born) for row, _, name, ident, born in rows}
    for row, other, *match in got.iter_rows():
        assert persons.pair_match(by_row[row], by_row[other]) == persons.PairMatch(*match)


@given(st.lists(st.tuples(st.integers(0, 50), st.integers(0, 50)), max_size=30), st.randoms())
def test_beside_gives_each_sides_row(pairs: list[tuple[int, int]], random: Any) -> None:
    rows = sorted({r for pair in pairs for r in pair} | {99})
    random.shuffle(rows)  # `info` in any order
    info = pl.DataFrame({"row": rows, "value": [f"v{r}" for r in rows]}, schema={"row": pl.Int64, "value": pl.Utf8})
    frame = pl.DataFrame(pairs, schema={"row": pl.Int64, "other_row": pl.Int64}, orient="row")
    got = beside(frame, info)
    assert got.columns == ["row", "other_row", "value", "value_other"]
    assert got.rows() == [(a, b, f"v{a}", f"v{b}") for a, b in pairs]


@given(st.lists(st.one_of(st.none(), st.sampled_from(["b", "a", "Ä", "", "ab"]))))
def test_codes_are_the_dense_rank(values: list[str | None]) -> None:
    column = pl.Series("c", values, dtype=pl.Utf8)
    got = codes(column)
    assert got.dtype == pl.UInt32
    assert got.to_list() == [None if r is None else r - 1 for r in column.rank("dense").to_list()]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(spellings(), st.lists(spellings(), max_size=2)), max_size=12), st.integers(1, 4))
def test_company_name_keys_sort_as_name_frames(companies: list[tuple[str, list[str]]], slice_size: int) -> None:
    rows = pl.DataFrame(
        [(f"ID-{n}", name, aliases) for n, (name, aliases) in enumerate(companies)],
        schema={"company_id": pl.Utf8, "name": pl.Utf8, "aliases": pl.List(pl.Utf8)}, orient="row",
    )  # fmt: skip
    expected = compiled.name_frames(compiled.company_keys(rows, block_spellings=False).filter(pl.col("kind") != "id"))
    before, compiled.COMPANY_SLICE = compiled.COMPANY_SLICE, slice_size  # several slices of companies
    try:
        got = compiled.sorted_names(*compiled.company_name_keys(rows))
    finally:
        compiled.COMPANY_SLICE = before
    assert got.keys() == expected.keys()
    for name, frame in expected.items():
        assert got[name].equals(frame), name
