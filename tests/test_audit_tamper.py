"""Tampering `audit verify` must find, each made by direct SQL on both back-ends (issue #12, 3)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import PG_ENV, Prepared, sql
from sqlalchemy import text

from customs_rules.cli.base import main
from customs_rules.store import Store

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
SEED = FIXTURES / "declarations" / "aspan_arba_drones.json"
BATCH = FIXTURES / "declarations" / "batch.jsonl"
REGISTRY = FIXTURES / "registry"


def cli(db: str, *args: str) -> Result:
    return CliRunner().invoke(main, ["--db", db, *args], catch_exceptions=False)


def last_entry(db: str, action: str) -> int:
    store = Store(db)
    try:
        with store.engine.connect() as conn:
            found = conn.execute(text("SELECT max(id) FROM audit_log WHERE action = :a"), {"a": action}).scalar_one()
            assert found == conn.execute(text("SELECT max(id) FROM audit_log")).scalar_one()  # it is the last
            return int(found)
    finally:
        store.close()


def stored(db: str) -> None:
    """A registry, a submission (#1), a batch, and an inspection outcome of #1."""
    registry = ["--companies", str(REGISTRY / "companies.csv"), "--people", str(REGISTRY / "people.csv"),
                "--watchlist", str(REGISTRY / "watchlist.csv")]  # fmt: skip
    assert cli(db, "-q", "registry", "load", *registry).exit_code == 0
    assert cli(db, "submit", str(SEED)).exit_code == 0
    assert cli(db, "-q", "screen", str(BATCH)).exit_code == 0
    assert cli(db, "outcome", "#1", "--result", "seized", "--note", "drones").exit_code == 0
    ok = cli(db, "audit", "verify")
    assert ok.exit_code == 0, ok.output


def broken(db: str, problem: str, *options: str) -> None:
    result = cli(db, "audit", "verify", *options)
    assert result.exit_code == 2, result.output
    assert problem in result.stderr, result.stderr


SEALED = "no longer says what audit entry"
TAMPERING = {
    "decision deleted with its findings": (
        [
            "DELETE FROM finding WHERE decision_id = 2",
            "DELETE FROM decision WHERE id = 2",
        ],
        "decision #2, sealed by audit entry",
    ),
    "outcome changed": (["UPDATE outcome SET result = 'clean'"], f"outcome of decision #1 {SEALED}"),
    "outcome note changed": (["UPDATE outcome SET note = 'nothing'"], f"outcome of decision #1 {SEALED}"),
    "outcome officer changed": (["UPDATE outcome SET officer = 'x'"], f"outcome of decision #1 {SEALED}"),
    "outcome deleted": (["DELETE FROM outcome"], "the outcome recorded by audit entry"),
    "decision officer": (["UPDATE decision SET officer = 'someone-else' WHERE id = 1"], f"decision #1 {SEALED}"),
    "decision kind": (["UPDATE decision SET kind = 'rescreen' WHERE id = 2"], f"decision #2 {SEALED}"),
    "decision screened_at": (
        ["UPDATE decision SET screened_at = '2020-01-01 00:00:00' WHERE id = 2"],
        f"decision #2 {SEALED}",
    ),
    "decision declaration_id": (["UPDATE decision SET declaration_id = 'OTHER' WHERE id = 1"], f"decision #1 {SEALED}"),
    "decision registry_version": (["UPDATE decision SET registry_version = 99 WHERE id = 1"], f"decision #1 {SEALED}"),
    "declaration exporter_name": (
        ["UPDATE declaration SET exporter_name = 'Clean Trader' WHERE id = 1"],
        "declaration AA-20221115-001 (revision 1) no longer has the content it was stored with",
    ),
    "declaration destination_country": (
        ["UPDATE declaration SET destination_country = 'KG' WHERE id = 1"],
        "declaration AA-20221115-001 (revision 1) no longer has the content",
    ),
    "declaration date": (
        ["UPDATE declaration SET date = '2020-01-01' WHERE id = 1"],
        "declaration AA-20221115-001 (revision 1) no longer has the content",
    ),
    # the declaration's other columns and its items' (every one is in its content hash)
    "declaration exporter's extra fields": (
        ["UPDATE declaration SET exporter_extra = '{\"note\": 1}' WHERE id = 1"],
        "declaration AA-20221115-001 (revision 1) no longer has the content",
    ),
    "item quantity": (["UPDATE item SET quantity = 1 WHERE declaration_pk = 1"], "no longer has the content"),
    "item deleted": (["DELETE FROM item WHERE id = (SELECT max(id) FROM item)"], "no longer has the content"),
    # the facts a decision was made on, stored once per signature
    "fact signature changed": (
        ["UPDATE fact_signature SET facts = '{}' WHERE id = (SELECT header_fact_id FROM decision WHERE id = 1)"],
        "no longer are those its decisions were made on",
    ),
    "item facts re-pointed": (
        ["UPDATE decision SET item_facts_id = header_fact_id WHERE id = 2"],
        f"decision #2 {SEALED}",
    ),
    "facts layout re-pointed": (
        ["UPDATE decision SET facts_layout_id = header_fact_id WHERE id = 2"],
        f"decision #2 {SEALED}",
    ),
    "facts layout dropped (as if decided before migration 0013)": (
        ["UPDATE decision SET facts_layout_id = NULL WHERE id = 2"],
        f"decision #2 {SEALED}",
    ),
    "item facts signature changed": (
        ["UPDATE fact_signature SET facts = '[]' WHERE id = (SELECT item_facts_id FROM decision WHERE id = 2)"],
        "no longer are those its decisions were made on",
    ),
    # an item's own columns are facts too (rebuilt from them): its content hash covers them
    "item hs_code": (["UPDATE item SET hs_code = '100199' WHERE declaration_pk = 1"], "no longer has the content"),
    # the rule files a decision's rule-set version names (decisions list --rule reads them)
    "rule set content": (
        ['UPDATE ruleset_version SET content = \'{"rules/x.yaml": "id: x"}\''],
        "no longer holds the rule files it was stored with",
    ),
    # the registry every later screening reads, and reports name parties from
    "watchlist row deleted": (
        ["DELETE FROM watchlist WHERE id = (SELECT min(id) FROM watchlist)"],
        "the watchlist table no longer holds what audit entry",
    ),
    "company renamed": (
        ["UPDATE company SET name = 'Clean Trader' WHERE id = (SELECT min(id) FROM company)"],
        "the companies table no longer holds what audit entry",
    ),
    "person's birth date changed": (
        ["UPDATE person SET birth_date = '1950-01-01' WHERE id = (SELECT min(id) FROM person)"],
        "the people table no longer holds what audit entry",
    ),
    "registry snapshot part replaced": (
        [
            "UPDATE registry_snapshot SET data = (SELECT data FROM registry_snapshot WHERE name = 'edges') "
            "WHERE name = 'pairs'"
        ],
        "the registry snapshot no longer holds what audit entry",
    ),  # fmt: skip
    "registry snapshot part deleted": (
        ["DELETE FROM registry_snapshot WHERE name = 'blocks'"],
        "the registry snapshot no longer holds what audit entry",
    ),
    "person inserted": (
        ["INSERT INTO person (company_id, person_name, role) VALUES ('190540218733', 'Ghost', 'director')"],
        "the people table no longer holds what audit entry",
    ),
}


@pytest.mark.parametrize("kind", list(TAMPERING))
def test_audit_verify_finds(db_url: str, prepared: Prepared, kind: str) -> None:
    statements, problem = TAMPERING[kind]
    prepared.copy(db_url, stored)
    sql(db_url, *statements)
    broken(db_url, problem)


def test_audit_verify_finds_the_last_entry_deleted_when_it_is_an_outcome(db_url: str) -> None:
    stored(db_url)
    sql(db_url, f"DELETE FROM audit_log WHERE id = {last_entry(db_url, 'outcome')}")
    broken(db_url, "outcome of decision #1 has no audit entry")


def test_audit_verify_finds_the_last_entry_deleted_when_it_is_a_rescreen(db_url: str, tmp_path: Path) -> None:
    stored(db_url)
    assert cli(db_url, "-q", "rescreen").exit_code == 0
    head = tmp_path / "audit-head"
    first = cli(db_url, "audit", "verify", "--head-file", str(head))
    assert first.exit_code == 0 and head.exists(), first.output
    noted = re.search(r"head (\d+) ([0-9a-f]{64})", first.stdout)
    assert noted is not None and noted.group(2) in head.read_text()
    sql(db_url, f"DELETE FROM audit_log WHERE id = {last_entry(db_url, 'rescreen')}")
    assert cli(db_url, "audit", "verify").exit_code == 0  # a shorter chain is still a chain...
    problem = f"the chain no longer holds the head {noted.group(2)}"
    broken(db_url, problem, "--head-file", str(head))  # ...that no longer holds the head noted
    broken(db_url, problem, "--expect", noted.group(2))


def test_a_head_file_follows_the_chain_as_it_grows(db_url: str, tmp_path: Path) -> None:
    stored(db_url)
    head = tmp_path / "audit-head"
    assert cli(db_url, "audit", "verify", "--head-file", str(head)).exit_code == 0
    before = head.read_text()
    assert cli(db_url, "submit", str(FIXTURES / "declarations" / "clean_wheat.json")).exit_code == 0
    grown = cli(db_url, "audit", "verify", "--head-file", str(head))
    assert grown.exit_code == 0, grown.output
    assert head.read_text() != before
    assert cli(db_url, "audit", "verify", "--expect", "0" * 64).exit_code == 2


def test_an_inserted_unsealed_declaration_is_found(db_url: str) -> None:
    stored(db_url)
    sql(
        db_url,
        "INSERT INTO declaration (declaration_id, revision, content_hash, date, procedure, exporter_name, "
        "consignee_name, dispatch_country, destination_country, received_at) SELECT declaration_id, "
        "revision + 1, content_hash, date, procedure, exporter_name, consignee_name, dispatch_country, "
        "destination_country, received_at FROM declaration WHERE id = 1",
    )
    broken(db_url, "declaration AA-20221115-001 (revision 2) has no decision")


READ_ONLY = [
    ["audit", "verify"],
    ["audit"],
    ["decisions", "list"],
    ["decisions", "show", "#1"],
    ["stats", "rules"],
    ["registry", "status"],
    ["registry", "match", "Aspan Arba"],
]


@pytest.mark.parametrize("command", READ_ONLY, ids=" ".join)
def test_read_only_commands_never_create_a_database(tmp_path: Path, command: list[str]) -> None:
    path = tmp_path / "nowhere" / "missing.db"
    result = cli(f"sqlite:///{path}", *command)
    assert result.exit_code == 2, result.output
    assert f"no database at {path}" in result.stderr
    assert not path.exists() and not path.parent.exists()


@pytest.mark.parametrize("command", [["audit", "verify"], ["decisions", "list"]], ids=" ".join)
def test_a_postgresql_database_that_does_not_exist_is_bad_input(command: list[str]) -> None:
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} is not set: PostgreSQL tests need a server URL")
    # a mistyped database name is the user's --db, as a missing SQLite file is: exit 2, not 1
    url = base.rsplit("/", 1)[0] + "/cr_test_no_such_database"
    result = cli(url, *command)
    assert result.exit_code == 2, result.output
    assert "no database cr_test_no_such_database on the server" in result.stderr


def test_expect_takes_only_a_head_hash(sqlite_url: str) -> None:
    result = cli(sqlite_url, "audit", "verify", "--expect", "abc")
    assert result.exit_code == 2 and "'abc' is not a head hash" in result.stderr
