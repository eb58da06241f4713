"""The parties' registry red flags (issue #14, item 1): `<role>.forwarder`,
`<role>.address_companies`, `<role>.risk_link_length`.

The columnar core (`screening.party_risk`, `entities.risk_links`) against the plain
per-party reference (`engine.party_risk`) on random registries (values and evidence, at
every depth, with and without the path guard, with the watchlist counted as risk or not),
the submit's partial registry against the whole snapshot, and each fact's meaning on
hand-made registries.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_compiled_registry import load_records, parties_of, registries

from customs_rules.contract.models import Declaration
from customs_rules.contract.registry_rows import CompanyRecord, PersonRecord, WatchlistRecord
from customs_rules.engine.enrichment import enrich
from customs_rules.entities import risk_links
from customs_rules.entities.compiled import CompiledRegistry
from customs_rules.entities.reach import for_parties
from customs_rules.entities.registry import RegistryIndex
from customs_rules.rules.model import RulePack
from customs_rules.screening.core import screen_set
from customs_rules.screening.frames import DeclarationSet
from customs_rules.store import Store
from customs_rules.workflow.screener import Screener

AT = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
NAMES = [f"{role}.{suffix}" for role in ("exporter", "consignee")
         for suffix in ("forwarder", "address_companies", "risk_link_length")]  # fmt: skip
CODES = [[], ["46.52"], ["52.29"], ["52.29.1", "46.90"], ["52.2"], ["49.41"], ["52.10.2"]]
COUNTRIES = [None, "KZ", "KG", "DE"]


def with_settings(pack: RulePack, **changes: Any) -> RulePack:
    """The pack with other history settings (its reference data copied, not shared)."""
    reference = copy.copy(pack.reference)
    reference.history = dataclasses.replace(reference.history, **changes)
    return RulePack(pack.rules, reference, pack.policy_doc, pack.directory)


@st.composite
def risky_registries(draw: st.DrawFn) -> tuple[list[CompanyRecord], list[PersonRecord], list[WatchlistRecord]]:
    """test_compiled_registry's registries with activity codes, more countries, and a
    watchlist naming companies by id or by name."""
    companies, people, watch = draw(registries())
    # few risk companies (Russian, Belarusian), so that paths of two and three steps come up
    risky = draw(st.lists(st.integers(0, len(companies) - 1), max_size=2))
    companies = [c.model_copy(update={"activity_codes": draw(st.sampled_from(CODES)), "country": draw(
        st.sampled_from(["RU", "BY"])) if n in risky else draw(st.sampled_from(COUNTRIES))})
        for n, c in enumerate(companies)]  # fmt: skip
    for _ in range(draw(st.integers(0, 2))):
        named = draw(st.sampled_from(companies))
        by_id = draw(st.booleans())
        watch.append(WatchlistRecord(name=named.name if not by_id else "Listed Trading", reason="reported",
                                     company_id=named.company_id if by_id else None))  # fmt: skip
    return companies, people, watch


def declarations(draw: st.DrawFn, companies: list[CompanyRecord]) -> list[Declaration]:
    parties = parties_of(draw, companies)
    found = []
    for n in range(draw(st.integers(1, 5))):
        exporter, consignee = draw(st.sampled_from(parties)), draw(st.sampled_from(parties))
        found.append(Declaration.model_validate({
            "declaration_id": f"D-{n}", "date": "2024-01-02", "procedure": draw(st.sampled_from(["export", "import"])),
            "exporter": exporter.model_dump(exclude_none=True), "consignee": consignee.model_dump(exclude_none=True),
            "dispatch_country": "KZ", "destination_country": "KG",
            "items": [{"hs_code": draw(st.sampled_from(["854231", "100199"])), "value": 10}],
        }))  # fmt: skip
    return found


def plain(value: Any) -> Any:
    return json.loads(json.dumps(value, ensure_ascii=False))


def core_facts(screener: Screener, found: list[Declaration], registry: CompiledRegistry | None = None) -> list[Any]:
    """Per declaration, the six facts' values and evidence as the core gives them."""
    result = screen_set(screener, DeclarationSet.from_declarations(found), AT, registry=registry)
    out = []
    for row in result.facts.facts.iter_rows(named=True):
        if row["position"] == 0:
            out.append({n: (row[n], result.facts.detail(row, row["decl"], n)) for n in NAMES})
    return plain(out)


def reference_facts(screener: Screener, found: list[Declaration]) -> list[Any]:
    out = []
    for decl in found:
        enriched = enrich(decl, screener.registry, screener.pack.reference, screener.policy.link_depth,
                          screener.path_guard)  # fmt: skip
        out.append({n: (enriched.items[0][n], enriched.details[0].get(n)) for n in NAMES})
    return plain(out)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), depth=st.integers(1, 3), watchlist=st.booleans(), limit=st.sampled_from([1, 10]))
def test_the_core_gives_the_references_values_and_evidence(
    pack: RulePack, data: st.DataObject, depth: int, watchlist: bool, limit: int
) -> None:
    companies, people, watch = data.draw(risky_registries())
    chosen = with_settings(pack, risk_watchlist=watchlist, evidence_limit=limit,
                           risk_groups=data.draw(st.sampled_from([("ru_by",), ("ru_by", "eaeu")])))  # fmt: skip
    screener = Screener(chosen, RegistryIndex(companies, people, watch))
    screener.policy = dataclasses.replace(screener.policy, link_depth=depth)
    found = declarations(data.draw, companies)
    assert core_facts(screener, found) == reference_facts(screener, found)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), depth=st.integers(1, 3))
def test_a_submits_partial_registry_gives_the_whole_snapshots_facts(
    pack: RulePack, data: st.DataObject, depth: int, db_url: str, tmp_path: Path
) -> None:
    companies, people, watch = data.draw(risky_registries())
    found = declarations(data.draw, companies)
    screener, part, whole = part_and_whole(pack, depth, db_url, tmp_path, (companies, people, watch), found)
    assert core_facts(screener, found, part) == core_facts(screener, found, whole)


def part_and_whole(
    pack: RulePack, depth: int, db_url: str, tmp_path: Path, registry: tuple[Any, Any, Any], found: list[Declaration]
) -> tuple[Screener, CompiledRegistry, CompiledRegistry]:
    """A screener at link `depth`, the part of the stored `registry` (companies, people,
    watchlist) a submit of `found` reads (`for_parties`), and the whole snapshot."""
    companies, people, watch = registry
    store = Store(db_url)
    try:
        load_records(store, tmp_path, companies, people)
        store.replace_watchlist(watch)
        whole = CompiledRegistry.from_store(store)
        frame = DeclarationSet.from_declarations(found).headers
        parties = pl.concat([frame.select(pl.col(f"{r}_{k}").alias(k) for k in ("id", "name", "country"))
                             for r in ("exporter", "consignee")])  # fmt: skip
        part = for_parties(store, parties, depth, settings=pack.reference.history)
    finally:
        store.close()
    screener = Screener(pack, RegistryIndex([], [], []))
    screener.policy = dataclasses.replace(screener.policy, link_depth=depth)
    return screener, part, whole


def misspelt(name: str) -> str:
    """The name with a letter of its first long word doubled (found by a name search)."""
    word = re.search(r"\w{4,}", name)
    return name if word is None else name[: word.start() + 3] + name[word.start() + 2 :]


@st.composite
def watchlists_of(draw: st.DrawFn, companies: list[CompanyRecord], people: list[PersonRecord]) -> list[WatchlistRecord]:
    """Entries naming the companies each way a resolution finds one: by id, by an id of
    no company or of another company than the name's, by name or alias, by a misspelt
    name (found by a name search), by a name of no company, in any country; mostly
    companies with people (those links reach)."""
    linked = {person.company_id for person in people}
    near = [company for company in companies if company.company_id in linked] or companies
    entries = []
    for _ in range(draw(st.integers(1, 6))):
        named, other = draw(st.sampled_from(near)), draw(st.sampled_from(companies))
        spelling = draw(st.sampled_from([named.name, *named.aliases, misspelt(named.name), "Listed Trading"]))
        ident = draw(st.sampled_from([None, named.company_id, "999", other.company_id]))
        entries.append(WatchlistRecord(name=spelling, company_id=ident, reason="reported",
                                       country=draw(st.sampled_from([None, "KZ", "RU"]))))  # fmt: skip
    return entries


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), depth=st.integers(1, 3))
def test_a_submit_resolves_the_watchlist_entries_near_its_parties_as_the_whole_snapshot(
    pack: RulePack, data: st.DataObject, depth: int, db_url: str, tmp_path: Path
) -> None:
    """The part resolves only the entries that may name a company its links reach
    (`reach._entries_near`): the risk facts and their evidence are the whole snapshot's
    (with the risk countries too, or with the watchlist alone making companies risk)."""
    companies, people, _ = data.draw(risky_registries())
    watch = data.draw(watchlists_of(companies, people))
    found = declarations(data.draw, companies)
    chosen = with_settings(pack, risk_groups=data.draw(st.sampled_from([(), ("ru_by",)])))
    screener, part, whole = part_and_whole(chosen, depth, db_url, tmp_path, (companies, people, watch), found)
    assert core_facts(screener, found, part) == core_facts(screener, found, whole)
    assert all(entry in watch for entry in part.risk_entries())


def test_a_submit_leaves_the_entries_naming_unreached_companies(pack: RulePack, tmp_path: Path) -> None:
    """Entries naming a company no path from the parties meets (by id, by name, by a
    misspelt name) are not resolved for a submit; one naming a reached company by a
    misspelt name is, and makes it a risk company one step away."""
    far = CompanyRecord(company_id="300", name="Kokshe Agromash LLP", country="KZ")
    companies = [*story_registry().company_records(), far]
    listed = [
        WatchlistRecord(name="Listed Trading", company_id=far.company_id, reason="reported"),
        WatchlistRecord(name="Kokshe Agromash LLP", reason="reported"),
        WatchlistRecord(name="Kokshe Agromashh LLP", reason="reported"),
        WatchlistRecord(name="Tranzit Groupp", reason="reported"),
    ]
    store = Store(f"sqlite:///{tmp_path / 'far.db'}")
    try:
        load_records(store, tmp_path, companies, story_registry().person_records())
        store.replace_watchlist(listed)
        parties = pl.DataFrame([(FIRM, "Aspan Arba LLP", "KZ")], schema=["id", "name", "country"], orient="row")
        history = with_settings(pack, risk_groups=()).reference.history
        part = for_parties(store, parties, 2, settings=history)
        whole = CompiledRegistry.from_store(store)
    finally:
        store.close()
    assert part.risk_entries() == [listed[3]]
    assert risk_links.watched(part) == {FRONT: listed[3]}
    countries: frozenset[str] = frozenset()
    assert risk_links.risk_reach(part, countries, True, 2).filter(pl.col("company_key") == FIRM).rows() == (
        risk_links.risk_reach(whole, countries, True, 2).filter(pl.col("company_key") == FIRM).rows()
    )


# -- the facts' meaning, on hand-made registries ------------------------------------------

FIRM, PARTNER, FRONT, FAR, HONEST = "190540012345", "7707083893", "KG77", "AE55", "150340000011"


def story_registry(watch: list[WatchlistRecord] | None = None) -> RegistryIndex:
    """A Kazakh firm sharing its founder with a Russian partner, which founded a Kyrgyz
    front; a UAE company whose director heads the front; an honest trader at a
    mass-registration address with 24 others."""
    companies = [
        CompanyRecord(company_id=FIRM, name="Aspan Arba LLP", country="KZ", activity_codes=["24.10"]),
        CompanyRecord(company_id=PARTNER, name="Nebesnaya Mekhanika LLC", country="RU"),
        CompanyRecord(company_id=FRONT, name="Tranzit Group", country="KG", activity_codes=["52.29.1"]),
        CompanyRecord(company_id=FAR, name="Gulf Trading FZE", country="AE", activity_codes=["46.52"]),
        CompanyRecord(company_id=HONEST, name="Dala Grain LLP", country="KZ", activity_codes=["46.21"],
                      address="г. Алматы, ул. Абая, д. 10"),
        *[CompanyRecord(company_id=f"S{n}", name=f"Shell {n}", country="KZ", address="Almaty, Abaya street 10")
          for n in range(24)],
    ]  # fmt: skip
    people = [
        PersonRecord(company_id=FIRM, person_name="Ilya Goldberg", role="founder", birth_date=dt.date(1970, 1, 10)),
        PersonRecord(company_id=PARTNER, person_name="Goldberg Ilya", role="director", birth_date=dt.date(1970, 1, 10)),
        PersonRecord(company_id=FRONT, person_name="Nebesnaya Mekhanika LLC", role="founder",
                     person_company_id=PARTNER),
        PersonRecord(company_id=FRONT, person_name="Ruslan Akhmetov", role="director", birth_date=dt.date(1985, 5, 5)),
        PersonRecord(company_id=FAR, person_name="Akhmetov Ruslan", role="director", birth_date=dt.date(1985, 5, 5)),
    ]  # fmt: skip
    return RegistryIndex(companies, people, watch or [])


def facts_of(pack: RulePack, registry: RegistryIndex, exporter: str, consignee: str, hs: str = "854231",
             depth: int = 2) -> tuple[dict[str, Any], dict[str, Any]]:  # fmt: skip
    """The six facts (core, checked against the reference) and their evidence."""
    screener = Screener(pack, registry)
    screener.policy = dataclasses.replace(screener.policy, link_depth=depth)
    decl = Declaration.model_validate({
        "declaration_id": "D-1", "date": "2024-01-02", "procedure": "export", "exporter": {"name": exporter},
        "consignee": {"name": consignee}, "dispatch_country": "KZ", "destination_country": "KG",
        "items": [{"hs_code": hs, "value": 10}],
    })  # fmt: skip
    got = core_facts(screener, [decl])[0]
    assert got == reference_facts(screener, [decl])[0]
    return {n: v for n, (v, _) in got.items()}, {n: d for n, (_, d) in got.items()}


def test_the_front_and_the_firm_are_one_step_from_russia(pack: RulePack) -> None:
    values, details = facts_of(pack, story_registry(), "Aspan Arba LLP", "Tranzit Group")
    assert values["exporter.risk_link_length"] == 1 and values["consignee.risk_link_length"] == 1
    path = details["consignee.risk_link_length"]
    assert path["risky"] | {"why": ""} == {"name": "Nebesnaya Mekhanika LLC", "company_id": PARTNER, "country": "RU",
                                           "groups": ["ru_by"], "why": ""}  # fmt: skip
    assert [step["link"] for step in path["path"]] == ["role"]
    assert path["path"][0]["why"] == "Nebesnaya Mekhanika LLC is founder of Tranzit Group"


def test_two_steps_count_within_the_depth_only(pack: RulePack) -> None:
    values, details = facts_of(pack, story_registry(), "Gulf Trading FZE", "Dala Grain LLP")
    assert values["exporter.risk_link_length"] == 2
    assert [s["to"] for s in details["exporter.risk_link_length"]["path"]] == [
        "Tranzit Group",
        "Nebesnaya Mekhanika LLC",
    ]
    assert facts_of(pack, story_registry(), "Gulf Trading FZE", "Dala Grain LLP", depth=1)[0][
        "exporter.risk_link_length"] is None  # fmt: skip
    # ordinary goods, and every rule reading the fact asks for listed goods: the path guard keeps one step
    assert facts_of(pack, story_registry(), "Gulf Trading FZE", "Dala Grain LLP", hs="100199")[0][
        "exporter.risk_link_length"] is None  # fmt: skip


def test_a_russian_company_is_not_its_own_risk_link(pack: RulePack) -> None:
    values, _ = facts_of(pack, story_registry(), "Nebesnaya Mekhanika LLC", "Dala Grain LLP")
    assert values["exporter.risk_link_length"] is None
    assert values["consignee.risk_link_length"] is None


def test_a_watchlisted_company_is_risk_unless_the_settings_say_otherwise(pack: RulePack) -> None:
    watch = [WatchlistRecord(name="Gulf Trading FZE", reason="reported diverter")]
    # both one step from the front: the first by key (7707083893, the Russian partner)
    _, details = facts_of(pack, story_registry(watch), "Tranzit Group", "Dala Grain LLP")
    assert details["exporter.risk_link_length"]["risky"]["name"] == "Nebesnaya Mekhanika LLC"
    only = with_settings(pack, risk_groups=())  # the watchlist alone
    values, details = facts_of(only, story_registry(watch), "Tranzit Group", "Dala Grain LLP")
    risky = details["exporter.risk_link_length"]["risky"]
    assert values["exporter.risk_link_length"] == 1
    assert risky["name"] == "Gulf Trading FZE" and risky["watchlist"]["reason"] == "reported diverter"
    assert facts_of(only, story_registry(), "Tranzit Group", "Dala Grain LLP")[0]["exporter.risk_link_length"] is None
    off = with_settings(pack, risk_watchlist=False, risk_groups=("eaeu",))  # AM BY KZ KG RU
    values, details = facts_of(off, story_registry(watch), "Gulf Trading FZE", "Dala Grain LLP")
    assert values["exporter.risk_link_length"] == 1
    assert details["exporter.risk_link_length"]["risky"]["name"] == "Tranzit Group"


def test_a_forwarder_is_found_by_code_prefix(pack: RulePack) -> None:
    values, details = facts_of(pack, story_registry(), "Aspan Arba LLP", "Tranzit Group")
    assert values["consignee.forwarder"] is True and values["exporter.forwarder"] is False
    assert details["consignee.forwarder"]["forwarding"] == ["52.29.1"]
    values, details = facts_of(pack, story_registry(), "Aspan Arba LLP", "Nebesnaya Mekhanika LLC")
    assert values["consignee.forwarder"] is None
    assert details["consignee.forwarder"] == {"why": "no activity codes known for the consignee"}
    assert facts_of(pack, story_registry(), "Aspan Arba LLP", "Unknown Buyer Ltd")[0]["consignee.forwarder"] is None


def test_every_company_at_an_address_is_counted(pack: RulePack) -> None:
    """25 companies at one address, past the 20 at which links ignore an address."""
    values, details = facts_of(with_settings(pack, evidence_limit=3), story_registry(), "Dala Grain LLP",
                               "Aspan Arba LLP")  # fmt: skip
    assert values["exporter.address_companies"] == 25
    assert values["consignee.address_companies"] is None  # no address registered
    assert [c["name"] for c in details["exporter.address_companies"]["others"]] == ["Shell 0", "Shell 1", "Shell 2"]


def test_the_default_rules_in_test_flag_the_front_and_the_forwarder(pack: RulePack) -> None:
    screener = Screener(pack, story_registry())
    decl = Declaration.model_validate({
        "declaration_id": "D-1", "date": "2024-01-02", "procedure": "export", "exporter": {"name": "Aspan Arba LLP"},
        "consignee": {"name": "Tranzit Group"}, "dispatch_country": "KZ", "destination_country": "KG",
        "items": [{"hs_code": "854231", "value": 10}],
    })  # fmt: skip
    decision = screener.screen(decl, AT).decision
    tests = {f.rule_id: f for f in decision.test_findings}
    assert {"registry-risk-link-consignee-listed", "registry-risk-link-exporter-listed",
            "registry-forwarder-consignee-listed"} <= tests.keys()  # fmt: skip
    found = tests["registry-risk-link-consignee-listed"].evidence["consignee.risk_link_length"]
    assert found["value"] == 1 and found["risky"]["country"] == "RU" and found["path"][0]["link"] == "role"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("risk_links: {country_groups: [nowhere]}", "unknown country group(s) nowhere"),
        ("risk_links: {watchlist: maybe}", "risk_links.watchlist must be true or false"),
        ("risk_links: {country_groups: [], watchlist: false}", "risk_links names no risk"),
        ("risk_links: [ru_by]", "risk_links must be a mapping"),
        ("risk_links: {groups: [ru_by]}", "unknown key(s) groups"),
        ("forwarding_activities: [52.10]", "quote it"),
        ("forwarding_activities: [forwarding]", "'forwarding' is not a NACE/OKED code"),
    ],
)
def test_bad_settings_are_located_errors(tmp_path: Path, text: str, message: str) -> None:
    from customs_rules.rules.reference import load_reference

    lists = tmp_path / "lists"
    lists.mkdir()
    (lists / "groups.yaml").write_text("kind: country_groups\nsource: test\ngroups:\n  ru_by: {countries: [RU, BY]}\n")
    (lists / "history.yaml").write_text(f"kind: history\nsource: test\nlisted_goods: []\n{text}\n")
    _, errors = load_reference(tmp_path)
    found = [str(e) for e in errors if message in str(e)]
    assert found and all("history.yaml:" in e for e in found), [str(e) for e in errors]


def test_rules_fields_lists_the_facts_and_the_validators_type_check_them(tmp_path: Path) -> None:
    import shutil

    from click.testing import CliRunner

    from customs_rules.cli.base import main
    from customs_rules.workflow.screener import default_rules_dir

    listed = CliRunner().invoke(main, ["rules", "fields"])
    assert listed.exit_code == 0
    for name in NAMES:
        assert any(line.split()[:2] == [name, "number" if "forwarder" not in name else "bool"]
                   for line in listed.output.splitlines()), name  # fmt: skip
    rules = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), rules)
    (rules / "history" / "bad.yaml").write_text(
        "id: bad-forwarder\ntitle: t\ndescription: d\nstatus: active\naction: inspect\nscore: 10\n"
        "conditions:\n  field: consignee.forwarder\n  gte: 3\n---\n"
        "id: bad-address\ntitle: t\ndescription: d\nstatus: active\naction: hold\nscore: 100\n"
        "conditions:\n  field: exporter.address_companies\n  gte: 10\n",
        encoding="utf-8",
    )
    checked = CliRunner().invoke(main, ["rules", "validate", "--rules", str(rules)])
    assert checked.exit_code == 2
    assert "consignee.forwarder" in checked.output and "bad.yaml:" in checked.output
    assert "rule bad-address reads weak evidence (exporter.address_companies)" in checked.output
