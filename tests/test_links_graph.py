# Cyrillic names are the point of these tests.
# ruff: noqa: RUF001
"""The set links (`entities.linking`) on dense random registries, every pair at every depth.

Random registries whose companies are tied by shared persons (full names, initials, ids,
birth dates), roles held by companies and shared addresses, so that paths of one, two and
three steps, with and without addresses, and ties between intermediaries are common. One
call asks for every (exporter, consignee) pair of companies at depths 1, 2 and 3 at once,
with unknown and missing keys among them; each answer must equal the per-declaration
reference's (`enrichment.linked_parties`, `enrichment.link_paths`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_compiled_registry import _features, _normalised

from customs_rules.contract.models import Party
from customs_rules.contract.registry_rows import CompanyRecord, PersonRecord
from customs_rules.engine import enrichment
from customs_rules.entities.compiled import CompiledRegistry, compiled_key
from customs_rules.entities.registry import RegistryIndex

ADDRESSES = [None, "Astana, Kenesary 40", "г. Астана, ул. Кенесары, 40", "Almaty, Abaya street 10"]
NAMES = ["Ilya Goldberg", "Гольдберг Илья", "Goldberg I.", "Ruslan Akhmetov", "Ахметов Руслан Маркович",
         "Akhmetov R.", "Nurlan Seitkali", "Igor Goldberg"]  # fmt: skip
ROLES = ["director", "founder", "shareholder", "beneficial_owner"]


@st.composite
def dense_registries(draw: Any) -> tuple[list[CompanyRecord], list[PersonRecord]]:
    n = draw(st.integers(2, 8))
    companies = [
        CompanyRecord(company_id=f"{100 + 37 * i % 97}", name=f"Company {i} LLP",
                      address=draw(st.sampled_from(ADDRESSES)))
        for i in range(n)
    ]  # fmt: skip
    people = []
    for _ in range(draw(st.integers(0, 16))):
        owner = companies[draw(st.integers(0, n - 1))]
        if draw(st.integers(0, 3)) == 0:
            holder = companies[draw(st.integers(0, n - 1))]
            if holder is not owner:
                people.append(PersonRecord(company_id=owner.company_id, person_name=holder.name,
                                           role=draw(st.sampled_from(ROLES)), person_company_id=holder.company_id))  # fmt: skip
                continue
        people.append(PersonRecord(
            company_id=owner.company_id, person_name=draw(st.sampled_from(NAMES)), role=draw(st.sampled_from(ROLES)),
            person_id=draw(st.sampled_from([None, None, None, "900101300001"])),
            birth_date=draw(st.sampled_from([None, None, dt.date(1980, 2, 2), dt.date(1975, 5, 5)])),
        ))  # fmt: skip
    return companies, people


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=dense_registries(), threshold=st.sampled_from([0.6, 0.85]))
def test_every_pair_at_every_depth_is_linked_as_the_reference_links_it(
    data: tuple[list[CompanyRecord], list[PersonRecord]], threshold: float
) -> None:
    companies, people = data
    index = RegistryIndex(companies, people, [], threshold)
    registry = CompiledRegistry.from_records(companies, people, [], threshold)
    matches = [index.resolve(Party(id=c.company_id, name=c.name)) for c in companies]
    keys = [compiled_key(c.company_id) for c in companies]
    asked = [(a, c, depth) for depth in (3, 1, 2) for a in keys for c in keys]
    asked += [(None, keys[0], 2), (keys[0], None, 3), ("NOT-THERE", keys[0], 3), (None, None, 1), asked[0]]
    frame = pl.DataFrame(asked, schema=["exporter_key", "consignee_key", "depth"], orient="row")
    found = registry.links(frame)
    assert found.height == len(set(asked))
    answers = {(r["exporter_key"], r["consignee_key"], r["depth"]): r for r in found.iter_rows(named=True)}
    for depth in (1, 2, 3):
        expected = [
            enrichment.linked_parties(a, c, index) | enrichment.link_paths(a, c, index, depth)
            for a in matches
            for c in matches
        ]
        got = [_features(answers[(a, c, depth)]) for a in keys for c in keys]
        assert got == _normalised([{k: (f.value, f.detail) for k, f in e.items()} for e in expected])
    for key in [(None, keys[0], 2), (keys[0], None, 3), ("NOT-THERE", keys[0], 3), (None, None, 1)]:
        row = answers[key]
        assert (row["linked"], row["shared_persons"], row["linked_weak"], row["link_path_length"]) == (
            False, 0, False, None)  # fmt: skip
        assert row["linked_by_address"] is False
