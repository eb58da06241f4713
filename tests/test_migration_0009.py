"""Migration 0009 adds published rule packs to a database at 0008 that holds data: every
row stays, the rule sets its decisions used become `used` in `rules history --all`, no
pack is active (commands keep the bundled pack), and the audit chain still verifies,
before and after a pack is published and approved. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from conftest import ROOT
from old_layout import Old, database_at
from sqlalchemy import create_engine, text

from customs_rules.cli.base import main
from customs_rules.store import Store, schema
from customs_rules.workflow.screener import Screener

SEED = json.loads((ROOT / "fixtures" / "declarations" / "aspan_arba_drones.json").read_text())


def _cli(db: str, *args: str) -> Any:
    return CliRunner().invoke(main, ["--db", db, *args], catch_exceptions=False)


def test_a_database_at_0008_with_data_gains_rule_packs(db_url: str, screener: Screener, tmp_path: Path) -> None:
    from alembic import command

    rows = [Old(SEED), Old(SEED | {"declaration_id": "OLD-2"})]
    database_at(db_url, "0007", screener, rows)
    engine = create_engine(db_url)
    with engine.begin() as conn:
        command.upgrade(schema.alembic_config(conn), "0008")
        assert schema.current_revision(conn) == "0008"
        before = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()  # noqa: S608 - our table names
                  for t in ("declaration", "item", "decision", "finding", "audit_log", "ruleset_version")}  # fmt: skip
    engine.dispose()
    explained = []
    store = Store(db_url)  # opening migrates through 0009 to the newest
    try:
        with store.engine.connect() as conn:
            assert schema.current_revision(conn) == schema.HEAD
            after = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in before}  # noqa: S608
            assert conn.execute(text("SELECT count(*) FROM rule_pack")).scalar_one() == 0
        assert after == before
        assert store.active_pack() is None
        explained = [store.explain(f"#{n}") for n in (1, 2)]
    finally:
        store.close()
    assert [e["declaration"] for e in explained if e] == [r.content for r in rows]
    used = json.loads(_cli(db_url, "rules", "history", "--all", "--format", "json").stdout)
    assert (used["pack"], used["version"], used["status"]) == (None, screener.version, "used")
    assert used["proposed_at"] == "2024-03-01T12:00:00.123456Z"  # when it was first stored
    assert _cli(db_url, "rules", "history", "--format", "json").stdout == ""  # nothing published
    assert _cli(db_url, "audit", "verify").exit_code == 0
    # the bundled pack is still the one in force, and can be published and approved as it is
    published = _cli(db_url, "-q", "rules", "publish", "--rules", str(ROOT / "rules"), "--officer", "kz-042")
    assert published.stdout == f"proposed #1: {screener.version} by kz-042\n"
    assert _cli(db_url, "rules", "approve", "1", "--officer", "kz-007").exit_code == 0
    statuses = [json.loads(line)["status"] for line in _cli(db_url, "rules", "history", "--all", "--format", "json")
                .stdout.splitlines()]  # fmt: skip
    assert statuses == ["active"]  # the version decisions used is now the published one
    verified = _cli(db_url, "audit", "verify")
    assert verified.exit_code == 0, verified.output
