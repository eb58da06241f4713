"""The officer workflow on a shared store, on SQLite and on the real PostgreSQL server."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from conftest import CLEAN_CHIPS_DECLARATION, Prepared, sql
from sqlalchemy import text

from customs_rules.cli.base import main
from customs_rules.contract.models import Declaration
from customs_rules.entities.registry import RegistryIndex
from customs_rules.store import DecisionRecord, DeclarationRecord, Store

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
SEED = FIXTURES / "declarations" / "aspan_arba_drones.json"
REGISTRY = FIXTURES / "registry"
CLEAN = CLEAN_CHIPS_DECLARATION


def cli(db: str, *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(main, ["--db", db, *args], input=input, catch_exceptions=False)


def load(db: str, watchlist: bool = True) -> None:
    args = [
        "registry",
        "load",
        "--companies",
        str(REGISTRY / "companies.csv"),
        "--people",
        str(REGISTRY / "people.csv"),
    ]
    if watchlist:
        args += ["--watchlist", str(REGISTRY / "watchlist.csv")]
    assert cli(db, "-q", *args).exit_code == 0


def write(tmp_path: Path, name: str, data: Any) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return str(path)


def counts(db: str) -> tuple[int, int]:
    store = Store(db)
    try:
        return store.count(DeclarationRecord), store.count(DecisionRecord)
    finally:
        store.close()


def test_submit_is_idempotent_and_amendments_are_revisions(db_url: str, tmp_path: Path) -> None:
    load(db_url)
    first = cli(db_url, "submit", str(SEED), "--officer", "kz-042", "--format", "json")
    assert first.exit_code == 0
    decision = json.loads(first.stdout)
    assert decision["decision"] == "hold" and decision["reference"] == "#1" and decision["officer"] == "kz-042"
    assert first.stderr == "#1: AA-20221115-001 revision 1, hold (new)\n"
    again = cli(db_url, "submit", str(SEED), "--officer", "kz-043", "--format", "json")
    assert json.loads(again.stdout) == decision  # the stored decision, not screened again
    assert "already submitted, not screened again" in again.stderr
    assert counts(db_url) == (1, 1)
    amended = json.loads(SEED.read_text()) | {"destination_country": "KG"}
    result = cli(db_url, "submit", write(tmp_path, "amended.json", amended), "--format", "json")
    assert json.loads(result.stdout)["revision"] == 2
    assert counts(db_url) == (2, 2)


def test_rejected_submission_stores_nothing_but_is_audited(db_url: str) -> None:
    bad = FIXTURES / "bad" / "unknown_country.json"
    result = cli(db_url, "submit", str(bad), "--officer", "kz-042")
    assert result.exit_code == 2 and "unknown country 'XX'" in result.stderr and result.stdout == ""
    assert counts(db_url) == (0, 0)
    log = json.loads(cli(db_url, "audit", "--format", "json").stdout.splitlines()[-1])
    assert log["action"] == "rejected" and log["actor"] == "kz-042" and "unknown country" in log["details"]


def test_decisions_list_show_outcome_and_stats(db_url: str, tmp_path: Path) -> None:
    load(db_url)
    assert cli(db_url, "submit", str(SEED), "--officer", "kz-042").exit_code == 0
    wheat = FIXTURES / "declarations" / "clean_wheat.json"
    assert cli(db_url, "submit", str(wheat), "--officer", "kz-007").exit_code == 0
    listed = [json.loads(x) for x in cli(db_url, "decisions", "list", "--format", "json").stdout.splitlines()]
    assert [r["reference"] for r in listed] == ["#2", "#1"]
    holds = cli(db_url, "decisions", "list", "--decision", "hold", "--format", "json").stdout.splitlines()
    assert [json.loads(x)["declaration_id"] for x in holds] == ["AA-20221115-001"]
    by_rule = cli(db_url, "decisions", "list", "--rule", "drones-ru-by", "--format", "json").stdout.splitlines()
    assert len(by_rule) == 1
    by_exporter = cli(db_url, "decisions", "list", "--exporter", "aspan", "--format", "json").stdout.splitlines()
    assert len(by_exporter) == 1
    future = cli(db_url, "decisions", "list", "--screened-since", "2999-01-01", "--format", "json")
    assert future.exit_code == 0 and future.stdout == ""
    shown = json.loads(cli(db_url, "decisions", "show", "AA-20221115-001", "--format", "json").stdout)
    assert shown["officer"] == "kz-042" and shown["ruleset_version"].startswith("sha256:")
    assert shown["facts"][0]["exporter.known"] is True and shown["declaration"]["declaration_id"] == "AA-20221115-001"
    assert cli(db_url, "outcome", "#1", "--result", "seized", "--note", "drones", "--officer", "kz-9").exit_code == 0
    assert cli(db_url, "outcome", "#2", "--result", "clean").exit_code == 0
    missing = cli(db_url, "outcome", "#99", "--result", "clean")
    assert missing.exit_code == 2 and "no decision '#99'" in missing.stderr
    table = cli(db_url, "decisions", "show", "#1")
    assert "outcome: seized by kz-9" in table.stdout and "HOLD" in table.stdout
    # the table explains too: the declaration as stored and the facts it was decided on
    assert "Declaration AA-20221115-001 of 2022-11-15: export (goods_invoice), KZ -> RU" in table.stdout
    assert "8806210000" in table.stdout and "Facts the decision was made on" in table.stdout
    assert re.search(r"│ exporter\.known\s+│ True ", table.stdout)
    assert re.search(r"│ item\.hs_code\s+│ 8806210000\s+│ 880730\s+│ 854231", table.stdout)
    stats = {
        r["rule_id"]: r for r in map(json.loads, cli(db_url, "stats", "rules", "--format", "json").stdout.splitlines())
    }
    drones = stats["drones-ru-by"]
    assert (
        drones["hits"],
        drones["decided_hold"],
        drones["with_outcome"],
        drones["confirmed"],
        drones["hit_rate"],
    ) == (
        1,
        1,
        1,
        1,
        1.0,
    )


def test_rescreen_finds_what_escaped(db_url: str, tmp_path: Path) -> None:
    load(db_url, watchlist=False)
    clean = cli(db_url, "submit", write(tmp_path, "c.json", CLEAN), "--format", "json")
    assert json.loads(clean.stdout)["decision"] == "release"
    # the company is reported after the fact: a rescreen must find the escaped shipment
    load(db_url, watchlist=True)
    result = cli(db_url, "rescreen", "--format", "json")
    assert result.exit_code == 0
    (stricter,) = [json.loads(x) for x in result.stdout.splitlines()]
    assert (stricter["declaration_id"], stricter["was"], stricter["now"]) == ("C-1", "release", "hold")
    assert "watchlist-party-listed-goods" in stricter["rule_ids"]
    assert "rescreened 1 declaration(s): 1 changed, 1 now stricter" in result.stderr
    assert counts(db_url) == (1, 2)  # the new decision beside the old one
    shown = json.loads(cli(db_url, "decisions", "show", "C-1", "--format", "json").stdout)
    assert shown["kind"] == "rescreen" and shown["decision"] == "hold"
    first = json.loads(cli(db_url, "decisions", "show", "#1", "--format", "json").stdout)
    assert first["decision"] == "release"  # never overwritten
    assert cli(db_url, "rescreen", "--declared-since", "2999-01-01").stderr.startswith("rescreened 0")


def test_audit_chain_detects_tampering(db_url: str, tmp_path: Path) -> None:
    load(db_url)
    cli(db_url, "submit", str(SEED))
    ok = cli(db_url, "audit", "verify")
    assert ok.exit_code == 0 and ok.stdout.startswith("ok: 6 entries, chain intact")
    sql(db_url, "UPDATE audit_log SET actor = 'someone-else' WHERE id = 5")
    broken = cli(db_url, "audit", "verify")
    assert broken.exit_code == 2 and "entry 5 was altered after it was written" in broken.stderr
    sql(db_url, "DELETE FROM audit_log WHERE id = 5")
    assert "entry 5 is missing" in cli(db_url, "audit", "verify").stderr


def test_stored_registry_finds_what_the_memory_index_finds(db_url: str) -> None:
    load(db_url)
    store = Store(db_url)
    try:
        memory: RegistryIndex = store.registry_index()
        names = [
            ("Aspan Arba LLP", None, "KZ"), ("ТОО «Аспан Арба»", None, None), ("Nebesnaya Mejanica", None, "RU"),
            ("OOO Nebesnaya Mekhanika", None, None), ("Altyn Arba", None, "KZ"), ("Zemnaya Mekhanika", None, "RU"),
            ("Nobody Known", None, None), ("whatever", "190540218733", None), ("Radiokomplekt LLC", None, "RU"),
        ]  # fmt: skip
        from customs_rules.contract.models import Party

        with store.stored_registry() as stored:
            for name, ident, country in names:
                party = Party(name=name, id=ident, country=country)
                a, b = memory.resolve(party), stored.resolve(party)
                assert (a.method, a.company and a.company.company_id) == (b.method, b.company and b.company.company_id)
                if a.company and b.company:
                    assert memory.shared_persons(a.company, a.company) == stored.shared_persons(b.company, b.company)
                assert memory.watchlisted(party, a.company) == stored.watchlisted(party, b.company)
    finally:
        store.close()


def test_interactive_submit_asks_field_by_field(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from customs_rules.cli import officer as officer_cli

    monkeypatch.setattr(officer_cli, "stdin_is_terminal", lambda: True)
    load(sqlite_url)
    # the last answer, Enter, stores what the summary shows
    answers = [
        "F-1", "2024-03-01", "", "", "Dala Grain LLP", "", "KZ", "Harbin Grain Import Co", "", "CN",
        "KZ", "XX", "CN", "", "1001.99", "wheat", "10", "t", "-5", "2000", "USD", "KZ", "", "n", "",
    ]  # fmt: skip
    result = cli(sqlite_url, "submit", "--format", "json", input="\n".join(answers) + "\n")
    assert result.exit_code == 0, result.stderr
    decision = json.loads(result.stdout)
    assert decision["declaration_id"] == "F-1" and decision["decision"] == "release"
    assert "unknown country 'XX'" in result.stderr  # asked again, then answered


def test_database_from_issue_2_upgrades_without_losing_data(tmp_path: Path) -> None:
    from alembic import command

    from customs_rules.store import schema

    url = f"sqlite:///{tmp_path / 'old.db'}"
    store = Store.__new__(Store)  # build the #2 schema by hand, as #2's create_all left it
    from sqlalchemy import create_engine

    engine = create_engine(url)
    with engine.begin() as conn:
        command.upgrade(schema.alembic_config(conn), "0001")
        conn.execute(text("DROP TABLE alembic_version"))
        conn.execute(text(
            "INSERT INTO company (company_id, name, country, activity_codes, aliases) "
            "VALUES ('190540218733', 'ТОО «Аспан Арба»', 'KZ', '24.10', 'Aspan Arba LLP')"
        ))  # fmt: skip
    engine.dispose()
    store = Store(url)
    try:
        assert store.registry_counts()["companies"] == 1
        from customs_rules.contract.models import Party

        with store.stored_registry() as registry:
            found = registry.resolve(Party(name="Aspan Arba TOO", country="KZ"))
        assert found.company is not None and found.company.company_id == "190540218733"
        with store.reading() as session:
            assert schema.current_revision(session.connection()) == schema.HEAD
    finally:
        store.close()


def test_head_is_the_newest_migration() -> None:
    from alembic.script import ScriptDirectory

    from customs_rules.store import schema

    assert ScriptDirectory(str(schema.MIGRATIONS)).get_current_head() == schema.HEAD


CONCURRENT = 8


def test_concurrent_submissions_store_each_declaration_once(db_url: str, tmp_path: Path) -> None:
    load(db_url)
    seed = json.loads(SEED.read_text())
    files = []
    for n in range(CONCURRENT):
        # half the processes send the same declaration, the others one of their own
        data = seed if n % 2 == 0 else seed | {"declaration_id": f"PAR-{n}"}
        files.append(write(tmp_path, f"d{n}.json", data))
    env = os.environ | {"CUSTOMS_RULES_DB": db_url}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "customs_rules", "submit", f, "--format", "json", "--officer", f"p{n}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
        )  # fmt: skip
        for n, f in enumerate(files)
    ]
    outputs = [p.communicate(timeout=240) for p in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert "Error" not in err and json.loads(out)["decision"] == "hold"
    references = {json.loads(out)["reference"] for n, (out, _) in enumerate(outputs) if n % 2 == 0}
    assert len(references) == 1  # every sender of the same declaration got the one stored decision
    assert counts(db_url) == (1 + CONCURRENT // 2, 1 + CONCURRENT // 2)
    assert cli(db_url, "audit", "verify").exit_code == 0


def _declaration() -> Declaration:
    return Declaration.model_validate(json.loads(SEED.read_text()))


def _submitted_and_screened(db: str) -> None:
    """The seed declaration submitted, the JSON Lines batch screened: a chain that verifies."""
    load(db)
    assert cli(db, "submit", str(SEED)).exit_code == 0
    assert cli(db, "-q", "screen", str(FIXTURES / "declarations" / "batch.jsonl")).exit_code == 0
    assert cli(db, "audit", "verify").exit_code == 0


def test_audit_verify_detects_an_altered_decision(db_url: str) -> None:
    _submitted_and_screened(db_url)
    sql(db_url, "UPDATE decision SET decision = 'release', score = 0 WHERE id = 1")
    broken = cli(db_url, "audit", "verify")
    assert broken.exit_code == 2 and "decision #1 no longer says what audit entry" in broken.stderr


TAMPERING = [
    ("UPDATE finding SET score = 0 WHERE decision_id = 1", "decision #1 no longer says what audit entry"),
    ("UPDATE finding SET evidence = '{}' WHERE decision_id = 1", "decision #1 no longer says what audit entry"),
    ("UPDATE decision SET item_facts_id = NULL WHERE id = 2", "decision #2 no longer says what audit entry"),
    ("UPDATE decision SET header_fact_id = item_facts_id WHERE id = 2", "decision #2 no longer says what audit entry"),
    ("UPDATE declaration SET content_hash = 'x' WHERE id = 1", "decision #1 no longer says what audit entry"),
    ("UPDATE item SET hs_code = '100199' WHERE declaration_pk = 1",
     "declaration AA-20221115-001 (revision 1) no longer has the content it was stored with"),
    ("UPDATE declaration SET consignee_country = 'KG' WHERE id = 1",
     "declaration AA-20221115-001 (revision 1) no longer has the content it was stored with"),
]  # fmt: skip


@pytest.mark.parametrize(("statement", "problem"), TAMPERING)
def test_audit_verify_detects_edited_findings_facts_and_declarations(
    db_url: str, prepared: Prepared, statement: str, problem: str
) -> None:
    prepared.copy(db_url, _submitted_and_screened)
    sql(db_url, statement)
    broken = cli(db_url, "audit", "verify")
    assert broken.exit_code == 2 and problem in broken.stderr, broken.stderr
