"""Concurrent batches: a declaration revision gets one batch decision per rule-set
version and registry version, however many runs store it at once (issue #12, 2.1)."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import load_fixture_registry
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from customs_rules.cli.base import main
from customs_rules.rules.loader import load_pack
from customs_rules.store import DecisionRecord, DeclarationRecord, Store, bulk
from customs_rules.store.writer import SetWriter
from customs_rules.workflow import batch
from customs_rules.workflow.screener import default_rules_dir

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
GENERATOR = ROOT / "benchmarks" / "generate_shipments.py"


def _shipments(tmp_path: Path, lines: int) -> Path:
    out = tmp_path / "day.csv"
    command = [sys.executable, str(GENERATOR), "--lines", str(lines), "--seed", "3",
               "--registry", str(FIXTURES / "registry"), "--out", str(out)]  # fmt: skip
    subprocess.run(command, check=True, capture_output=True)
    return out


def _changed_rules(tmp_path: Path) -> Path:
    rules = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), rules)
    policy = rules / "policy.yaml"
    policy.write_text(policy.read_text() + "\n# changed: a new rule-set version\n")
    return rules


def _screen_at_once(db: str, path: Path, rules: Path, runs: int) -> list[tuple[int, str, str]]:
    """Each run's exit code, stdout and stderr; outputs go to files, so that no run
    waits on a full pipe while another stores."""
    env = os.environ | {"CUSTOMS_RULES_DB": db}
    command = [sys.executable, "-m", "customs_rules", "-q", "screen", str(path), "--format", "json",
               "--rules", str(rules), "--workers", "2"]  # fmt: skip
    outs = [(path.with_name(f"out{n}"), path.with_name(f"err{n}")) for n in range(runs)]
    procs = []
    for out, err in outs:
        with out.open("w") as stdout, err.open("w") as stderr:
            procs.append(subprocess.Popen(command, stdout=stdout, stderr=stderr, env=env))
    codes = [p.wait(timeout=600) for p in procs]
    return [(code, out.read_text(), err.read_text()) for code, (out, err) in zip(codes, outs, strict=True)]


def _decisions_per_key(db: str) -> dict[tuple[int, str, int], int]:
    store = Store(db)
    try:
        with store.engine.connect() as conn:
            query = (
                "SELECT declaration_pk, ruleset_version, registry_version, count(*) FROM decision "
                "WHERE kind = 'screen' GROUP BY declaration_pk, ruleset_version, registry_version"
            )
            return {(pk, rs, reg): n for pk, rs, reg, n in conn.execute(text(query))}
    finally:
        store.close()


def test_two_batches_at_once_store_each_decision_once(db_url: str, tmp_path: Path) -> None:
    path = _shipments(tmp_path, 2000)
    load_fixture_registry(db_url)
    runner = CliRunner()
    assert runner.invoke(main, ["--db", db_url, "-q", "screen", str(path), "--format", "json"]).exit_code == 0
    results = _screen_at_once(db_url, path, _changed_rules(tmp_path), 2)
    for code, _, err in results:
        assert code == 0, err
    assert results[0][1].count("\n") == results[1][1].count("\n")
    store = Store(db_url)
    try:
        declarations, decisions = store.count(DeclarationRecord), store.count(DecisionRecord)
    finally:
        store.close()
    assert decisions == 2 * declarations  # once under each rule-set version
    per_key = _decisions_per_key(db_url)
    assert set(per_key.values()) == {1} and len(per_key) == decisions
    verified = runner.invoke(main, ["--db", db_url, "audit", "verify"])
    assert verified.exit_code == 0, verified.output


def test_two_batches_that_read_before_either_stores_store_each_decision_once(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both runs look for stored decisions before either stores (a barrier holds them
    there on PostgreSQL; SQLite's write lock lets only one in at a time): the schema
    refuses the second copy and the run that lost takes the stored one."""
    path = _shipments(tmp_path, 300)
    pack = load_pack(_changed_rules(tmp_path))
    at = dt.datetime.now(dt.UTC)
    load_fixture_registry(db_url)
    assert CliRunner().invoke(main, ["--db", db_url, "-q", "screen", str(path)]).exit_code == 0
    store = Store(db_url)
    store.record_ruleset(pack.version, pack.contents)
    store.close()
    barrier = threading.Barrier(2, timeout=120)
    waited: set[int] = set()
    original = bulk.lock

    def lock_once_both_are_storing(session: Any) -> None:
        # both runs are in their storing transaction; the lock lets one in, and the other
        # then reads what the first stored (the unique index holds if it did not)
        if session.get_bind().dialect.name == "postgresql" and threading.get_ident() not in waited:
            waited.add(threading.get_ident())
            barrier.wait()
        original(session)

    monkeypatch.setattr(bulk, "lock", lock_once_both_are_storing)
    screened: list[int] = []

    def run() -> None:
        screening = batch.local_screening(batch.Worker(pack, None, db_url), at, 1, batch.Wanted(keep=True))
        writer = SetWriter(Store(db_url), "screen", "thread")
        outcomes = batch.screen_files([str(path)], screening, writer)  # one chunk: one transaction
        screened.append(sum(o.decision is not None for o in outcomes))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    store = Store(db_url)
    try:
        declarations, decisions = store.count(DeclarationRecord), store.count(DecisionRecord)
    finally:
        store.close()
    assert screened == [declarations, declarations]
    assert decisions == 2 * declarations
    assert CliRunner().invoke(main, ["--db", db_url, "audit", "verify"]).exit_code == 0


def test_the_schema_refuses_a_second_batch_decision(db_url: str) -> None:
    runner = CliRunner()
    seed = FIXTURES / "declarations" / "aspan_arba_drones.json"
    load_fixture_registry(db_url)
    assert runner.invoke(main, ["--db", db_url, "-q", "screen", str(seed)]).exit_code == 0
    store = Store(db_url)
    try:
        copy = (
            "INSERT INTO decision (kind, officer, declaration_pk, declaration_id, decision, score, "
            "ruleset_version, registry_version, screened_at, header_fact_id) SELECT kind, officer, declaration_pk, "
            "declaration_id, decision, score, ruleset_version, registry_version, screened_at, header_fact_id "
            "FROM decision WHERE id = 1"
        )
        with pytest.raises(IntegrityError), store.engine.begin() as conn:
            conn.execute(text(copy))
        with store.engine.begin() as conn:  # a rescreen beside it is allowed: it is a what-if
            conn.execute(text(copy.replace("SELECT kind", "SELECT 'rescreen'")))
    finally:
        store.close()


def test_an_upgrade_keeps_earlier_duplicates_as_such(db_url: str, screener: Any) -> None:
    """A database that concurrent batches filled before migration 0005: the oldest copy
    stays the batch decision, the later ones are kept as kind `duplicate`."""
    import json

    from old_layout import Old, database_at
    from sqlalchemy import create_engine

    seed = json.loads((FIXTURES / "declarations" / "aspan_arba_drones.json").read_text())
    database_at(db_url, "0004", screener, [Old(seed), Old(seed | {"declaration_id": "X-2"})])
    engine = create_engine(db_url)
    with engine.begin() as conn:  # a copy of each decision, as a second batch stored it
        conn.execute(text(
            "INSERT INTO decision (kind, officer, declaration_pk, declaration_id, decision, score, "
            "ruleset_version, screened_at, facts) SELECT kind, officer, declaration_pk, declaration_id, "
            "decision, score, ruleset_version, screened_at, facts FROM decision"
        ))  # fmt: skip
    engine.dispose()
    store = Store(db_url)
    try:
        with store.engine.connect() as conn:
            kinds = dict(conn.execute(text("SELECT kind, count(*) FROM decision GROUP BY kind")).all())
            links = conn.execute(text("SELECT count(DISTINCT decision_id) FROM decision_item")).scalar_one()
    finally:
        store.close()
    assert kinds == {"screen": 2, "duplicate": 2}
    assert links == 4  # the copies' facts moved to signatures too
