"""The registry snapshot stored at load (issue #13, items 3 and 7): it holds what the
tables hold, each load replaces the parts of the tables it writes and a refused file none,
a database without one is read from its tables, and workers map one extracted copy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest
from click.testing import CliRunner
from conftest import FIXTURES, load_fixture_registry, sql
from sqlalchemy import text

from customs_rules.cli.base import main
from customs_rules.entities import compile as compiled
from customs_rules.entities.name_search import SpellingIndex
from customs_rules.store import Store, registry_load, registry_snapshot
from customs_rules.workflow.batch_pool import shared_snapshot
from customs_rules.workflow.screener import load_registry

REGISTRY = FIXTURES / "registry"


def _frames(db: str) -> tuple[dict[str, pl.DataFrame] | None, dict[str, pl.DataFrame]]:
    store = Store(db)
    try:
        with store.reading() as session:
            return registry_snapshot.read_frames(session), registry_load.read_frames(session)
    finally:
        store.close()


def _assert_same(got: dict[str, pl.DataFrame] | None, expected: dict[str, pl.DataFrame]) -> None:
    assert got is not None and list(got) == list(expected) == list(registry_snapshot.PARTS)
    for name, frame in expected.items():
        assert got[name].schema == frame.schema, name
        assert got[name].equals(frame), name


def _parts(db: str) -> dict[str, bytes]:
    store = Store(db)
    try:
        with store.engine.connect() as conn:
            return {n: bytes(d) for n, d in conn.execute(text("SELECT name, data FROM registry_snapshot"))}
    finally:
        store.close()


def test_the_snapshot_holds_what_the_tables_hold(db_url: str) -> None:
    load_fixture_registry(db_url)
    snapshot, tables = _frames(db_url)
    _assert_same(snapshot, tables)
    assert tables["pairs"].height > 0 and tables["blocks"].height > 0


def test_each_load_replaces_the_parts_of_its_tables(db_url: str, tmp_path: Path) -> None:
    store = Store(db_url)
    try:
        assert not load_registry(store, REGISTRY / "companies.csv", REGISTRY / "people.csv").failed
        before = _parts(db_url)
        fewer = tmp_path / "companies.csv"
        lines = (REGISTRY / "companies.csv").read_text(encoding="utf-8").splitlines(keepends=True)
        fewer.write_text("".join(lines[:-2]), encoding="utf-8")
        assert not load_registry(store, companies=fewer).failed  # the people as stored, compiled again
        _assert_same(*_frames(db_url))
        after = _parts(db_url)
        assert after["companies"] != before["companies"] and after["people"] == before["people"]
        assert not load_registry(store, people=REGISTRY / "people.csv").failed
        _assert_same(*_frames(db_url))
    finally:
        store.close()


def test_a_refused_file_leaves_the_snapshot_as_it_was(db_url: str, tmp_path: Path) -> None:
    load_fixture_registry(db_url)
    before = _parts(db_url)
    bad = tmp_path / "companies.csv"
    bad.write_text("company_id,name\n,Nameless\n", encoding="utf-8")
    store = Store(db_url)
    try:
        assert load_registry(store, companies=bad).failed
    finally:
        store.close()
    assert _parts(db_url) == before


def _screen(db: str, workers: int) -> Any:
    return CliRunner().invoke(main, ["--db", db, "-q", "screen", str(FIXTURES / "shipments.csv"), "--no-store",
                                     "--workers", str(workers), "--format", "json"])  # fmt: skip


def _decisions(output: str) -> list[str]:
    import re

    return [re.sub(r'"screened_at":"[^"]*"', "", line) for line in output.splitlines()]


def test_a_database_without_a_snapshot_is_read_from_its_tables(sqlite_url: str, tmp_path: Path) -> None:
    load_fixture_registry(sqlite_url)
    expected = _screen(sqlite_url, 1)
    assert expected.exit_code in (0, 1), expected.output
    sql(sqlite_url, "DELETE FROM registry_snapshot WHERE name = 'edges'")
    snapshot, tables = _frames(sqlite_url)
    assert snapshot is None
    store = Store(sqlite_url)
    try:
        _assert_same(store.registry_frames(), tables)
        assert not store.extract_registry(tmp_path)
    finally:
        store.close()
    for workers in (1, 2):
        got = _screen(sqlite_url, workers)
        assert (got.exit_code, _decisions(got.stdout)) == (expected.exit_code, _decisions(expected.stdout))


def test_workers_map_one_extracted_copy(sqlite_url: str) -> None:
    load_fixture_registry(sqlite_url)
    snapshot, _ = _frames(sqlite_url)
    with shared_snapshot(sqlite_url) as directory:
        assert directory is not None
        _assert_same(registry_snapshot.mapped_frames(Path(directory)), snapshot or {})
    assert not Path(directory).exists()  # removed with the pool
    one, two = _screen(sqlite_url, 1), _screen(sqlite_url, 2)
    assert one.exit_code == two.exit_code and _decisions(one.stdout) == _decisions(two.stdout)


def test_a_registry_stored_before_the_snapshot_gets_one_when_migrated(sqlite_url: str) -> None:
    load_fixture_registry(sqlite_url)
    expected = _parts(sqlite_url)
    sql(sqlite_url, "DROP TABLE registry_snapshot", "UPDATE alembic_version SET version_num = '0010'",
        "CREATE INDEX ix_company_key_key ON company_key (key)",
        "CREATE INDEX ix_person_pair_person_pk ON person_pair (person_pk)",
        "CREATE INDEX ix_person_pair_other_pk ON person_pair (other_pk)",
        # and without what 0012 added
        "DROP INDEX ix_declaration_exporter_key", "DROP INDEX ix_declaration_consignee_key",
        "DROP INDEX ix_declaration_date", "ALTER TABLE declaration DROP COLUMN exporter_key",
        "ALTER TABLE declaration DROP COLUMN consignee_key")  # fmt: skip
    snapshot, tables = _frames(sqlite_url)  # opening migrates
    _assert_same(snapshot, tables)
    migrated = _parts(sqlite_url)
    assert set(migrated) == set(expected)
    assert all(pl.read_ipc(data).equals(pl.read_ipc(expected[name])) for name, data in migrated.items())


@pytest.mark.parametrize("collide", [False, True])
def test_the_spelling_index_answers_as_a_dict_would(collide: bool) -> None:
    """Every key's spellings in load order, every company's, every block's members, also
    when every hash collides (the keys themselves decide)."""
    rows = [(1, "a b", "exact", "name", "A B"), (2, "c", "exact", "name", "C"), (1, "c", "exact", "alias", "C."),
            (3, "a b", "exact", "name", "a-b"), (1, "a", "block", "name", "A B"), (3, "a", "block", "name", "a-b"),
            (2, "c", "block", "name", "C"), (1, "c", "block", "alias", "C."), (1, "a", "block", "alias", "x")]  # fmt: skip
    keys = pl.DataFrame(rows, schema=["pk", "key", "kind", "spelling_kind", "spelling"], orient="row")
    hashing = (lambda key: 7) if collide else compiled.key_hash
    frames = compiled.name_frames(keys)
    if collide:
        frames = {name: frame.with_columns(pl.lit(7, pl.Int64).alias("hash")) for name, frame in frames.items()}
        frames["names"] = frames["names"].sort("hash", maintain_order=True)
        frames["blocks"] = frames["blocks"].sort("hash", "key", "pk")
    index = SpellingIndex(frames["names"], frames["blocks"], hashing)
    assert index.exact("a b") == [(1, "name", "A B"), (3, "name", "a-b")]
    assert index.exact("c") == [(2, "name", "C"), (1, "alias", "C.")]
    assert index.exact("zz") == []
    assert index.spellings(1) == [(1, "name", "A B"), (1, "alias", "C.")]
    assert index.spellings(4) == []
    assert sorted(index.block("a")) == [1, 3] and sorted(index.block("c")) == [1, 2] and list(index.block("q")) == []
