"""No screening against an empty registry; `--no-registry` screens anyway and marks the
run; a registry older than the policy allows is warned about once per run (issue #12,
item 1.3)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlmodel import Session, select

from customs_rules.contract.errors import RegistryMissingError
from customs_rules.io.declarations import read_declarations
from customs_rules.rules.policy import Policy
from customs_rules.store import AuditRecord, DecisionRecord, DeclarationRecord, Store
from customs_rules.workflow import batch
from customs_rules.workflow import officer as workflow
from customs_rules.workflow.screener import Screener, check_registry, default_rules_dir, load_registry

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
REGISTRY = FIXTURES / "registry"
SEED = FIXTURES / "declarations" / "aspan_arba_drones.json"
BATCH = FIXTURES / "declarations" / "batch.jsonl"
REFUSAL = (
    "Error: no registry is loaded: every party would be unknown, and the watchlist and linked-party rules could "
    "not fire\nhint: load one first: customs-rules registry load --companies companies.csv --people people.csv "
    "--watchlist watchlist.csv (or pass --no-registry to screen without one, marked as such)\n"
)
WITHOUT = (
    "warning: screening WITHOUT a registry (--no-registry): every party is unknown and the watchlist and "
    "linked-party rules cannot fire; the decisions and their audit entries are marked screened_without_registry\n"
)


def cli(db: str, *args: str) -> Result:
    return CliRunner().invoke(main_group(), ["--db", db, *args], catch_exceptions=False)


def main_group() -> Any:
    from customs_rules.cli.base import main

    return main


def load(db: str, *tables: str) -> None:
    tables = tables or ("companies", "people", "watchlist")
    options = [arg for t in tables for arg in (f"--{t}", str(REGISTRY / f"{t}.csv"))]
    assert cli(db, "-q", "registry", "load", *options).exit_code == 0


def counts(db: str) -> tuple[int, int]:
    store = Store(db)
    try:
        return store.count(DeclarationRecord), store.count(DecisionRecord)
    finally:
        store.close()


def audit(db: str, action: str) -> list[dict[str, Any]]:
    result = cli(db, "audit", "--action", action, "--format", "json", "--limit", "1000")
    return [json.loads(json.loads(line)["details"]) for line in result.stdout.splitlines()]


def age_registry(db: str, days: int) -> None:
    """Move the registry's loads back in time, as if loaded `days` ago."""
    store = Store(db)
    try:
        with Session(store.engine) as session, session.begin():
            for entry in session.exec(select(AuditRecord).where(AuditRecord.action == "registry_load")):
                entry.at = entry.at - dt.timedelta(days=days)
                session.add(entry)
    finally:
        store.close()


@pytest.mark.parametrize(
    "command",
    [["screen", str(SEED), "--format", "json"], ["submit", str(SEED)], ["rescreen"]],
    ids=["screen", "submit", "rescreen"],
)
def test_no_registry_is_refused_with_the_load_command(db_url: str, tmp_path: Path, command: list[str]) -> None:
    out = tmp_path / "out.csv"
    result = cli(db_url, *command, *(["--out", str(out)] if command[0] == "screen" else []))
    assert result.exit_code == 2
    assert result.stderr == REFUSAL and result.stdout == ""
    assert counts(db_url) == (0, 0) and not out.exists()  # refused before anything was opened or stored
    assert audit(db_url, "decisions") == [] and audit(db_url, "submit") == []


def test_an_empty_companies_file_is_no_registry(sqlite_url: str, tmp_path: Path) -> None:
    empty = tmp_path / "companies.csv"
    empty.write_text("company_id,name,country,registered_on,activity_codes,aliases\n")
    assert cli(sqlite_url, "-q", "registry", "load", "--companies", str(empty)).exit_code == 0
    result = cli(sqlite_url, "screen", str(SEED))
    assert result.exit_code == 2 and result.stderr == REFUSAL


def test_no_registry_flag_screens_and_marks_the_run(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batch, "CHUNK_LINES", 3)  # chunks enough to start the two workers
    result = cli(db_url, "screen", str(BATCH), "--format", "json", "--no-registry", "--workers", "2")
    assert result.exit_code == 0
    decisions = [json.loads(line) for line in result.stdout.splitlines()]
    assert decisions and all(d["screened_without_registry"] is True for d in decisions)
    assert result.stderr.startswith(WITHOUT) and result.stderr.count("WITHOUT a registry") == 2  # warning, summary
    summary = result.stderr.splitlines()[-2:]  # the mark, then where the results went
    assert summary[0] == f"{len(decisions)} declaration(s) screened WITHOUT a registry (--no-registry)"
    assert summary[1].startswith("done in ")
    chunks = audit(db_url, "decisions")  # one seal per stored chunk
    assert len(chunks) > 1 and all(chunk["registry"] == "none" for chunk in chunks)
    assert sum(len(chunk["decisions"]) for chunk in chunks) == len(decisions)
    assert cli(db_url, "audit", "verify").exit_code == 0


def test_no_registry_flag_ignores_a_loaded_registry(sqlite_url: str) -> None:
    load(sqlite_url)
    plain = json.loads(cli(sqlite_url, "screen", str(SEED), "--format", "json", "--no-store").stdout)
    assert "screened_without_registry" not in plain
    assert "linked-parties-listed-goods" in {f["rule_id"] for f in plain["findings"]}
    bare = json.loads(cli(sqlite_url, "screen", str(SEED), "--format", "json", "--no-store", "--no-registry").stdout)
    assert bare["screened_without_registry"] is True
    assert "linked-parties-listed-goods" not in {f["rule_id"] for f in bare["findings"]}
    assert "profile-unknown-exporter" in {f["rule_id"] for f in bare["findings"]}  # nobody is known


def test_submit_and_rescreen_without_registry_are_marked(db_url: str) -> None:
    submitted = cli(db_url, "submit", str(SEED), "--format", "json", "--no-registry", "--officer", "kz-1")
    assert submitted.exit_code == 0
    assert json.loads(submitted.stdout)["screened_without_registry"] is True
    assert submitted.stderr == WITHOUT + "#1: AA-20221115-001 revision 1, hold (new)\n"
    (entry,) = audit(db_url, "decision")
    assert entry["registry"] == "none" and entry["kind"] == "submit"
    refused = cli(db_url, "rescreen")
    assert refused.exit_code == 2 and refused.stderr == REFUSAL
    rescreened = cli(db_url, "rescreen", "--no-registry", "--format", "json")
    assert rescreened.exit_code == 0 and rescreened.stderr.startswith(WITHOUT)
    (summary,) = audit(db_url, "rescreen")
    assert summary["registry"] == "none" and summary["screened"] == 1
    assert [c["registry"] for c in audit(db_url, "decisions")] == ["none"]
    load(db_url)
    again = cli(db_url, "rescreen", "--format", "json")
    assert again.exit_code == 0 and again.stderr == "rescreened 1 declaration(s): 0 changed, 0 now stricter\n"
    assert "registry" not in audit(db_url, "rescreen")[-1]  # oldest first: the last is this run
    assert cli(db_url, "audit", "verify").exit_code == 0


def test_a_loaded_registry_screens_unmarked_and_silent(db_url: str) -> None:
    load(db_url)
    result = cli(db_url, "-q", "screen", str(BATCH), "--format", "json")
    assert result.exit_code == 0 and result.stderr == ""
    assert all("screened_without_registry" not in json.loads(line) for line in result.stdout.splitlines())
    assert all("registry" not in chunk for chunk in audit(db_url, "decisions"))


def test_a_stale_registry_is_warned_about_once_per_run(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batch, "CHUNK_LINES", 3)  # chunks enough to start the two workers
    load(db_url)
    age_registry(db_url, 45)
    store = Store(db_url)
    try:
        table, loaded = min(store.registry_loads().items(), key=lambda kv: kv[1])
    finally:
        store.close()
    warning = (
        f"warning: the registry is 45 days old ({table} last loaded {loaded:%Y-%m-%d %H:%M} UTC), older than the "
        "policy's registry.max_age_days of 30: load a fresh one with customs-rules registry load --companies ... "
        "--people ... --watchlist ...\n"
    )
    screened = cli(db_url, "-q", "screen", str(BATCH), "--format", "json", "--workers", "2", "--no-store")
    assert screened.exit_code == 0 and screened.stderr == warning  # once, whatever the declarations and workers
    two = tmp_path / "two.json"
    records = [json.loads(line) for line in BATCH.read_text().splitlines()[:2]]
    two.write_text(json.dumps(records))
    submitted = cli(db_url, "submit", str(two), "--format", "json")
    assert submitted.exit_code == 0 and submitted.stderr.count("days old") == 1
    rescreened = cli(db_url, "rescreen")
    assert rescreened.exit_code == 0 and rescreened.stderr.startswith(warning)
    load(db_url)  # a fresh load: no more warning
    assert cli(db_url, "-q", "screen", str(BATCH), "--no-store").stderr == ""


def test_the_threshold_comes_from_the_policy(sqlite_url: str, tmp_path: Path) -> None:
    load(sqlite_url)
    age_registry(sqlite_url, 10)
    rules = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), rules)
    policy = rules / "policy.yaml"
    assert "max_age_days: 30" in policy.read_text()
    assert cli(sqlite_url, "-q", "screen", str(SEED), "--no-store", "--rules", str(rules)).stderr == ""
    policy.write_text(policy.read_text().replace("max_age_days: 30", "max_age_days: 7"))
    stale = cli(sqlite_url, "-q", "screen", str(SEED), "--no-store", "--rules", str(rules))
    assert (
        stale.exit_code == 0 and "the registry is 10 days old" in stale.stderr and "max_age_days of 7" in stale.stderr
    )
    policy.write_text(policy.read_text().replace("max_age_days: 7", "max_age_days: 0"))
    broken = cli(sqlite_url, "rules", "validate", "--rules", str(rules))
    assert broken.exit_code == 2
    assert "field registry.max_age_days: max_age_days must be a whole number of days from 1 to 3650, got 0" in (
        broken.stderr
    )


def test_missing_people_and_watchlist_are_warned_about(sqlite_url: str) -> None:
    load(sqlite_url, "companies")
    result = cli(sqlite_url, "-q", "screen", str(SEED), "--no-store")
    assert result.exit_code == 0
    assert result.stderr == (
        "warning: the registry has no people and no watchlist loaded: no director, founder or owner can link "
        "two parties; no party can be found on the watchlist\n"
    )


def test_the_library_refuses_with_a_typed_error(db_url: str) -> None:
    store = Store(db_url)
    try:
        with pytest.raises(RegistryMissingError) as refused:
            Screener.open(store)
        assert refused.value.exit_code == 2 and "customs-rules registry load --companies" in (refused.value.hint or "")
        (parsed,) = list(read_declarations(str(SEED)))
        with pytest.raises(RegistryMissingError):
            workflow.submit(store, parsed, "kz-1")  # type: ignore[arg-type]
        with pytest.raises(RegistryMissingError):
            workflow.rescreen(store, None, "kz-1")
        assert counts(db_url) == (0, 0)
        anyway = Screener.open(store, without_registry=True)
        assert anyway.registry_check.without_registry
        assert anyway.screen(parsed.declaration).decision.without_registry is True  # type: ignore[union-attr]
        load_registry(store, REGISTRY / "companies.csv", REGISTRY / "people.csv", REGISTRY / "watchlist.csv")
        screener = Screener.open(store)
        assert screener.registry_check.warnings == [] and not screener.registry_check.without_registry
        assert "screened_without_registry" not in screener.screen(parsed.declaration).decision.as_dict()  # type: ignore[union-attr]
        loaded = min(store.registry_loads().values())
        later = check_registry(store, Policy(registry_max_age_days=30), now=loaded + dt.timedelta(days=31, hours=1))
        assert len(later.warnings) == 1 and later.warnings[0].startswith("warning: the registry is 31 days old")
        assert check_registry(store, Policy(), now=loaded + dt.timedelta(days=29)).warnings == []
    finally:
        store.close()


def test_cluster_workers_mark_decisions_too(pack: Any) -> None:
    from customs_rules.entities.registry import RegistryIndex
    from customs_rules.io import read_chunks
    from customs_rules.workflow.batch import Wanted
    from customs_rules.workflow.cluster import screen_remote, snapshot_of

    empty = RegistryIndex([], [], [])
    marked = snapshot_of(pack, empty, without_registry=True)
    assert marked.key != snapshot_of(pack, empty).key  # never mistaken for a snapshot of an empty registry
    (chunk,) = list(read_chunks([str(SEED)]))
    at = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    (decision,) = screen_remote(marked, chunk.declarations, at, Wanted(True)).decisions  # what a Dask worker runs
    assert decision.as_dict()["screened_without_registry"] is True
    (plain,) = screen_remote(snapshot_of(pack, empty), chunk.declarations, at, Wanted(True)).decisions
    assert "screened_without_registry" not in plain.as_dict()
