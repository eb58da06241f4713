"""The registry snapshot stored at load (issue #13, items 3 and 7): since migration 0014 the
only copy of the name keys, person pairs and company edges. It holds what the tables of
0012 held (the downgrade fills them again), each load replaces the parts of the files it
loads and a refused file none, a part not written reads as no rows, a part of another
format is refused, 0014 keeps what the tables held, and workers map one extracted copy."""

from __future__ import annotations

import subprocess
import sys
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
from customs_rules.store import Store, registry_snapshot, registry_tables, schema, snapshot_files
from customs_rules.workflow import batch, batch_workers
from customs_rules.workflow.batch_pool import shared_snapshot
from customs_rules.workflow.screener import load_registry

REGISTRY = FIXTURES / "registry"
TABLES = ("company_key", "person_key", "person_pair", "company_edge")


def _snapshot(db: str) -> dict[str, pl.DataFrame]:
    store = Store(db)
    try:
        return store.registry_frames()
    finally:
        store.close()


def _downgraded(db: str) -> dict[str, pl.DataFrame]:
    """Migrate `db` down to 0012 (the tables filled again from the companies and people)
    and read the frames from those tables."""
    from alembic import command
    from sqlmodel import Session

    store = Store(db)
    try:
        with store.engine.begin() as conn:
            command.downgrade(schema.alembic_config(conn), "0012")
        with Session(store.engine) as session:
            return registry_tables.read_frames(session)
    finally:
        store.close()


def _assert_same(got: dict[str, pl.DataFrame] | None, expected: dict[str, pl.DataFrame]) -> None:
    assert got is not None and list(got) == list(expected) == list(snapshot_files.PARTS)
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


def _fresh(tmp_path: Path, name: str, companies: Path, people: Path) -> dict[str, pl.DataFrame]:
    """The snapshot of both files loaded into a new database."""
    db = f"sqlite:///{tmp_path / name}"
    store = Store(db)
    try:
        assert not load_registry(store, companies, people).failed
        return store.registry_frames()
    finally:
        store.close()


def _tables(db: str) -> set[str]:
    from sqlalchemy import inspect

    store = Store(db)
    try:
        with store.engine.connect() as conn:
            return set(inspect(conn).get_table_names())
    finally:
        store.close()


def test_the_snapshot_holds_what_the_tables_held(db_url: str) -> None:
    """Loaded at 0014, migrated down to 0012: the tables a load of that time wrote hold
    what the snapshot holds; migrated up again, they go and the snapshot stays."""
    load_fixture_registry(db_url)
    snapshot = _snapshot(db_url)
    assert snapshot["pairs"].height > 0 and snapshot["blocks"].height > 0 and snapshot["edges"].height > 0
    assert not set(TABLES) & _tables(db_url)
    before = _parts(db_url)
    _assert_same(snapshot, _downgraded(db_url))
    _assert_same(_snapshot(db_url), snapshot)  # opening migrates up again: the snapshot is kept
    assert _parts(db_url) == before and not set(TABLES) & _tables(db_url)


def test_each_load_replaces_the_parts_of_its_files(db_url: str, tmp_path: Path) -> None:
    store = Store(db_url)
    try:
        assert not load_registry(store, REGISTRY / "companies.csv", REGISTRY / "people.csv").failed
        before = _parts(db_url)
        fewer = tmp_path / "companies.csv"
        lines = (REGISTRY / "companies.csv").read_text(encoding="utf-8").splitlines(keepends=True)
        fewer.write_text("".join(lines[:-2]), encoding="utf-8")
        assert not load_registry(store, companies=fewer).failed  # the people as stored, compiled again
        _assert_same(store.registry_frames(), _fresh(tmp_path, "fewer.db", fewer, REGISTRY / "people.csv"))
        after = _parts(db_url)
        assert after["companies"] != before["companies"] and after["people"] == before["people"]
        assert not load_registry(store, people=REGISTRY / "people.csv").failed
        _assert_same(store.registry_frames(), _fresh(tmp_path, "again.db", fewer, REGISTRY / "people.csv"))
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


def test_a_part_not_written_reads_as_no_rows(sqlite_url: str, tmp_path: Path) -> None:
    """Companies loaded without people: the people part was never written."""
    store = Store(sqlite_url)
    try:
        assert not load_registry(store, companies=REGISTRY / "companies.csv").failed
        frames = store.registry_frames()
        assert frames["people"].height == 0 and frames["pairs"].height == 0
        assert frames["people"].schema == snapshot_files.empty("people").schema
        assert store.extract_registry(tmp_path)
        _assert_same(snapshot_files.mapped_frames(tmp_path), frames)
    finally:
        store.close()
    one, two = _screen(sqlite_url, 1), _screen(sqlite_url, 2)
    assert one.exit_code in (0, 1), one.output
    assert (one.exit_code, _decisions(one.stdout)) == (two.exit_code, _decisions(two.stdout))


def test_a_part_of_another_format_is_refused(sqlite_url: str) -> None:
    load_fixture_registry(sqlite_url)
    sql(sqlite_url, "UPDATE registry_snapshot SET format = 99 WHERE name = 'edges'")
    got = _screen(sqlite_url, 1)
    assert got.exit_code != 0 and "format 99" in got.output and "Traceback" not in got.output
    got = CliRunner().invoke(main, ["--db", sqlite_url, "registry", "match", "Aspan Arba"])
    assert "Traceback" not in got.output


def test_workers_map_one_extracted_copy(sqlite_url: str) -> None:
    load_fixture_registry(sqlite_url)
    snapshot = _snapshot(sqlite_url)
    with shared_snapshot(sqlite_url) as shared:
        assert shared is not None
        directory, watchlist = shared
        _assert_same(snapshot_files.mapped_frames(Path(directory)), snapshot)
        store = Store(sqlite_url)
        try:
            assert watchlist == store.watchlist_records() and watchlist  # handed to the workers
        finally:
            store.close()
    assert not Path(directory).exists()  # removed with the pool
    one, two = _screen(sqlite_url, 1), _screen(sqlite_url, 2)
    assert one.exit_code == two.exit_code and _decisions(one.stdout) == _decisions(two.stdout)


# what a pool's worker does, in a fresh interpreter: its file, one chunk screened and prepared for storing
WORKER = """
import datetime as dt, sys
from customs_rules.io.reader import read_input
from customs_rules.workflow import batch, batch_workers
batch_workers._take_worker(sys.argv[1])
chunk = next(read_input(sys.argv[2]))
done = batch_workers._screen_in_child(chunk.declarations, dt.datetime.now(dt.UTC), batch.Wanted(keep=True))
assert done.prepared is not None and len(done.texts) == len(chunk.declarations) > 0
print(sorted({name.split(".")[0] for name in sys.modules} & {"sqlalchemy", "sqlmodel", "psycopg", "alembic"}))
"""


def test_a_pool_worker_needs_no_database_library(
    sqlite_url: str, pack: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker maps the snapshot and is handed the watchlist: importing SQLAlchemy and
    SQLModel would cost each worker ~23 MB for nothing."""
    load_fixture_registry(sqlite_url)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    monkeypatch.setattr(batch_workers, "spawn_pool", lambda *args: None)  # this test is the worker
    start = batch_workers.PoolStart(batch.Worker(pack, None, sqlite_url), 2)
    try:
        start.give(None)
        (worker_file,) = tmp_path.glob(f"customs-rules-run-*/{batch_workers.WORKER_FILE}")
        found = subprocess.run([sys.executable, "-c", WORKER, str(worker_file), str(FIXTURES / "shipments.csv")],
                               capture_output=True, text=True, check=False, timeout=300)  # fmt: skip
    finally:
        start.close()
    assert found.returncode == 0, found.stderr
    assert found.stdout.strip() == "[]"


def _back_to_0010(db: str) -> None:
    """The database as 0010 left it: the tables, no snapshot, without what 0012 added."""
    _downgraded(db)
    _raw(db, "DROP TABLE registry_snapshot", "UPDATE alembic_version SET version_num = '0010'",
        "CREATE INDEX ix_company_key_key ON company_key (key)",
        "CREATE INDEX ix_person_pair_person_pk ON person_pair (person_pk)",
        "CREATE INDEX ix_person_pair_other_pk ON person_pair (other_pk)",
        "DROP INDEX ix_declaration_exporter_key", "DROP INDEX ix_declaration_consignee_key",
        "DROP INDEX ix_declaration_date", "ALTER TABLE declaration DROP COLUMN exporter_key",
        "ALTER TABLE declaration DROP COLUMN consignee_key")  # fmt: skip


def test_a_registry_stored_before_the_snapshot_gets_one_when_migrated(sqlite_url: str) -> None:
    load_fixture_registry(sqlite_url)
    expected = _parts(sqlite_url)
    _back_to_0010(sqlite_url)
    migrated = _parts(sqlite_url)  # opening migrates: 0011 builds the snapshot, 0014 drops the tables
    assert set(migrated) == set(expected) and not set(TABLES) & _tables(sqlite_url)
    assert all(pl.read_ipc(data).equals(pl.read_ipc(expected[name])) for name, data in migrated.items())


def _raw(db: str, *statements: str) -> None:
    """Change a database left at an older revision (`sql` would migrate it first)."""
    from sqlalchemy import create_engine

    engine = create_engine(db)
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.execute(text(statement))
    finally:
        engine.dispose()


def _verify(db: str) -> Any:
    return CliRunner().invoke(main, ["--db", db, "audit", "verify"])


def test_0014_writes_a_part_that_differs_from_its_table_and_records_it(sqlite_url: str) -> None:
    """A snapshot part that does not hold what its table holds is written from the table
    before the table goes, with an audit entry of the new digest: `audit verify` passes,
    and an edit after that is caught."""
    load_fixture_registry(sqlite_url)
    expected = _snapshot(sqlite_url)
    _downgraded(sqlite_url)
    _raw(sqlite_url, "UPDATE registry_snapshot SET data = (SELECT data FROM registry_snapshot WHERE name = 'edges') "
                    "WHERE name = 'pairs'", "DELETE FROM registry_snapshot WHERE name = 'blocks'")  # fmt: skip
    _assert_same(_snapshot(sqlite_url), expected)  # opening migrates
    store = Store(sqlite_url)
    try:
        with store.engine.connect() as conn:
            entry = conn.execute(
                text("SELECT subject, details FROM audit_log WHERE action = 'registry_snapshot'")
            ).all()
    finally:
        store.close()
    assert len(entry) == 1 and '"pairs"' in str(entry[0][1]).replace("'", '"')
    assert _verify(sqlite_url).exit_code == 0, _verify(sqlite_url).output
    sql(sqlite_url, "DELETE FROM registry_snapshot WHERE name = 'edges'")
    found = _verify(sqlite_url)
    assert found.exit_code != 0 and "registry snapshot no longer holds" in found.output


def test_0014_leaves_a_snapshot_that_holds_its_tables_as_it_was(sqlite_url: str) -> None:
    load_fixture_registry(sqlite_url)
    before = _parts(sqlite_url)
    _downgraded(sqlite_url)
    assert _parts(sqlite_url) == before  # opening migrates up again
    store = Store(sqlite_url)
    try:
        with store.engine.connect() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM audit_log WHERE action = 'registry_snapshot'")).scalar() == 0
    finally:
        store.close()
    assert _verify(sqlite_url).exit_code == 0


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


def test_0014_writes_parts_of_large_batches_again_in_small_ones(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Parts written before 0014 (batches of 65,536 rows, here the fixture's parts against
    batches of 16) are written again in batches a look-up reads, their rows unchanged."""
    import pyarrow as pa
    from pyarrow import ipc

    load_fixture_registry(sqlite_url)
    expected = _snapshot(sqlite_url)
    _downgraded(sqlite_url)
    monkeypatch.setattr(registry_snapshot, "BATCH_ROWS", 16)
    _assert_same(_snapshot(sqlite_url), expected)  # opening migrates
    for name, data in _parts(sqlite_url).items():
        reader = ipc.open_file(pa.BufferReader(data))
        assert all(reader.get_batch(n).num_rows <= 16 for n in range(reader.num_record_batches)), name
    assert _verify(sqlite_url).exit_code == 0
