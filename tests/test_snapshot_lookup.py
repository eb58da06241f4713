"""`SnapshotLookup.touching` gives the rows `rows` gives, whichever way it decodes them.

A part's rows touching a few keys are decoded batch by batch; touching keys spread over
many of its record batches, the part's other columns are decoded in one pass beside its
key columns (`WHOLE_FROM`). The registries of the other tests fit in one record batch:
here a part of person pairs spans twelve and a bit, and the keys asked for fall in one
batch, in a few, and in all of them.
"""

from __future__ import annotations

import random

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from sqlmodel import Session

from customs_rules.store import Store, registry_snapshot, snapshot_files
from customs_rules.store.snapshot_lookup import AT, WHOLE_FROM, SnapshotLookup

ROWS = registry_snapshot.BATCH_ROWS * 12 + 321
COMPANIES = 5_000


def _pairs(seed: int) -> pl.DataFrame:
    """Person pairs between neighbouring companies, in the order of the companies (as a
    load writes them): a company's rows are in one batch or two."""
    rng = random.Random(seed)
    keys = [f"KZ{n:06d}" for n in range(COMPANIES)]
    at = [row * COMPANIES // ROWS for row in range(ROWS)]
    return pl.DataFrame(
        {
            "row": range(ROWS),
            "other_row": [rng.randrange(ROWS) for _ in range(ROWS)],
            "company_key": [keys[n] for n in at],
            "other_company_key": [keys[min(n + rng.randrange(3), COMPANIES - 1)] for n in at],
            "kind": [rng.choice(["id", "name", None]) for _ in range(ROWS)],
            "score": [rng.random() for _ in range(ROWS)],
            "full_score": [rng.choice([None, 1.0, 0.5]) for _ in range(ROWS)],
            "initials": [rng.random() < 0.1 for _ in range(ROWS)],
            "same_birth": [rng.choice([True, False, None]) for _ in range(ROWS)],
        },
        schema=snapshot_files.SCHEMAS["pairs"],
    )


def _expected(frame: pl.DataFrame, keys: set[str]) -> pl.DataFrame:
    """The rows touching `keys`, as `rows` gives them: by position, with it."""
    hit = pl.col("company_key").is_in(list(keys)) | pl.col("other_company_key").is_in(list(keys))
    return frame.with_row_index(AT).filter(hit).with_columns(pl.col(AT).cast(pl.Int64)).select(*frame.columns, AT)


@pytest.mark.parametrize("wanted", [1, 2, 40, COMPANIES])
def test_touching_gives_the_rows_however_many_batches_they_fall_in(db_url: str, wanted: int) -> None:
    frame = _pairs(wanted)
    middle = frame["company_key"][registry_snapshot.BATCH_ROWS * 3 + 4_000]  # one batch's alone
    keys = {middle} if wanted == 1 else set(random.Random(7).sample(sorted(set(frame["company_key"])), wanted))
    store = Store(db_url)
    try:
        with Session(store.engine) as session, session.begin():
            registry_snapshot.write_part(session, "pairs", frame)
        with Session(store.engine) as session:
            lookup = SnapshotLookup(session)
            got = lookup.touching("pairs", ("company_key", "other_company_key"), keys)
            whole = "pairs" in lookup._whole  # which way it went
            again = lookup.touching("pairs", ("company_key", "other_company_key"), keys)  # from what is decoded
    finally:
        store.close()
    expected = _expected(frame, keys)
    assert_frame_equal(got, expected)
    assert_frame_equal(again, expected)
    batches = {at // registry_snapshot.BATCH_ROWS for at in expected[AT]}
    assert whole == (len(batches) * WHOLE_FROM > -(-ROWS // registry_snapshot.BATCH_ROWS))
    assert whole == (wanted > 1)  # both ways are taken
