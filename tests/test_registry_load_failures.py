"""`registry load` writes a table's rows, then makes the snapshot's parts and stores them
(`store.registry_load.rows_written`): a failure on either side, writing the rows or
making the parts, leaves the tables and the snapshot as they were, and says so. The
column helpers it uses give what their per-value references give."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest
from conftest import FIXTURES, load_fixture_registry
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from customs_rules.contract.errors import StorageError
from customs_rules.contract.registry_rows import CompanyRecord
from customs_rules.entities import compile as compiled
from customs_rules.entities.registry_files import read_registry_frame
from customs_rules.entities.spelling_keys import code_lists
from customs_rules.store import Store, registry_load
from customs_rules.workflow.screener import load_registry

REGISTRY = FIXTURES / "registry"


def _stored(db: str) -> tuple[list[Any], list[Any], dict[str, pl.DataFrame]]:
    """The tables' rows and the snapshot's parts as frames (a part's bytes may differ
    between two loads of the same files: polars lays out a frame's buffers as it goes)."""
    store = Store(db)
    try:
        with store.engine.connect() as conn:
            companies = list(conn.execute(text("SELECT * FROM company ORDER BY id")))
            people = list(conn.execute(text("SELECT * FROM person ORDER BY id")))
            parts = {
                n: pl.read_ipc(bytes(d)) for n, d in conn.execute(text("SELECT name, data FROM registry_snapshot"))
            }
            return companies, people, parts
    finally:
        store.close()


def _assert_same(got: tuple[list[Any], list[Any], dict[str, pl.DataFrame]], expected: Any) -> None:
    assert got[:2] == expected[:2]
    assert sorted(got[2]) == sorted(expected[2])
    for name, frame in expected[2].items():
        assert got[2][name].equals(frame), name


def _load(db: str) -> Any:
    store = Store(db)
    try:
        return load_registry(store, REGISTRY / "companies.csv", REGISTRY / "people.csv")
    finally:
        store.close()


def test_a_failure_writing_the_rows_leaves_everything_as_it_was(db_url: str, monkeypatch: Any) -> None:
    load_fixture_registry(db_url)
    before = _stored(db_url)

    def broken(session: Any, table: str, frame: pl.DataFrame) -> None:
        registry_load._execute(session, f"DELETE FROM {table}")  # half done, then the failure
        raise StorageError("the disk is full")

    monkeypatch.setattr(registry_load, "_insert", broken)
    with pytest.raises(StorageError, match="the disk is full"):
        _load(db_url)
    _assert_same(_stored(db_url), before)


@pytest.mark.parametrize("side", ["companies", "people"])
def test_a_failure_making_the_parts_leaves_everything(db_url: str, monkeypatch: Any, side: str) -> None:
    load_fixture_registry(db_url)
    before = _stored(db_url)
    written: list[str] = []
    insert = registry_load._insert

    def recorded(session: Any, table: str, frame: pl.DataFrame) -> None:
        insert(session, table, frame)
        written.append(table)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise StorageError("out of memory")

    monkeypatch.setattr(registry_load, "_insert", recorded)
    monkeypatch.setattr(registry_load, "company_parts" if side == "companies" else "compiled_parts", broken)
    with pytest.raises(StorageError, match="out of memory"):
        _load(db_url)
    assert written[-1] == ("company" if side == "companies" else "person")  # after the rows were written
    _assert_same(_stored(db_url), before)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(max_size=30), max_size=40))
def test_key_hashes_equal_key_hash(keys: list[str]) -> None:
    got = compiled.key_hashes(pl.Series(keys, dtype=pl.Utf8))
    assert got.dtype == pl.Int64
    assert got.to_list() == [compiled.key_hash(key) for key in keys]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(st.integers(0, 2**32 - 1), max_size=5), max_size=30))
def test_code_lists_equal_polars_lists(values: list[list[int]]) -> None:
    assert code_lists("c", values).equals(pl.Series("c", values, dtype=pl.List(pl.UInt32)))


def test_company_keys_without_block_spellings_keep_the_same_keys() -> None:
    rows = read_registry_frame(REGISTRY / "companies.csv", CompanyRecord)
    full = compiled.company_keys(rows)
    lean = compiled.company_keys(rows, block_spellings=False)
    blocks = pl.col("kind") == "block"
    assert lean.filter(~blocks).equals(full.filter(~blocks))
    assert lean.filter(blocks).select("pk", "key", "kind").equals(full.filter(blocks).select("pk", "key", "kind"))
    assert lean.filter(blocks).select(pl.col("spelling").is_null().all()).item()
    assert compiled.name_frames(lean.filter(pl.col("kind") != "id")).keys() == {"names", "blocks"}
    for name, frame in compiled.name_frames(lean.filter(pl.col("kind") != "id")).items():
        assert frame.equals(compiled.name_frames(full.filter(pl.col("kind") != "id"))[name]), name
