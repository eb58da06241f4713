"""Storage on SQLite and on the real PostgreSQL server (CUSTOMS_RULES_TEST_PG)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from customs_rules.api import Screener, load_registry
from customs_rules.cli import main
from customs_rules.errors import StorageError
from customs_rules.models import Declaration
from customs_rules.registry import CompanyRecord, PersonRecord, normalize_id, read_registry_csv
from customs_rules.rules import RulePack
from customs_rules.storage import DecisionRecord, DeclarationRecord, FindingRecord, ItemRecord, Store
from customs_rules.storage.registry_db import stored_company, stored_person
from customs_rules.storage.store import _company_fields

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


def test_registry_records_read_back_equal_the_validated_ones(db_url: str) -> None:
    # the database back-end builds records from stored rows without validating them
    # again; they must equal the records validated from the files
    registry = FIXTURES / "registry"
    companies = read_registry_csv(registry / "companies.csv", CompanyRecord)
    people = read_registry_csv(registry / "people.csv", PersonRecord)
    store = loaded_store(db_url)
    try:
        with store.stored_registry() as stored:
            for company in companies:
                assert stored.company_by_id(normalize_id(company.company_id) or "") == company
                expected = [p for p in people if normalize_id(p.company_id) == normalize_id(company.company_id)]
                assert stored.people_of(company.company_id) == expected
                assert stored.holdings_of(company.company_id) == [
                    p for p in people if normalize_id(p.person_company_id) == normalize_id(company.company_id)
                ]
    finally:
        store.close()


TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=12)


@settings(max_examples=150, deadline=None)
@given(
    name=TEXT,
    country=st.sampled_from(["", "KZ", "ru", "Kyrgyzstan", None]),
    registered=st.one_of(st.none(), st.dates()),
    codes=st.lists(st.sampled_from(["46.52", "26.11", "01", "46.90.1"]), max_size=3),
    aliases=st.lists(TEXT, max_size=3),
    address=st.one_of(st.none(), TEXT),
    role=st.sampled_from(["Director", "founder", "beneficial owner", "SHAREHOLDER", "beneficial-owner"]),
    birth=st.one_of(st.none(), st.dates()),
)
def test_stored_rows_rebuild_the_records_they_came_from(
    name: str, country: str | None, registered: Any, codes: list[str], aliases: list[str], address: str | None,
    role: str, birth: Any,
) -> None:  # fmt: skip
    raw = {"company_id": "123", "name": name, "country": country, "registered_on": registered,
           "activity_codes": ";".join(codes), "aliases": ";".join(aliases), "address": address}  # fmt: skip
    try:
        company = CompanyRecord.model_validate(raw)
    except ValidationError:
        return  # refused at load: never stored
    assert stored_company(_company_fields(company)) == company
    person = PersonRecord.model_validate(
        {"company_id": "123", "person_name": name, "role": role, "person_id": address, "birth_date": birth}
    )
    assert stored_person(person.model_dump()) == person


def test_registry_look_ups_hold_no_read_open_between_queries(sqlite_url: str) -> None:
    # a batch's workers look parties up all the time; a read held open would pin the
    # write-ahead log, which then grows with every block stored (8.5 GB over 1M lines)
    import sqlite3

    store = loaded_store(sqlite_url)
    try:
        with store.stored_registry() as stored:
            assert stored.company_by_id("190540218733") is not None
            store.record_ruleset("sha256:test", {"x.yaml": "x"})  # a write after the read
            other = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"))
            other.execute("PRAGMA busy_timeout=200")
            busy, _, _ = other.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            other.close()
            assert busy == 0  # the log could be emptied: no reader pins it
    finally:
        store.close()
