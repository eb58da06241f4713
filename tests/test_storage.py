"""Storage on SQLite and on the real PostgreSQL server (CUSTOMS_RULES_TEST_PG)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from customs_rules.api import Screener, load_registry
from customs_rules.cli import main
from customs_rules.errors import StorageError
from customs_rules.models import Declaration
from customs_rules.rules import RulePack
from customs_rules.storage import DecisionRecord, DeclarationRecord, FindingRecord, ItemRecord, Store

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SEED = FIXTURES / "declarations" / "aspan_arba_drones.json"


def loaded_store(url: str) -> Store:
    store = Store(url)
    registry = FIXTURES / "registry"
    result = load_registry(store, registry / "companies.csv", registry / "people.csv", registry / "watchlist.csv")
    assert not result.failed
    return store


def test_registry_round_trip_and_seed_decision_is_stored(db_url: str, pack: RulePack) -> None:
    store = loaded_store(db_url)
    try:
        counts = store.registry_counts()
        assert counts["companies"] > 20 and counts["people"] > 20 and counts["watchlist"] >= 1
        screener = Screener(pack, store.registry_index(), store)
        decl = Declaration.model_validate(json.loads(SEED.read_text()))
        (screening,) = list(screener.screen_inputs([_parsed(decl)]))
        assert screening.decision["decision"] == "hold"
        assert store.count(DeclarationRecord) == 1 and store.count(ItemRecord) == len(decl.items)
        assert store.count(DecisionRecord) == 1
        assert store.count(FindingRecord) == len(screening.decision["findings"]) + len(
            screening.decision["test_findings"]
        )
        # the same declaration again, same rules: nothing new (idempotent)
        list(screener.screen_inputs([_parsed(decl)]))
        assert store.count(DecisionRecord) == 1
    finally:
        store.close()


def test_a_failed_write_stores_nothing(db_url: str, pack: RulePack) -> None:
    store = Store(db_url)
    try:
        screener = Screener(pack, store.registry_index(), store)
        decl = Declaration.model_validate(json.loads(SEED.read_text()))
        good = screener.screen(decl)
        broken = screener.screen(decl.model_copy(update={"declaration_id": "OTHER"}))
        broken.decision["ruleset_version"] = "sha256:never-recorded"  # violates a foreign key
        store.record_ruleset(screener.version, pack.contents)
        with pytest.raises(StorageError, match="nothing was stored"):
            store.record_screenings([good, broken])
        assert store.count(DeclarationRecord) == 0 and store.count(DecisionRecord) == 0
    finally:
        store.close()


def test_cli_on_each_database(db_url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    registry = FIXTURES / "registry"
    loaded = runner.invoke(main, ["--db", db_url, "registry", "load", "--companies", str(registry / "companies.csv")])
    assert loaded.exit_code == 0, loaded.output
    bad = FIXTURES / "bad" / "unknown_country.json"
    result = runner.invoke(main, ["--db", db_url, "screen", str(SEED), str(bad), "--format", "json"])
    assert result.exit_code == 2
    assert json.loads(result.stdout)["decision"] == "hold"
    assert str(bad) in result.stderr and "unknown country" in result.stderr
    store = Store(db_url)
    try:
        assert store.count(DeclarationRecord) == 1  # the good one is stored, the bad one is not
    finally:
        store.close()


def _parsed(decl: Declaration):  # noqa: ANN202
    from customs_rules.errors import Location
    from customs_rules.parsing import Parsed

    return Parsed(decl, Location("test"))


def test_the_same_declaration_twice_in_one_input_is_stored_once(db_url: str, pack: RulePack) -> None:
    store = Store(db_url)
    try:
        screener = Screener(pack, store.registry_index(), store)
        decl = Declaration.model_validate(json.loads(SEED.read_text()))
        changed = decl.model_copy(update={"destination_country": "KG"})
        outcomes = list(screener.screen_inputs([_parsed(decl), _parsed(decl), _parsed(changed)]))
        assert len(outcomes) == 3
        assert store.count(DeclarationRecord) == 2  # revision 1 and the changed revision 2
        assert store.count(DecisionRecord) == 2
    finally:
        store.close()
