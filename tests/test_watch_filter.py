# Cyrillic names are the point of these tests.
# ruff: noqa: RUF001
"""The watchlist filter (`entities.watch_filter`) never drops a party the reference finds.

Random registries and watchlists: entries spelt as a company's name or alias, with a
letter dropped, in the other script, with legal forms, by id alone, with and without a
country; parties with those names, messy text, unknown names, known and unknown ids. The
compiled registry's `watchlisted` (the filter, then the reference's search) must answer
what `RegistryIndex.watchlisted` answers for every party, and every party with a hit must
be a candidate of the filter.
"""

from __future__ import annotations

import json
from typing import Any

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_compiled_registry import WORDS, registries

from customs_rules.contract.models import Party
from customs_rules.contract.registry_rows import CompanyRecord, WatchlistRecord
from customs_rules.entities.compiled import CompiledRegistry
from customs_rules.entities.registry import RegistryIndex
from customs_rules.entities.watch_filter import WatchFilter

MESSY = st.text(alphabet=st.sampled_from("AaBeKkMoРрАаНнСсТт ЁёÉé-.«»0123456789\t"), min_size=1, max_size=18)


def spellings(company: CompanyRecord) -> list[str]:
    return [company.name, *company.aliases]


@st.composite
def watchlists(draw: Any, companies: list[CompanyRecord]) -> list[WatchlistRecord]:
    entries = []
    for _ in range(draw(st.integers(1, 5))):
        company = draw(st.sampled_from(companies))
        native, latin = draw(st.sampled_from(WORDS))
        name = draw(st.sampled_from([
            *spellings(company), company.name[:-1], company.name[1:], f"TOO {latin}", f"ООО {native}", native,
            latin.upper(), "Совсем Другое", draw(MESSY).strip() or "x",
        ]))  # fmt: skip
        ident = draw(st.sampled_from([None, None, company.company_id, "555"]))
        entries.append(WatchlistRecord(name=name, company_id=ident, country=draw(st.sampled_from([None, "KZ", "RU"])),
                                       reason="reported"))  # fmt: skip
    return entries


@st.composite
def parties(draw: Any, companies: list[CompanyRecord], watch: list[WatchlistRecord]) -> list[Party]:
    found = []
    for _ in range(draw(st.integers(1, 8))):
        company, listed = draw(st.sampled_from(companies)), draw(st.sampled_from(watch)).name
        native, latin = draw(st.sampled_from(WORDS))
        name = draw(st.sampled_from([*spellings(company), company.name[:-2], native, latin, "Unknown Trading",
                                     listed, listed[:-1] or listed, f"{listed}x", f"{listed} Holding"]))  # fmt: skip
        if draw(st.integers(0, 3)) == 0:
            name = draw(MESSY).strip() or "y"
        ident = draw(st.sampled_from([None, company.company_id, "555", "999"]))
        found.append(Party(id=ident, name=name, country=draw(st.sampled_from([None, "KZ", "RU"]))))
    return found


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_filter_keeps_every_party_the_reference_finds(data: Any) -> None:
    companies, people, _ = data.draw(registries())
    watch = data.draw(watchlists(companies))
    declared = data.draw(parties(companies, watch))
    index = RegistryIndex(companies, people, watch)
    registry = CompiledRegistry.from_records(companies, people, watch)
    frame = pl.DataFrame([(p.id, p.name, p.country) for p in declared], schema=["id", "name", "country"],
                         orient="row")  # fmt: skip
    keys = registry.resolve(frame)
    by_party = {(r["id"], r["name"], r["country"]): r["company_key"] for r in keys.iter_rows(named=True)}
    keyed = frame.with_columns(
        pl.Series("company_key", [by_party[(p.id, p.name, p.country)] for p in declared], dtype=pl.Utf8)
    )
    distinct = keyed.unique(maintain_order=True)
    # a part of the registry (a submission's) keys its companies' own spellings: the same companies
    part = WatchFilter(watch, registry.companies, registry.names, None, registry.threshold)
    assert sorted(part.listed_companies().to_list()) == sorted(registry._watch_filter().listed_companies().to_list())
    candidate = registry._watch_filter().candidates(distinct).to_list()
    assert part.candidates(distinct).to_list() == candidate  # its companies' spellings keyed afresh: alike
    listed = registry.watchlisted(keyed)
    assert listed.select("id", "name", "country", "company_key").equals(distinct)
    for row, may, got in zip(distinct.iter_rows(named=True), candidate, listed.iter_rows(named=True), strict=True):
        party = Party(id=row["id"], name=row["name"], country=row["country"])
        hit = index.watchlisted(party, index.resolve(party).company)
        assert got["watchlisted"] == (hit is not None)
        if hit is None:
            assert got["detail"] is None
            continue
        assert may, f"the filter dropped {row}"
        entry, why = hit
        assert json.loads(got["detail"]) == {
            "listed_name": entry.name, "reason": entry.reason, "source": entry.source, "listed_on": None, "why": why,
        }  # fmt: skip


def test_each_way_onto_the_watchlist_is_kept_and_the_rest_dropped() -> None:
    companies = [
        CompanyRecord(company_id="100", name="Aspan Arba LLP", country="KZ", aliases=["Аспан Арба"]),
        CompanyRecord(company_id="200", name="Bereke LLP", country="KZ"),
        CompanyRecord(company_id="300", name="Altyn Dala LLP", country="KZ"),
    ]
    watch = [
        WatchlistRecord(name="Совсем Другое", reason="reported"),  # a name only, by a near spelling
        WatchlistRecord(name="ТОО «Аспан Арба»", reason="reported", country="KZ"),  # a company's alias
        WatchlistRecord(name="Unrelated", company_id="200", reason="reported"),  # an id only
    ]
    declared = [
        ("x", None, "Совсем Друго", None),  # fuzzy, on the blocking keys only
        ("alias", None, "Aspan Arba", "KZ"),  # its company's alias is listed
        ("id", "200", "Whatever Name", None),  # the declared id is listed
        ("company id", None, "Bereke", "KZ"),  # its company's id is listed
        ("none", None, "Altyn Dala", "KZ"),  # known, but nothing of it listed
        ("none", "999", "Kompletely Different", "RU"),
    ]
    registry = CompiledRegistry.from_records(companies, [], watch)
    frame = pl.DataFrame([row[1:] for row in declared], schema=["id", "name", "country"], orient="row")
    keyed = frame.with_columns(registry.resolve(frame)["company_key"])
    candidate = registry._watch_filter().candidates(keyed).to_list()
    assert candidate == [kind != "none" for kind, *_ in declared]
    assert registry.watchlisted(keyed)["watchlisted"].to_list() == candidate
