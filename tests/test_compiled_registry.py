# Cyrillic names are the point of these tests.
# ruff: noqa: RUF001
"""The compiled registry's set answers equal the per-declaration reference's (issue #13).

Random small registries: messy names in Latin and Cyrillic, initials, birth dates, person
ids, roles held by companies, shared addresses; parties with ids present, absent and
unknown; every depth. `CompiledRegistry` (from records, and from a store after
`registry load`) must answer what `RegistryIndex` + `enrichment` answer.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path
from typing import Any

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from customs_rules.contract.models import Party
from customs_rules.contract.registry_rows import CompanyRecord, PersonRecord, WatchlistRecord
from customs_rules.engine import enrichment
from customs_rules.entities.compiled import CompiledRegistry
from customs_rules.entities.registry import RegistryIndex
from customs_rules.store import Store
from customs_rules.workflow.screener import load_registry

SURNAMES = [
    ("Гольдберг", "Goldberg"),
    ("Ахметов", "Akhmetov"),
    ("Шапошников", "Shaposhnikov"),
    ("Иванов", "Ivanov"),
    ("Сейткали", "Seitkali"),
    ("Омаров", "Omarov"),
    ("Асанов", "Asanov"),
    ("Беков", "Bekov"),
]
GIVEN = [("Илья", "Ilya"), ("Илья", "Iliá"), ("Руслан", "Ruslan"), ("Михаил", "Mikhail"), ("Игорь", "Igor")]
WORDS = [("Небесная механика", "Nebesnaya Mekhanika"), ("Аспан Арба", "Aspan Arba"), ("Береке", "Bereke"),
         ("Алтын Арба", "Altyn Arba"), ("Небесная", "Nebesnaya Mejanica")]  # fmt: skip
ADDRESSES = [None, "г. Алматы, ул. Абая, д. 10", "Almaty, Abaya street 10", "Astana, Kenesary 40"]
ROLES = ["director", "founder", "shareholder", "beneficial_owner"]


@st.composite
def registries(draw: Any) -> tuple[list[CompanyRecord], list[PersonRecord], list[WatchlistRecord]]:
    n = draw(st.integers(2, 9))
    companies = []
    for i in range(n):
        native, latin = draw(st.sampled_from(WORDS))
        name = draw(st.sampled_from([f"ТОО «{native}»", f"{latin} LLP", f"ООО «{native}»", latin]))
        aliases = draw(st.lists(st.sampled_from([latin, f"{latin} LLC", native]), max_size=2, unique=True))
        companies.append(CompanyRecord(
            company_id=f"{100 + i}", name=name, country=draw(st.sampled_from([None, "KZ", "RU"])),
            aliases=aliases, address=draw(st.sampled_from(ADDRESSES)),
        ))  # fmt: skip
    people = []
    for _ in range(draw(st.integers(0, 14))):
        owner = draw(st.integers(0, n - 1))
        if draw(st.integers(0, 5)) == 0:  # a role held by another company of the registry
            holder = draw(st.integers(0, n - 1).filter(lambda h, o=owner: h != o))
            people.append(PersonRecord(company_id=companies[owner].company_id, person_name=companies[holder].name,
                                       role="founder", person_company_id=companies[holder].company_id))  # fmt: skip
            continue
        surname, given = draw(st.sampled_from(SURNAMES)), draw(st.sampled_from(GIVEN))
        cyrillic = draw(st.booleans())
        first = given[0] if cyrillic else given[1]
        form = draw(st.sampled_from(["full", "reversed", "initials", "patronymic"]))
        family = surname[0] if cyrillic else surname[1]
        name = {"full": f"{first} {family}", "reversed": f"{family} {first}",
                "initials": f"{family} {first[0]}.", "patronymic": f"{family} {first} Маркович"}[form]  # fmt: skip
        people.append(PersonRecord(
            company_id=companies[owner].company_id, person_name=name, role=draw(st.sampled_from(ROLES)),
            person_id=draw(st.sampled_from([None, None, "900101300001", "900101300002"])),
            birth_date=draw(st.sampled_from([None, dt.date(1980, 2, 2), dt.date(1975, 5, 5)])),
        ))  # fmt: skip
    watch = [WatchlistRecord(name=companies[0].name, reason="reported")] if draw(st.booleans()) else []
    return companies, people, watch


def parties_of(draw: Any, companies: list[CompanyRecord]) -> list[Party]:
    found = []
    for company in draw(st.lists(st.sampled_from(companies), min_size=2, max_size=4)):
        ident = draw(st.sampled_from([company.company_id, None, "999"]))
        name = draw(st.sampled_from([company.name, *company.aliases, company.name[:-1], "Unknown Trading"]))
        found.append(Party(id=ident, name=name, country=draw(st.sampled_from([None, "KZ"]))))
    return found


def reference(index: RegistryIndex, parties: list[Party], depth: int) -> tuple[list[Any], list[Any], list[Any]]:
    matches = [index.resolve(p) for p in parties]
    resolved = [(m.company.company_id if m.company else None, m.method, m.score, m.detail) for m in matches]
    listed = []
    for party, match in zip(parties, matches, strict=True):
        hit = enrichment.party_features("exporter", party, match, index)["exporter.watchlisted"]
        listed.append((hit.value, hit.detail))
    linked = []
    for a in matches:
        for c in matches:
            features = enrichment.linked_parties(a, c, index) | enrichment.link_paths(a, c, index, depth)
            linked.append({k: (f.value, f.detail) for k, f in features.items()})
    return resolved, listed, linked


def compiled_answers(registry: CompiledRegistry, parties: list[Party], depth: int) -> tuple[Any, Any, Any]:
    frame = pl.DataFrame([(p.id, p.name, p.country) for p in parties], schema=["id", "name", "country"], orient="row")
    found = registry.resolve(frame)
    by_party = {(r["id"], r["name"], r["country"]): r for r in found.iter_rows(named=True)}
    rows = [by_party[(p.id, p.name, p.country)] for p in parties]
    resolved = [(registry.record(r["company_key"]).company_id if r["company_key"] else None, r["method"], r["score"],
                 r["detail"]) for r in rows]  # fmt: skip
    keyed = frame.with_columns(pl.Series("company_key", [r["company_key"] for r in rows], dtype=pl.Utf8))
    hits = {
        (r["id"], r["name"], r["country"], r["company_key"]): r
        for r in registry.watchlisted(keyed).iter_rows(named=True)
    }
    listed = []
    for p, r in zip(parties, rows, strict=True):
        hit = hits[(p.id, p.name, p.country, r["company_key"])]
        listed.append((hit["watchlisted"], hit["detail"] and json.loads(hit["detail"])))
    keys = [r["company_key"] for r in rows]
    pairs = pl.DataFrame([(a, c, depth) for a in keys for c in keys], schema=["exporter_key", "consignee_key", "depth"],
                         orient="row")  # fmt: skip
    answers = {(r["exporter_key"], r["consignee_key"]): r for r in registry.links(pairs).iter_rows(named=True)}
    linked = [_features(answers[(a, c)]) for a in keys for c in keys]
    return resolved, listed, linked


def _features(row: dict[str, Any]) -> dict[str, Any]:
    def detail(name: str) -> Any:
        return json.loads(row[name]) if row[name] is not None else None

    return {
        "parties.linked": (row["linked"], detail("linked_detail")),
        "parties.shared_persons": (row["shared_persons"], detail("linked_detail")),
        "parties.linked_weak": (row["linked_weak"], detail("linked_weak_detail")),
        "parties.link_path_length": (row["link_path_length"], detail("link_path_detail")),
        "parties.linked_by_address": (row["linked_by_address"], detail("linked_by_address_detail")),
    }


def _normalised(linked: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The reference's features as JSON reads them back (its details are dicts)."""
    return [{k: (v, json.loads(json.dumps(d, ensure_ascii=False)) if d is not None else None) for k, (v, d) in f.items()}
            for f in linked]  # fmt: skip


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), depth=st.integers(1, 3))
def test_set_answers_equal_the_reference(data: Any, depth: int) -> None:
    companies, people, watch = data.draw(registries())
    parties = parties_of(data.draw, companies)
    expected = reference(RegistryIndex(companies, people, watch), parties, depth)
    got = compiled_answers(CompiledRegistry.from_records(companies, people, watch), parties, depth)
    assert got[0] == expected[0]
    assert got[1] == [(v, d) for v, d in expected[1]]
    assert got[2] == _normalised(expected[2])


def _write(path: Path, columns: list[str], rows: list[list[Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        writer.writerows(rows)
    return path


def load_records(store: Store, tmp_path: Path, companies: list[CompanyRecord], people: list[PersonRecord]) -> None:
    """`registry load` of these records, written as the registry's CSV files."""
    company_rows = [[c.company_id, c.name, c.country or "", "", ";".join(c.activity_codes), ";".join(c.aliases),
                     c.address or ""] for c in companies]  # fmt: skip
    people_rows = [[p.company_id, p.person_name, p.role.value, p.person_id or "",
                    p.birth_date.isoformat() if p.birth_date else "", p.person_company_id or ""] for p in people]  # fmt: skip
    result = load_registry(
        store,
        _write(tmp_path / "c.csv", ["company_id", "name", "country", "registered_on", "activity_codes", "aliases",
                                    "address"], company_rows),
        _write(tmp_path / "p.csv", ["company_id", "person_name", "role", "person_id", "birth_date",
                                    "person_company_id"], people_rows),
    )  # fmt: skip
    assert not result.failed


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), depth=st.integers(1, 3))
def test_the_snapshot_read_from_the_store_answers_alike(data: Any, depth: int, db_url: str, tmp_path: Path) -> None:
    companies, people, _ = data.draw(registries())
    parties = parties_of(data.draw, companies)
    store = Store(db_url)
    try:
        load_records(store, tmp_path, companies, people)
        expected = reference(store.registry_index(), parties, depth)
        with store.stored_registry() as stored:
            assert reference(stored, parties, depth) == expected
        got = compiled_answers(CompiledRegistry.from_store(store), parties, depth)
    finally:
        store.close()
    assert got[0] == expected[0]
    assert got[2] == _normalised(expected[2])
