"""A decision screened without a registry (--no-registry) keeps its mark on the stored
decision row: runs with and without a registry never reuse each other's decisions,
`decisions show` and `list` say so, and `audit verify` finds the mark changed (issue #12)."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from click.testing import CliRunner, Result
from conftest import FIXTURES, load_fixture_registry, sql
from sqlalchemy import text

from customs_rules.cli.base import main
from customs_rules.store import DecisionRecord, Store

SEED = FIXTURES / "declarations" / "aspan_arba_drones.json"
LINKED = "linked-parties-listed-goods"
UNKNOWN = "profile-unknown-exporter"
MARK = "screened_without_registry"
SEALED = "no longer says what audit entry"


def cli(db: str, *args: str) -> Result:
    return CliRunner().invoke(main, ["--db", db, *args], catch_exceptions=False)


def rule_ids(decision: dict[str, Any]) -> set[str]:
    return {f["rule_id"] for f in decision["findings"]}


def decision_count(db: str) -> int:
    store = Store(db)
    try:
        return store.count(DecisionRecord)
    finally:
        store.close()


def show(db: str, ref: str) -> dict[str, Any]:
    result = cli(db, "decisions", "show", ref, "--format", "json")
    assert result.exit_code == 0, result.output
    found: dict[str, Any] = json.loads(result.stdout)
    return found


def test_a_resubmission_with_a_registry_screens_afresh(db_url: str) -> None:
    bare = cli(db_url, "submit", str(SEED), "--format", "json", "--no-registry", "--officer", "kz-1")
    assert bare.exit_code == 0, bare.output
    first = json.loads(bare.stdout)
    assert first[MARK] is True and first["score"] == 330 and UNKNOWN in rule_ids(first)
    load_fixture_registry(db_url)
    again = cli(db_url, "submit", str(SEED), "--format", "json", "--officer", "kz-1")
    assert again.exit_code == 0, again.output
    fresh = json.loads(again.stdout)
    assert fresh["reference"] == "#2" and MARK not in fresh
    assert fresh["score"] == 390 and LINKED in rule_ids(fresh) and UNKNOWN not in rule_ids(fresh)
    assert again.stderr == (
        "note: AA-20221115-001 revision 1 was decided WITHOUT a registry (--no-registry) (#1, hold): screened "
        "afresh against the loaded registry\n#2: AA-20221115-001 revision 1, hold (new)\n"
    )
    # from now on the fresh one is reused, and a run without a registry reuses the first
    third = cli(db_url, "submit", str(SEED), "--format", "json")
    assert json.loads(third.stdout)["reference"] == "#2" and "already submitted" in third.stderr
    fourth = cli(db_url, "submit", str(SEED), "--format", "json", "--no-registry")
    assert json.loads(fourth.stdout) | {"reference": "#1"} == first | {"reference": "#1"}
    assert json.loads(fourth.stdout)["reference"] == "#1" and decision_count(db_url) == 2
    assert cli(db_url, "audit", "verify").exit_code == 0


def test_a_resubmission_without_a_registry_is_not_the_one_made_with_it(db_url: str) -> None:
    load_fixture_registry(db_url)
    assert cli(db_url, "submit", str(SEED)).exit_code == 0
    bare = cli(db_url, "submit", str(SEED), "--format", "json", "--no-registry")
    assert bare.exit_code == 0, bare.output
    assert json.loads(bare.stdout)[MARK] is True and json.loads(bare.stdout)["reference"] == "#2"
    assert "was decided with a registry (#1, hold): screened afresh without one (--no-registry)" in bare.stderr


def test_no_registry_refuses_rather_than_reuse_a_decision_made_without_one(db_url: str) -> None:
    assert cli(db_url, "submit", str(SEED), "--no-registry").exit_code == 0
    refused = cli(db_url, "submit", str(SEED))
    assert refused.exit_code == 2 and "no registry is loaded" in refused.stderr
    assert decision_count(db_url) == 1


@pytest.mark.parametrize("bare_first", [True, False], ids=["without-then-with", "with-then-without"])
def test_screen_with_and_without_a_registry_gives_two_decisions(db_url: str, bare_first: bool) -> None:
    load_fixture_registry(db_url)
    runs = [["--no-registry"], []] if bare_first else [[], ["--no-registry"]]
    for _ in range(2):  # the second time round, each run reuses its own decision
        for extra in runs:
            result = cli(db_url, "-q", "screen", str(SEED), "--format", "json", *extra)
            assert result.exit_code == 0, result.output
    assert decision_count(db_url) == 2
    marked, plain = (show(db_url, "#1"), show(db_url, "#2")) if bare_first else (show(db_url, "#2"), show(db_url, "#1"))
    assert marked[MARK] is True and UNKNOWN in rule_ids(marked) and LINKED not in rule_ids(marked)
    assert MARK not in plain and LINKED in rule_ids(plain) and plain["score"] == 390
    assert cli(db_url, "audit", "verify").exit_code == 0


def test_decisions_show_and_list_show_the_mark(db_url: str) -> None:
    load_fixture_registry(db_url)
    screened = cli(db_url, "-q", "screen", str(SEED), "--format", "json", "--no-registry")
    assert cli(db_url, "-q", "submit", str(SEED)).exit_code == 0
    printed = json.loads(screened.stdout)
    stored = show(db_url, "#1")
    assert stored[MARK] is True
    assert {k: stored[k] for k in printed} == printed  # what screen printed, as stored
    assert MARK not in show(db_url, "#2")
    table = cli(db_url, "decisions", "show", "#1")
    assert "screened WITHOUT a registry (--no-registry)" in table.stdout
    assert "WITHOUT a registry" not in cli(db_url, "decisions", "show", "#2").stdout
    rows = [json.loads(line) for line in cli(db_url, "decisions", "list", "--format", "json").stdout.splitlines()]
    assert [(r["reference"], r[MARK]) for r in rows] == [("#2", False), ("#1", True)]
    listed = list(csv.DictReader(io.StringIO(cli(db_url, "decisions", "list", "--format", "csv").stdout)))
    assert [r[MARK] for r in listed] == ["False", "True"]
    lines = cli(db_url, "decisions", "list").stdout.splitlines()
    assert "registry" in next(line for line in lines if "reference" in line)
    assert "NONE" in next(line for line in lines if "#1" in line)
    assert "NONE" not in next(line for line in lines if "#2" in line)


def test_a_list_without_marked_decisions_keeps_its_table(db_url: str) -> None:
    load_fixture_registry(db_url)
    assert cli(db_url, "-q", "submit", str(SEED)).exit_code == 0
    assert "registry" not in cli(db_url, "decisions", "list").stdout


@pytest.mark.parametrize(
    ("command", "ref", "value"),
    [
        (["submit", str(SEED), "--no-registry"], "1", "false"),
        (["screen", str(SEED), "--no-registry"], "1", "false"),
        (["submit", str(SEED)], "1", "true"),
    ],
    ids=["submitted-unmarked", "screened-unmarked", "marked"],
)
def test_audit_verify_finds_the_mark_changed(db_url: str, command: list[str], ref: str, value: str) -> None:
    load_fixture_registry(db_url)
    assert cli(db_url, "-q", *command).exit_code == 0
    assert cli(db_url, "audit", "verify").exit_code == 0
    sql(db_url, f"UPDATE decision SET screened_without_registry = {value} WHERE id = {ref}")
    result = cli(db_url, "audit", "verify")
    assert result.exit_code == 2 and f"decision #{ref} {SEALED}" in result.stderr


def test_an_upgrade_marks_the_decisions_audited_as_without_registry(db_url: str, screener: Any) -> None:
    """A database at 0005 kept the mark in the audit log only: migration 0006 puts it
    on the decisions those entries name, and their seals (form 3: without the mark)
    still verify, and guard it (a changed mark is found against the entry's)."""
    from old_layout import Old, database_at

    from customs_rules.store.seals import SEAL_V3

    seed = json.loads(SEED.read_text())
    rows = [Old(seed, form=SEAL_V3, without_registry=True), Old(seed | {"declaration_id": "X-2"}, form=SEAL_V3)]
    database_at(db_url, "0005", screener, rows)
    store = Store(db_url)  # upgrades
    try:
        with store.engine.connect() as conn:
            marked = conn.execute(text("SELECT id FROM decision WHERE screened_without_registry")).scalars().all()
    finally:
        store.close()
    assert marked == [1]
    assert cli(db_url, "audit", "verify").exit_code == 0
    assert show(db_url, "#1")[MARK] is True and MARK not in show(db_url, "#2")
    sql(db_url, "UPDATE decision SET screened_without_registry = false WHERE id = 1")
    result = cli(db_url, "audit", "verify")
    assert result.exit_code == 2 and f"decision #1 {SEALED}" in result.stderr
