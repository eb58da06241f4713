"""Links through intermediaries and shared addresses (issue #5): the registry as a graph,
on both back-ends (in memory, and the database on SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from customs_rules.cli.base import main
from customs_rules.contract.errors import InputError
from customs_rules.contract.models import Declaration
from customs_rules.contract.registry_rows import CompanyRecord, PersonRecord
from customs_rules.entities.links import link_paths
from customs_rules.entities.registry import RegistryLookup
from customs_rules.entities.registry_csv import read_registry_csv
from customs_rules.rules.loader import load_pack, parse_pack
from customs_rules.rules.model import RulePack
from customs_rules.rules.validators import validate_pack
from customs_rules.store import Store
from customs_rules.workflow.screener import Screener, default_rules_dir, load_registry

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
COMPANY_COLUMNS = ["company_id", "name", "country", "registered_on", "activity_codes", "aliases", "address"]
PEOPLE_COLUMNS = ["company_id", "person_name", "role", "person_id", "birth_date", "person_company_id"]
COMPANIES = [
    ["KZA", "Sunkar Trade LLP", "KZ", "2016-04-12", "46.52", "", "г. Алматы, пр. Достык, д. 52, офис 14"],
    ["KZX", "ТОО «Береке Инвест»", "KZ", "2014-08-20", "64.20", "Bereke Invest LLP", "г. Астана, ул. Кенесары, 40"],
    ["KGC", "Ala-Too Elektronika LLC", "KG", "2016-10-04", "46.52", "", "Bishkek, Chui avenue 120"],
    ["KZD", "Dostyk Trading LLP", "KZ", "2018-01-10", "46.52", "", "Almaty, Dostyk Avenue 52, Office 14"],
    ["KZY", "Kok Zhol LLP", "KZ", "2012-05-05", "49.41", "", ""],
    ["KGE", "Tenir Components LLC", "KG", "2015-11-26", "46.52", "", ""],
]
PEOPLE = [
    ["KZA", "Омаров Ерлан Бекович", "director", "", "", ""],
    ["KZA", "ТОО «Береке Инвест»", "founder", "", "", "KZX"],
    ["KZX", "Асанов Данияр Серикович", "director", "", "", ""],
    ["KGC", "Asanov Daniyar", "director", "", "", ""],
    ["KZY", "Asanov Daniyar", "shareholder", "", "1980-02-02", ""],
    ["KZY", "Nurlan Seitkali", "director", "", "", ""],
    ["KGE", "Сейткали Нурлан", "director", "", "", ""],
]


def write_csv(path: Path, columns: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        writer.writerows(rows)
    return path


@pytest.fixture()
def graph_store(db_url: str, tmp_path: Path) -> Any:
    store = Store(db_url)
    companies = write_csv(tmp_path / "companies.csv", COMPANY_COLUMNS, COMPANIES)
    people = write_csv(tmp_path / "people.csv", PEOPLE_COLUMNS, PEOPLE)
    result = load_registry(store, companies, people)
    assert not result.failed and not result.warnings
    yield store
    store.close()


def company(lookup: RegistryLookup, ident: str) -> CompanyRecord:
    found = lookup.company_by_id(ident)
    assert found is not None
    return found


def paths(lookup: RegistryLookup, a: str, c: str, depth: int) -> tuple[Any, Any]:
    strong, address = link_paths(lookup, company(lookup, a), company(lookup, c), depth)
    return (strong and strong.as_list(), address and address.as_list())


INTERMEDIARY_PATH = [
    {"from": "Sunkar Trade LLP", "from_id": "KZA", "to": "ТОО «Береке Инвест»", "to_id": "KZX", "link": "role",
     "holder": "ТОО «Береке Инвест»", "role": "founder", "of": "Sunkar Trade LLP",
     "why": "ТОО «Береке Инвест» is founder of Sunkar Trade LLP"},
    {"from": "ТОО «Береке Инвест»", "from_id": "KZX", "to": "Ala-Too Elektronika LLC", "to_id": "KGC", "link": "person",
     "person": "Асанов Данияр Серикович", "from_role": "director", "to_person": "Asanov Daniyar", "to_role": "director",
     "score": 1.0, "method": "name",
     "why": "tokens 'asanov'~'asanov' 1.00, 'daniyar'~'daniyar' 1.00; patronymic 'serikovich' ignored"},
]  # fmt: skip


def test_paths_through_an_intermediary_a_role_and_an_address(graph_store: Store) -> None:
    with graph_store.stored_registry() as stored:
        for lookup in (graph_store.registry_index(), stored):
            assert paths(lookup, "KZA", "KGC", 2) == (INTERMEDIARY_PATH, None)
            assert paths(lookup, "KGC", "KZA", 2)[0] is not None  # links go both ways
            assert paths(lookup, "KZA", "KGC", 1) == (None, None)  # depth 1: no intermediary
            assert paths(lookup, "KZA", "KZX", 1) == (INTERMEDIARY_PATH[:1], None)  # a role held directly
            assert paths(lookup, "KZA", "KGE", 2) == (None, None)
            three, _ = paths(lookup, "KZA", "KGE", 3)  # founder X, X's director in Y, Y's director heads E
            assert [(s["from_id"], s["link"], s["to_id"]) for s in three] == [
                ("KZA", "role", "KZX"), ("KZX", "person", "KZY"), ("KZY", "person", "KGE"),
            ]  # fmt: skip
            assert paths(lookup, "KZA", "KZD", 2) == (None, [{
                "from": "Sunkar Trade LLP", "from_id": "KZA", "to": "Dostyk Trading LLP", "to_id": "KZD",
                "link": "address", "address": "г. Алматы, пр. Достык, д. 52, офис 14",
                "to_address": "Almaty, Dostyk Avenue 52, Office 14",
                "why": "same address once normalised: '14 52 almaty dostyk'",
            }])  # fmt: skip
            address_then_role = paths(lookup, "KZD", "KZX", 2)[1]
            assert [(s["link"], s["to_id"]) for s in address_then_role] == [("address", "KZA"), ("role", "KZX")]


def test_both_back_ends_find_the_same_links_for_every_pair(graph_store: Store) -> None:
    memory = graph_store.registry_index()
    ids = [row[0] for row in COMPANIES]
    with graph_store.stored_registry() as stored:
        for depth in (1, 2, 3):
            for a in ids:
                for c in ids:
                    assert paths(memory, a, c, depth) == paths(stored, a, c, depth), (a, c, depth)
        for name in ("Asanov Daniyar", "Сейткали Н.", "Omarov Erlan", "Nobody"):
            assert memory.ranked_people(name, 5) == stored.ranked_people(name, 5), name


def declaration(exporter: str, consignee: str, dest: str = "KG", hs: str = "854231") -> Declaration:
    return Declaration.model_validate({
        "declaration_id": "L-1", "date": "2024-03-01", "exporter": {"name": exporter},
        "consignee": {"name": consignee}, "dispatch_country": "KZ", "destination_country": dest,
        "items": [{"hs_code": hs, "value": 1000, "currency": "USD"}],
    })  # fmt: skip


def pack_with_depth(tmp_path: Path, depth: int | None) -> RulePack:
    target = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), target)
    policy = target / "policy.yaml"
    text = policy.read_text()
    policy.write_text(text.replace("  depth: 2", f"  depth: {depth}") if depth else text.split("\nlinks:")[0])
    return load_pack(target)


@pytest.mark.parametrize(("depth", "expected"), [(1, "release"), (2, "inspect"), (None, "inspect")])
def test_the_policy_depth_decides_how_far_links_reach(
    graph_store: Store, tmp_path: Path, depth: int | None, expected: str
) -> None:
    pack = pack_with_depth(tmp_path, depth)
    decision = Screener(pack, graph_store.registry_index()).screen(declaration("Sunkar Trade", "Ala-Too Elektronika"))
    assert decision.decision.decision == expected
    rules = decision.decision.rule_ids
    assert rules == (["linked-parties-path-listed-goods"] if expected == "inspect" else [])
    assert decision.facts[0]["parties.link_path_length"] == (2 if expected == "inspect" else None)


def test_a_shared_address_is_weak_evidence(graph_store: Store, pack: RulePack) -> None:
    with graph_store.stored_registry() as stored:
        screening = Screener(pack, stored).screen(declaration("Sunkar Trade LLP", "Dostyk Trading", "KZ"))
    facts = screening.facts[0]
    assert facts["parties.linked_by_address"] is True and facts["parties.link_path_length"] is None
    assert (screening.decision.decision, screening.decision.score) == ("inspect", 30)  # never a hold alone
    (finding,) = screening.decision.findings
    assert finding.rule_id == "linked-parties-address-listed-goods" and finding.action == "inspect"
    assert finding.evidence["parties.linked_by_address"]["path"][0]["link"] == "address"


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        (
            "links:\n  depth: 0\n",
            "rules/policy.yaml:19, field links.depth: depth must be a whole number from 1 to 3, got 0",
        ),
        ("links:\n  depth: two\n", "field links.depth: depth must be a whole number from 1 to 3, got 'two'"),
        ("links: 2\n", "field links: links takes one key: depth"),
    ],
)
def test_a_bad_depth_is_a_located_error(tmp_path: Path, policy: str, message: str) -> None:
    target = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), target)
    path = target / "policy.yaml"
    path.write_text(path.read_text().split("\nlinks:")[0] + "\n" + policy)
    parsed, errors = parse_pack(target)
    found = [str(e) for e in errors + validate_pack(parsed)]
    assert len(found) == 1 and message in found[0], found


def test_old_registry_files_without_the_new_columns_still_load(db_url: str, tmp_path: Path) -> None:
    companies = write_csv(tmp_path / "c.csv", COMPANY_COLUMNS[:-1], [row[:-1] for row in COMPANIES])
    people = write_csv(tmp_path / "p.csv", PEOPLE_COLUMNS[:3], [row[:3] for row in PEOPLE if not row[5]])
    assert all(c.address is None for c in read_registry_csv(companies, CompanyRecord))
    store = Store(db_url)
    try:
        result = load_registry(store, companies, people)
        assert not result.failed and result.loaded == {"companies": 6, "people": 6}
        with store.stored_registry() as stored:
            assert paths(stored, "KZX", "KGC", 2)[0][0]["link"] == "person"
            assert paths(stored, "KZA", "KZD", 2) == (None, None)  # no addresses, no address links
    finally:
        store.close()


def test_a_company_holding_a_role_in_itself_is_a_located_error(tmp_path: Path) -> None:
    people = write_csv(tmp_path / "p.csv", PEOPLE_COLUMNS, [["KZA", "Sunkar", "founder", "", "", "K-Z-A"]])
    with pytest.raises(InputError) as caught:
        read_registry_csv(people, PersonRecord)
    (error,) = caught.value.errors
    assert str(error) == f"{people}:2, field person_company_id: a company cannot hold a role in itself"


def test_an_unknown_holder_company_is_a_warning(store: Store, tmp_path: Path) -> None:
    companies = write_csv(tmp_path / "c.csv", COMPANY_COLUMNS, COMPANIES)
    people = write_csv(tmp_path / "p.csv", PEOPLE_COLUMNS, [["KZA", "Ghost Holding", "founder", "", "", "NOPE1"]])
    result = load_registry(store, companies, people)
    assert not result.failed
    assert result.warnings == [
        f"1 holder company id(s) in {people} are not in the companies table; "
        "those roles cannot link parties (e.g. NOPE1)"
    ]


def test_fixture_intermediary_declaration_is_inspected_because_of_the_link(db_url: str) -> None:
    registry = FIXTURES / "registry"
    runner = CliRunner()
    loaded = runner.invoke(main, ["--db", db_url, "-q", "registry", "load", "--companies",
                                  str(registry / "companies.csv"), "--people", str(registry / "people.csv")])  # fmt: skip
    assert loaded.exit_code == 0, loaded.stderr
    path = FIXTURES / "declarations" / "intermediary_chips_kg.json"
    for command in (["submit", str(path)], ["screen", str(path)]):
        result = runner.invoke(main, ["--db", db_url, *command, "--format", "json"], catch_exceptions=False)
        assert result.exit_code == 0, result.stderr
        decision = json.loads(result.stdout.splitlines()[0])
        assert decision["decision"] == "inspect"
        (finding,) = decision["findings"]
        assert finding["rule_id"] == "linked-parties-path-listed-goods"
        path_evidence = finding["evidence"]["parties.link_path_length"]
        assert path_evidence["length"] == 2 and path_evidence["depth"] == 2
        assert [(s["from_id"], s["link"], s["to_id"]) for s in path_evidence["path"]] == [
            ("160440214573", "role", "140840309811"), ("140840309811", "person", "02104201610124"),
        ]  # fmt: skip
        assert path_evidence["path"][0]["holder"] == "ТОО «Береке Инвест»"
        assert path_evidence["path"][1]["person"] == "Асанов Данияр Серикович"


def test_database_from_issue_3_gets_person_keys(tmp_path: Path) -> None:
    from alembic import command
    from sqlalchemy import create_engine, text

    from customs_rules.store import schema

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    with engine.begin() as conn:
        command.upgrade(schema.alembic_config(conn), "0002")
        for ident, name in (("KZX", "ТОО «Береке Инвест»"), ("KGC", "Ala-Too Elektronika LLC")):
            conn.execute(
                text("INSERT INTO company (company_id, name, activity_codes, aliases) VALUES (:i, :n, '', '')"),
                {"i": ident, "n": name},
            )
        for ident, name in (("KZX", "Асанов Данияр"), ("KGC", "Asanov Daniyar")):
            conn.execute(
                text("INSERT INTO person (company_id, person_name, role) VALUES (:i, :n, 'director')"),
                {"i": ident, "n": name},
            )
    engine.dispose()
    store = Store(url)
    try:
        with store.stored_registry() as stored:
            (namesake,) = [p for p in stored.namesakes(stored.people_of("KZX")[0]) if p.company_id == "KGC"]
            assert namesake.person_name == "Asanov Daniyar"
        assert store.registry_index().companies["KZX"].address is None
    finally:
        store.close()


def test_people_load_in_slices_keeps_every_row_and_key(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from customs_rules.store import registry_load

    monkeypatch.setattr(registry_load, "SLICE", 2)
    companies = write_csv(tmp_path / "c.csv", COMPANY_COLUMNS, COMPANIES)
    people = write_csv(tmp_path / "p.csv", PEOPLE_COLUMNS, PEOPLE)
    assert load_registry(store, companies, people).loaded == {"companies": 6, "people": 7}
    with store.stored_registry() as stored:
        assert paths(stored, "KZA", "KGE", 3) == paths(store.registry_index(), "KZA", "KGE", 3)
        # issue #13: namesakes are the rows of other companies the same-person rule pairs
        assert [p.company_id for p in stored.namesakes(stored.people_of("KGE")[0])] == ["KZY"]


def test_a_common_surname_block_is_skipped_but_pairs_still_find_the_person(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from customs_rules.entities import registry as registry_module
    from customs_rules.store import registry_db

    monkeypatch.setattr(registry_module, "MAX_PERSON_BLOCK", 3)
    monkeypatch.setattr(registry_db, "MAX_PERSON_BLOCK", 3)
    firsts = ["Ерлан", "Нурлан", "Данияр", "Серик", "Руслан"]
    rows = [["KZA", f"Ахметов {first}", "director", "", "", ""] for first in firsts]
    rows.append(["KZX", "Ruslan Akhmetov", "director", "", "", ""])
    companies = write_csv(tmp_path / "c.csv", COMPANY_COLUMNS, COMPANIES)
    people = write_csv(tmp_path / "p.csv", PEOPLE_COLUMNS, rows)
    store = Store(db_url)
    try:
        assert not load_registry(store, companies, people).failed
        with store.stored_registry() as stored:
            for lookup in (store.registry_index(), stored):
                # issue #13: the same-person rule's pair keys (akhm+rsln), not the surname's block
                found = lookup.namesakes(lookup.people_of("KZX")[0])
                assert [p.person_name for p in found] == ["Ахметов Руслан"]
                # initials give no pair: only the surname's key, skipped when that block is too big
                assert lookup.ranked_people("Akhmetov R.", 5) == []
    finally:
        store.close()


def test_paths_past_one_step_are_searched_only_when_a_rule_could_use_them(
    graph_store: Store, pack: RulePack, tmp_path: Path
) -> None:
    from customs_rules.engine.enrichment import path_guard

    assert path_guard(pack.evaluated()) == frozenset({"chpl", "drones", "drone_parts"})
    index = graph_store.registry_index()
    wheat = Screener(pack, index).screen(declaration("Sunkar Trade", "Ala-Too Elektronika", hs="100199"))
    assert wheat.facts[0]["parties.link_path_length"] is None  # no rule reads it for wheat
    direct = Screener(pack, index).screen(declaration("Sunkar Trade", "Bereke Invest", hs="100199"))
    assert direct.facts[0]["parties.link_path_length"] == 1  # direct links are always looked for
    target = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), target)
    (target / "extra.yaml").write_text(
        "id: any-path\ntitle: Any path\ndescription: Linked through a company, any goods.\nstatus: test\n"
        "action: inspect\nscore: 1\nconditions:\n  field: parties.link_path_length\n  exists: true\n"
        "examples:\n  fire:\n    - {parties.link_path_length: 2}\n  no_fire:\n    - {parties.link_path_length: null}\n"
    )
    unguarded = load_pack(target)
    assert path_guard(unguarded.evaluated()) is None
    wheat = Screener(unguarded, index).screen(declaration("Sunkar Trade", "Ala-Too Elektronika", hs="100199"))
    assert wheat.facts[0]["parties.link_path_length"] == 2
    assert wheat.decision.test_rule_ids == ["any-path"]


def test_the_path_guard_never_changes_a_decision(tmp_path: Path, pack: RulePack) -> None:
    """The shortcut (no path search past one step for goods no path rule reads) is
    proven equal to plain screening on random parties, goods and item mixes."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    store = Store(f"sqlite:///{tmp_path / 'guard.db'}")
    companies = write_csv(tmp_path / "companies.csv", COMPANY_COLUMNS, COMPANIES)
    people = write_csv(tmp_path / "people.csv", PEOPLE_COLUMNS, PEOPLE)
    load_registry(store, companies, people)
    index = store.registry_index()
    guarded, plain = Screener(pack, index), Screener(pack, index)
    plain.path_guard = None
    assert guarded.path_guard is not None
    names = [row[1] for row in COMPANIES] + ["Unknown Trading LLP"]
    codes = ["854231", "880621", "100199", "847130", "852691", "030389"]  # listed and ordinary

    @given(st.sampled_from(names), st.sampled_from(names), st.lists(st.sampled_from(codes), min_size=1, max_size=3))
    @settings(max_examples=150, deadline=None)
    def agree(exporter: str, consignee: str, hs_codes: list[str]) -> None:
        decl = declaration(exporter, consignee).model_copy(
            update={"items": [declaration(exporter, consignee, hs=hs).items[0].model_copy(update={"line": n})
                              for n, hs in enumerate(hs_codes, start=1)]}
        )  # fmt: skip
        at = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
        found = guarded.screen(decl, at).decision
        assert found == plain.screen(decl, at).decision
        fired.update(found.rule_ids)

    fired: set[str] = set()
    try:
        agree()
    finally:
        store.close()
    assert "linked-parties-path-listed-goods" in fired  # the guarded search did run and find


def test_a_name_carried_by_too_many_people_links_no_one(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from customs_rules.entities import persons

    companies = write_csv(tmp_path / "c.csv", COMPANY_COLUMNS, COMPANIES)
    rows = [[cid, "Асанов Данияр", "director", "", "", ""] for cid in ("KZA", "KZX", "KGC")]
    rows += [[cid, "Nurlan Bekov", "founder", "", "", ""] for cid in ("KZX", "KGE")]
    people = write_csv(tmp_path / "p.csv", PEOPLE_COLUMNS, rows)
    store = Store(db_url)
    try:
        for cap, strong_length in ((2, None), (3, 2)):
            monkeypatch.setattr(persons, "MAX_NAMESAKES", cap)  # the pairs are compiled at load
            assert not load_registry(store, companies, people).failed
            with store.stored_registry() as stored:
                for lookup in (store.registry_index(), stored):
                    namesakes = lookup.namesakes(lookup.people_of("KZA")[0])
                    # three rows of one name: past a cap of two, the name says too little
                    assert [p.company_id for p in namesakes] == ([] if cap == 2 else ["KZX", "KGC"])
                    assert [p.company_id for p in lookup.namesakes(lookup.people_of("KGE")[0])] == ["KZX"]
                    # so no intermediary through it (KZA -Asanov- KZX -Bekov- KGE) ...
                    strong, _ = paths(lookup, "KZA", "KGE", 2)
                    assert (strong and len(strong)) == strong_length
                    # issue #13: nor a direct link (the same rule at every depth)
                    direct = paths(lookup, "KZA", "KGC", 1)[0]
                    assert (direct and direct[0]["person"]) == (None if cap == 2 else "Асанов Данияр")
    finally:
        store.close()


# Issue #12, 1.4: a director written with initials only, whose birth date matches, is the
# same person: a step at full strength, in the middle of a path as at its end.
INITIALS_COMPANIES = [
    ["KZP", "Steppe Components LLP", "KZ", "2019-02-01", "46.52", "", ""],
    ["KZM", "ТОО «Медеу Инвест»", "KZ", "2015-06-15", "64.20", "", ""],
    ["RUQ", "ООО «Северный Ветер»", "RU", "2017-03-03", "46.52", "", ""],
]
INITIALS_PEOPLE = [
    ["KZP", "Petrenko O. N.", "director", "", "1975-03-02", ""],
    ["KZM", "Петренко Олег Николаевич", "founder", "", "1975-03-02", ""],
    ["KZM", "Садыков Марат", "director", "", "", ""],
    ["RUQ", "Marat Sadykov", "director", "", "", ""],
]


@pytest.mark.parametrize("birth", ["1975-03-02", "1975-03-03", ""])
def test_initials_and_the_same_birth_date_make_a_full_step(db_url: str, tmp_path: Path, birth: str) -> None:
    people = [row if row[1] != "Petrenko O. N." else [*row[:4], birth, ""] for row in INITIALS_PEOPLE]
    store = Store(db_url)
    try:
        companies = write_csv(tmp_path / "companies.csv", COMPANY_COLUMNS, INITIALS_COMPANIES)
        load_registry(store, companies, write_csv(tmp_path / "people.csv", PEOPLE_COLUMNS, people))
        with store.stored_registry() as stored:
            for lookup in (store.registry_index(), stored):
                direct, _ = paths(lookup, "KZP", "KZM", 1)
                through, _ = paths(lookup, "KZP", "RUQ", 2)
                if birth != "1975-03-02":  # another birth date, or none: never a step
                    assert direct is None and through is None
                    continue
                (step,) = direct
                assert (step["method"], step["score"], step["person"]) == ("initials+birth_date", 1.0, "Petrenko O. N.")
                assert [(s["to_id"], s["link"], s.get("method")) for s in through] == [
                    ("KZM", "person", "initials+birth_date"), ("RUQ", "person", "name"),
                ]  # fmt: skip
    finally:
        store.close()


def test_default_pack_end_to_end_regional_names_and_initials(db_url: str, tmp_path: Path) -> None:
    """Issue #12, 1.4, through the CLI and the default pack: the watchlisted ОсОО «Тянь
    Шань Трейдинг» is caught as "Tian Shan Trading LLC", and a director written "Petrenko
    O. N." with the same birth date as Петренко Олег Николаевич links the parties outright."""
    companies = write_csv(tmp_path / "companies.csv", COMPANY_COLUMNS, [
        ["KZP", "Steppe Components LLP", "KZ", "2012-02-01", "46.52", "", ""],
        ["KG7", "ОсОО «Ала-Тоо Трейдинг»", "KG", "2014-06-15", "46.52", "", "Бишкек ш., Чуй проспектиси, 120"],
    ])  # fmt: skip
    people = write_csv(tmp_path / "people.csv", PEOPLE_COLUMNS, [
        ["KZP", "Petrenko O. N.", "director", "", "1975-03-02", ""],
        ["KG7", "Петренко Олег Николаевич", "founder", "", "1975-03-02", ""],
    ])  # fmt: skip
    watchlist = tmp_path / "watchlist.csv"
    watchlist.write_text("name,company_id,country,reason,source,listed_on\n"
                         "ОсОО «Тянь Шань Трейдинг»,,KG,re-exports chips to RU,test,2024-01-01\n")  # fmt: skip
    runner = CliRunner()
    loaded = runner.invoke(main, ["--db", db_url, "-q", "registry", "load", "--companies", str(companies),
                                  "--people", str(people), "--watchlist", str(watchlist)])  # fmt: skip
    assert loaded.exit_code == 0, loaded.stderr
    declarations = []
    for number, consignee in enumerate(("Tian Shan Trading LLC", "Ala-Too Trading LLC")):
        declarations.append({
            "declaration_id": f"E2E-{number}", "date": "2024-03-01", "exporter": {"name": "Steppe Components LLP"},
            "consignee": {"name": consignee, "country": "KG"}, "dispatch_country": "KZ",
            "destination_country": "KG", "transit_countries": ["RU"],
            "items": [{"hs_code": "854231", "value": 1000, "currency": "USD"}],
        })  # fmt: skip
    path = tmp_path / "declarations.json"
    path.write_text(json.dumps(declarations, ensure_ascii=False), encoding="utf-8")
    result = runner.invoke(main, ["--db", db_url, "submit", str(path), "--format", "json"], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    listed, linked = (json.loads(line) for line in result.stdout.splitlines())
    assert listed["decision"] == "hold"
    evidence = {f["rule_id"]: f["evidence"] for f in listed["findings"]}
    assert "watchlist-party-listed-goods" in evidence
    assert linked["decision"] == "hold"  # a shared person (60) and transit through Russia (50)
    rules = {f["rule_id"]: f["evidence"] for f in linked["findings"]}
    assert "linked-parties-initials-listed-goods" not in rules
    (person,) = rules["linked-parties-listed-goods"]["parties.linked"]["shared_persons"]
    assert (person["person"], person["method"]) == ("Petrenko O. N.", "initials+birth_date")
