# Cyrillic names are the point of these tests.
# ruff: noqa: RUF001
"""A submit's partial registry answers as the whole snapshot does (issue #13).

`entities.reach.for_parties` reads from the store only what a few parties can reach;
for those parties its `resolve`, `watchlisted` and `links` must equal those of
`CompiledRegistry.from_store`, on random registries (as in test_compiled_registry), at
every depth, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_compiled_registry import compiled_answers, load_records, parties_of, registries

from customs_rules.contract.models import Party
from customs_rules.contract.registry_rows import CompanyRecord, PersonRecord
from customs_rules.entities.compiled import CompiledRegistry
from customs_rules.entities.reach import for_parties
from customs_rules.store import Store


def _load(store: Store, tmp_path: Path, companies: list[CompanyRecord], people: list[PersonRecord]) -> None:
    load_records(store, tmp_path, companies, people)


def _frame(parties: list[Party]) -> pl.DataFrame:
    return pl.DataFrame([(p.id, p.name, p.country) for p in parties], schema=["id", "name", "country"], orient="row")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), depth=st.integers(1, 3), threshold=st.sampled_from([0.6, 0.85]))
def test_the_part_answers_as_the_whole_snapshot(
    data: Any, depth: int, threshold: float, db_url: str, tmp_path: Path
) -> None:
    companies, people, watch = data.draw(registries())
    parties = parties_of(data.draw, companies)
    store = Store(db_url)
    try:
        _load(store, tmp_path, companies, people)
        store.replace_watchlist(watch)
        whole = CompiledRegistry.from_store(store, threshold)
        part = for_parties(store, _frame(parties), depth, threshold)
    finally:
        store.close()
    assert compiled_answers(part, parties, depth) == compiled_answers(whole, parties, depth)
    assert part.companies.height <= whole.companies.height


def test_the_part_reads_only_what_the_parties_reach(tmp_path: Path) -> None:
    """Two linked companies and an unrelated one: a party of the first reaches the second
    (one step) but not the third, whose rows are not read."""
    companies = [
        CompanyRecord(company_id="100", name="Aspan Arba LLP"),
        CompanyRecord(company_id="101", name="Bereke LLP"),
        CompanyRecord(company_id="102", name="Nebesnaya Mekhanika"),
    ]
    people = [
        PersonRecord(company_id="100", person_name="Ilya Goldberg", role="director", person_id="900101300001"),
        PersonRecord(company_id="101", person_name="Goldberg Ilya", role="founder", person_id="900101300001"),
        PersonRecord(company_id="102", person_name="Ruslan Akhmetov", role="director"),
    ]
    store = Store(f"sqlite:///{tmp_path / 'part.db'}")
    try:
        _load(store, tmp_path, companies, people)
        part = for_parties(store, _frame([Party(id="100", name="Aspan Arba LLP")]), 2)
        unknown = for_parties(store, _frame([Party(name="Qwerty Zxcv")]), 2)
    finally:
        store.close()
    assert sorted(part.companies["company_id"].to_list()) == ["100", "101"]
    assert part.pairs.height == 1
    assert sorted(part.people["person_name"].to_list()) == ["Goldberg Ilya", "Ilya Goldberg"]
    assert unknown.companies.height == 0
    assert unknown.resolve(_frame([Party(name="Qwerty Zxcv")]))["method"].to_list() == ["none"]


def test_a_path_through_companies_of_no_party_is_read(tmp_path: Path) -> None:
    """A chain 100 - 101 - 102 - 103 of shared persons: the parties 100 and 103 are linked
    at depth 3 through two companies neither names, and not at depth 2, as in the whole."""
    companies = [CompanyRecord(company_id=str(100 + n), name=name)
                 for n, name in enumerate(["Aspan Arba LLP", "Bereke LLP", "Altyn Arba", "Nebesnaya Mekhanika"])]  # fmt: skip
    people = []
    for n, (name, ident) in enumerate([("Ilya Goldberg", "900101300001"), ("Ruslan Akhmetov", "900101300002"),
                                       ("Mikhail Omarov", "900101300003")]):  # fmt: skip
        people += [PersonRecord(company_id=str(100 + n + k), person_name=name, role="director", person_id=ident)
                   for k in (0, 1)]  # fmt: skip
    parties = [Party(id="100", name="Aspan Arba LLP"), Party(id="103", name="Nebesnaya Mekhanika")]
    store = Store(f"sqlite:///{tmp_path / 'chain.db'}")
    try:
        _load(store, tmp_path, companies, people)
        whole = CompiledRegistry.from_store(store)
        answers = {depth: (compiled_answers(for_parties(store, _frame(parties), depth), parties, depth),
                           compiled_answers(whole, parties, depth)) for depth in (1, 2, 3)}  # fmt: skip
    finally:
        store.close()
    for got, expected in answers.values():
        assert got == expected
    assert answers[3][0][2][1]["parties.link_path_length"][0] == 3
    assert answers[2][0][2][1]["parties.link_path_length"][0] is None
