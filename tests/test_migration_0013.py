"""Migration 0013: a database stored at 0012 (facts as one signature per item, seals of
form 5) upgrades keeping every decision as it was explained and sealed, and stores new
decisions with the facts the columns do not hold (`store.compact`, seals of form 6).

`tests/data/store_0012.db.gz` was made by the release at 0012 (main at 337ba38): the
fixture registry loaded, `fixtures/declarations/aspan_arba_drones.json` submitted by
kz-042, `fixtures/declarations/batch.jsonl` and `fixtures/shipments.csv` screened, an
outcome recorded against #1 (162 decisions, 313 items). `store_0012_shown.jsonl.gz`
holds what that release's `decisions show REF --format json` printed for ten of them."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import sql
from sqlalchemy import create_engine, text

from customs_rules.cli.base import main
from customs_rules.store import Store, schema

DATA = Path(__file__).resolve().parent / "data"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SHOWN = (1, 2, 3, 4, 5, 25, 60, 100, 140, 162)  # the decisions in store_0012_shown.jsonl.gz, in order


def _cli(db: str, *args: str) -> Any:
    return CliRunner().invoke(main, ["--db", db, *args], catch_exceptions=False)


def _database_at_0012(tmp_path: Path) -> str:
    path = tmp_path / "stored.db"
    with gzip.open(DATA / "store_0012.db.gz", "rb") as packed, path.open("wb") as out:
        shutil.copyfileobj(packed, out)
    return f"sqlite:///{path}"


def _revision(url: str) -> str | None:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return schema.current_revision(conn)
    finally:
        engine.dispose()


def _new_submission(db: str, tmp_path: Path) -> None:
    seed = json.loads((FIXTURES / "declarations" / "aspan_arba_drones.json").read_text())
    path = tmp_path / "new.json"
    path.write_text(json.dumps(seed | {"declaration_id": "NEW-0013"}))
    assert _cli(db, "submit", str(path)).exit_code == 0


def test_a_database_at_0012_upgrades_and_explains_its_decisions_as_before(tmp_path: Path) -> None:
    db = _database_at_0012(tmp_path)
    assert _revision(db) == "0012"
    with gzip.open(DATA / "store_0012_shown.jsonl.gz", "rt", encoding="utf-8") as lines:
        before = [json.loads(line) for line in lines]
    for number, shown in zip(SHOWN, before, strict=True):
        result = _cli(db, "decisions", "show", f"#{number}", "--format", "json")  # opening migrates
        assert result.exit_code == 0, result.output
        now = json.loads(result.output)
        assert now == shown
        assert [list(fact) for fact in now["facts"]] == [list(fact) for fact in shown["facts"]]  # key order too
    assert _revision(db) == schema.HEAD
    verified = _cli(db, "audit", "verify")
    assert verified.exit_code == 0, verified.output
    # a decision stored from now on takes the new layout, and both forms verify side by side
    _new_submission(db, tmp_path)
    store = Store(db)
    try:
        with store.engine.connect() as conn:
            forms = conn.execute(text("SELECT facts_layout_id IS NOT NULL, count(*) FROM decision GROUP BY 1")).all()
    finally:
        store.close()
    assert sorted(forms) == [(False, 162), (True, 1)]
    assert _cli(db, "audit", "verify").exit_code == 0
    new = json.loads(_cli(db, "decisions", "show", "NEW-0013", "--format", "json").output)
    old = before[0]  # the same content under another id: the same facts, in the same order (history aside)
    assert [list(f) for f in new["facts"]] == [list(f) for f in old["facts"]]
    assert [f["item.hs_code"] for f in new["facts"]] == [f["item.hs_code"] for f in old["facts"]]
    # a decision stored before keeps its items' signatures, still sealed
    sql(db, "DELETE FROM decision_item WHERE decision_id = 2")
    broken = _cli(db, "audit", "verify")
    assert broken.exit_code == 2 and "decision #2 no longer says what audit entry" in broken.stderr


def test_the_downgrade_drops_the_columns_unless_a_decision_uses_them(tmp_path: Path) -> None:
    from alembic import command

    db = _database_at_0012(tmp_path)
    Store(db).close()  # opening migrates
    engine = create_engine(db)
    try:
        with engine.begin() as conn:
            command.downgrade(schema.alembic_config(conn), "0012")
        with engine.connect() as conn:
            columns = [row[1] for row in conn.execute(text("PRAGMA table_info(decision)"))]
        assert "facts_layout_id" not in columns and "item_facts_id" not in columns
    finally:
        engine.dispose()
    _new_submission(db, tmp_path)  # upgrades again, then stores in the new layout
    engine = create_engine(db)
    try:
        with pytest.raises(RuntimeError, match="cannot downgrade below 0013"), engine.begin() as conn:
            command.downgrade(schema.alembic_config(conn), "0012")
    finally:
        engine.dispose()
    assert _revision(db) == schema.HEAD  # the failed downgrade changed nothing
