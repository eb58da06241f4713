"""Storage on SQLite and on the real PostgreSQL server (CUSTOMS_RULES_TEST_PG)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlmodel import select

from customs_rules.cli.base import main
from customs_rules.contract.errors import StorageError
from customs_rules.contract.models import Declaration, Party
from customs_rules.contract.registry_rows import CompanyRecord, PersonRecord
from customs_rules.entities.persons import normalize_id
from customs_rules.entities.registry_csv import read_registry_csv
from customs_rules.rules.model import RulePack
from customs_rules.store import DecisionRecord, DeclarationRecord, FindingRecord, ItemRecord, Store
from customs_rules.store.registry_db import stored_company
from customs_rules.store.registry_store import _company_fields
from customs_rules.store.seals import pack_facts, unpack_facts
from customs_rules.store.tables import DecisionItem, FactSignature
from customs_rules.workflow.screener import Screener, load_registry

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
        assert screening.decision.decision == "hold"
        assert store.count(DeclarationRecord) == 1 and store.count(ItemRecord) == len(decl.items)
        assert store.count(DecisionRecord) == 1
        assert store.count(FindingRecord) == len(screening.decision.findings) + len(screening.decision.test_findings)
        # the same declaration again, same rules: nothing new (idempotent)
        list(screener.screen_inputs([_parsed(decl)]))
        assert store.count(DecisionRecord) == 1
        # what the columns do not hold is stored as three signatures (the layout, the declaration's
        # facts, its items'), and explained as enrichment made them
        with store.reading() as session:
            (row,) = session.exec(select(DecisionRecord)).all()
            texts = {s.id: s.facts for s in session.exec(select(FactSignature))}
        assert None not in (row.header_fact_id, row.facts_layout_id, row.item_facts_id)
        assert store.count(DecisionItem) == 0 and store.count(FactSignature) == 3
        items = json.loads(texts[row.item_facts_id])
        assert len(items) == len(decl.items)  # one entry per item, without the item's own columns
        assert not any(decl.items[0].hs_code in text for text in texts.values() if text != texts[row.facts_layout_id])
        explained = store.explain(str(row.id))
        assert explained is not None and explained["facts"] == screening.facts
        assert [list(fact) for fact in explained["facts"]] == [list(fact) for fact in screening.facts]
    finally:
        store.close()


fact_values = (
    st.none() | st.booleans() | st.integers() | st.text(max_size=5) | st.lists(st.text(max_size=3), max_size=2)
)
fact_keys = st.sampled_from(["declaration.date", "exporter.known", "parties.linked", "item.line", "item.hs_code", "x"])


@settings(deadline=None)  # the first example pays for imports on a busy machine
@given(st.lists(st.dictionaries(fact_keys, fact_values, max_size=6), max_size=4), st.booleans())
@example(
    [{"x": int("1" + "0" * 30), "item.line": 1}, {"x": int("1" + "0" * 30), "item.line": 2}], False
)  # past 64 bits
def test_stored_facts_come_back_the_same_key_order_included(facts: list[dict[str, Any]], same_header: bool) -> None:
    if same_header and facts:  # as enrichment makes them: one header in every item's fact
        header = {k: v for k, v in facts[0].items() if not k.startswith("item.")}
        facts = [header | {k: v for k, v in fact.items() if k.startswith("item.")} for fact in facts]
    stored = json.loads(json.dumps(pack_facts(facts)))
    back = unpack_facts(stored)
    assert back == facts and [list(fact.items()) for fact in back] == [list(fact.items()) for fact in facts]
    if same_header and facts:
        assert isinstance(stored, dict)  # the compact form whenever it gives the facts back


def test_a_failed_write_stores_nothing(db_url: str, pack: RulePack) -> None:
    store = Store(db_url)
    try:
        screener = Screener(pack, store.registry_index(), store)
        decl = Declaration.model_validate(json.loads(SEED.read_text()))
        good = screener.screen(decl)
        broken = screener.screen(decl.model_copy(update={"declaration_id": "OTHER"}))
        # violates a foreign key
        broken.decision = dataclasses.replace(broken.decision, ruleset_version="sha256:never-recorded")
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
    from customs_rules.contract.errors import Location
    from customs_rules.io.parsing import Parsed

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


def fixture_registry() -> tuple[list[CompanyRecord], list[PersonRecord]]:
    registry = FIXTURES / "registry"
    return (read_registry_csv(registry / "companies.csv", CompanyRecord),
            read_registry_csv(registry / "people.csv", PersonRecord))  # fmt: skip


def test_registry_records_read_back_equal_the_validated_ones(db_url: str) -> None:
    # the database back-end builds records from stored rows without validating them
    # again; they must equal the records validated from the files
    companies, people = fixture_registry()
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


@pytest.fixture(scope="module")
def round_trip_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('round-trip') / 'r.db'}")
    yield store
    store.close()


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    name=TEXT,
    country=st.sampled_from(["", "KZ", "ru", "Kyrgyzstan", None]),
    registered=st.one_of(st.none(), st.dates()),
    codes=st.lists(st.sampled_from(["46.52", "26.11", "01", "46.90.1"]), max_size=3),
    aliases=st.lists(TEXT, max_size=3),
    address=st.one_of(st.none(), st.just(""), TEXT),
    role=st.sampled_from(["Director", "founder", "beneficial owner", "SHAREHOLDER", "beneficial-owner"]),
    birth=st.one_of(st.none(), st.dates()),
)
def test_stored_rows_rebuild_the_records_they_came_from(
    round_trip_store: Store, name: str, country: str | None, registered: Any, codes: list[str], aliases: list[str],
    address: str | None, role: str, birth: Any,
) -> None:  # fmt: skip
    # random records through the database and back, as a batch's look-ups read them
    raw = {"company_id": "123", "name": name, "country": country, "registered_on": registered,
           "activity_codes": ";".join(codes), "aliases": ";".join(aliases), "address": address}  # fmt: skip
    try:
        company = CompanyRecord.model_validate(raw)
        person = PersonRecord.model_validate(
            {"company_id": "123", "person_name": name, "role": role, "person_id": address, "birth_date": birth}
        )
    except ValidationError:
        return  # refused at load (a control character, a date out of range, a look-alike id): never stored
    round_trip_store.replace_companies([company])
    round_trip_store.replace_people([person])
    with round_trip_store.stored_registry() as stored:
        assert stored.company_by_id("123") == company
        assert stored.people_of("123") == [person]
    rebuilt = stored_company(_company_fields(company))
    assert rebuilt == company
    assert rebuilt.model_dump() == company.model_dump()
    assert rebuilt.model_fields_set == set(CompanyRecord.model_fields)
    assert rebuilt.model_copy(update={"name": "x"}).name == "x"  # a record like any other


def _checkpoint_busy(url: str) -> int:
    import sqlite3

    other = sqlite3.connect(url.removeprefix("sqlite:///"))
    try:
        other.execute("PRAGMA busy_timeout=200")
        busy, _, _ = other.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        return int(busy)
    finally:
        other.close()


def test_a_block_of_look_ups_holds_its_read_only_until_it_ends(sqlite_url: str) -> None:
    # a batch's workers look parties up all the time; a read held open would pin the
    # write-ahead log, which then grows with every block stored (8.5 GB over 1M lines)
    store = loaded_store(sqlite_url)
    try:
        with store.stored_registry() as stored:
            stored.prefetch([Party(name="ТОО «Аспан Арба»", id="190540218733")])
            assert stored.company_by_id("190540218733") is not None
            store.record_ruleset("sha256:test", {"x.yaml": "x"})  # a write after the read
            assert _checkpoint_busy(sqlite_url) == 1  # the block's snapshot pins the log
            stored.end_block()
            assert _checkpoint_busy(sqlite_url) == 0  # the log could be emptied
    finally:
        store.close()


def test_storing_chunks_restarts_the_write_ahead_log(
    sqlite_url: str, pack: RulePack, monkeypatch: pytest.MonkeyPatch
) -> None:
    from customs_rules.store import store as store_module

    monkeypatch.setattr(store_module, "CHECKPOINT_WRITES", 1)
    store = loaded_store(sqlite_url)
    wal = Path(sqlite_url.removeprefix("sqlite:///") + "-wal")
    try:
        screener = Screener(pack, store.registry_index())
        decl = Declaration.model_validate(json.loads(SEED.read_text()))
        store.record_ruleset(pack.version, pack.contents)
        store.record_screenings([screener.screen(decl)])
        assert wal.exists() and wal.stat().st_size == 0  # written, then check-pointed and emptied
    finally:
        store.close()


def test_a_registry_load_between_blocks_is_seen_whole(db_url: str) -> None:
    # records are cached by row ids, which a load renumbers: a load landing during a
    # batch must empty the caches at the next block, never mix old ids with new rows
    companies, people = fixture_registry()
    store = loaded_store(db_url)
    try:
        with store.stored_registry() as stored:
            shaposhnikov = next(p for p in people if p.person_name.startswith("Шапошников"))
            stored.prefetch([])
            before = [(p.company_id, p.person_name) for p in stored.namesakes(shaposhnikov)]
            fuzzy = stored.company_search("Rheintol Elektronik GmbH", lambda c: True)
            stored.end_block()
            store.replace_people(list(reversed(people)))
            store.replace_companies(list(reversed(companies)))
            store.replace_watchlist([])
            stored.prefetch([])
            assert [(p.company_id, p.person_name) for p in stored.namesakes(shaposhnikov)] == sorted(
                before, key=lambda cp: [(p.company_id, p.person_name) for p in reversed(people)].index(cp)
            )
            again = stored.company_search("Rheintol Elektronik GmbH", lambda c: True)
            assert [hit[0] for hit in again] == [hit[0] for hit in fuzzy] and fuzzy
            assert stored.watchlist == []
    finally:
        store.close()
