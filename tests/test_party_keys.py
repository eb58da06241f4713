# Cyrillic test data is intended, not confusable Latin.
# ruff: noqa: RUF001
"""Party keys by columns equal the per-party definitions: the history key
(`engine.history.party_key`) and the name key (`names.spelling_keys(name)[0]`) of messy
declared names, in Latin, Cyrillic and both, with and without ids (`screening.history`);
keys computed for many sets at once equal each set's own; the registry finds a party by
a name key handed to it (a batch's pre-pass) exactly as by the one it computes."""

from __future__ import annotations

from typing import Any

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from test_compiled_registry import parties_of, registries
from test_history import PARTIES
from test_registry_load_columns import spellings

from customs_rules.contract.models import Declaration
from customs_rules.engine import history as ref
from customs_rules.entities import names
from customs_rules.entities.compiled import CompiledRegistry
from customs_rules.entities.spelling_keys import exact_keys
from customs_rules.screening.frames import DeclarationSet
from customs_rules.screening.history import NAME_KEYS, keyed_parties, set_keys, sets_keys

# declared names as users type them: registry-like words in both scripts, stray blanks,
# punctuation and control characters, any text at all, names with no token
NAMES = st.one_of(
    spellings(), st.text(max_size=14), st.text(alphabet="aZ Ёё-.«»\u00a0\t\x1c\x1fßİ'", max_size=10),
    st.sampled_from(["«»", "ООО", "LLC", "-", " x ", "Straße", "Серік ұлы Ержан", "Agro Агро"]),
)  # fmt: skip
IDS = st.one_of(st.none(), st.sampled_from(["", " ", "-", "190540218733", "12-34", "٣٤"]), st.text(max_size=6))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(IDS, NAMES), min_size=1, max_size=30))
def test_columnar_party_keys_equal_the_definitions(parties: list[tuple[str | None, str]]) -> None:
    frame = pl.DataFrame(parties, schema={"i": pl.Utf8, "n": pl.Utf8}, orient="row")
    keyed = keyed_parties(frame, names=True)
    assert keyed["key"].to_list() == [ref.party_key(i, n) for i, n in parties]
    assert keyed["name_key"].to_list() == [names.spelling_keys(n)[0] for _, n in parties]
    assert keyed_parties(frame)["key"].to_list() == keyed["key"].to_list()  # without the name keys


@settings(max_examples=150, deadline=None)
@given(st.lists(NAMES, max_size=30))
def test_exact_keys_equal_spelling_keys(values: list[str]) -> None:
    assert exact_keys(pl.Series(values, dtype=pl.Utf8)).to_list() == [names.spelling_keys(v)[0] for v in values]


def _declaration(n: int, exporter: dict[str, str], consignee: dict[str, str]) -> Declaration:
    return Declaration.model_validate({
        "declaration_id": f"D-{n}", "date": "2024-01-02", "procedure": "export", "exporter": exporter,
        "consignee": consignee, "dispatch_country": "KZ", "destination_country": "RU",
        "items": [{"hs_code": "100199", "value": 10}],
    })  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.tuples(st.sampled_from(PARTIES), st.sampled_from(PARTIES)), max_size=5), max_size=4))
def test_keys_of_many_sets_at_once_equal_each_sets_own(sets: list[list[tuple[Any, Any]]]) -> None:
    made = [DeclarationSet.from_declarations([_declaration(n, e, c) for n, (e, c) in enumerate(s)]) for s in sets]
    made = [s for s in made if len(s)]
    together = sets_keys(made, names=True)
    assert [k.columns for k in together] == [["exporter_key", "consignee_key", *NAME_KEYS]] * len(made)
    assert [k.to_dicts() for k in together] == [set_keys(s, names=True).to_dicts() for s in made]
    assert [k.drop(NAME_KEYS).to_dicts() for k in together] == [set_keys(s).to_dicts() for s in made]


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_the_registry_answers_alike_with_the_name_keys_handed_to_it(data: Any) -> None:
    companies, people, watch = data.draw(registries())
    parties = parties_of(data.draw, companies)
    frame = pl.DataFrame([(p.id, p.name, p.country) for p in parties], schema=["id", "name", "country"], orient="row")
    computed = CompiledRegistry.from_records(companies, people, watch).resolve(frame)
    keyed = frame.with_columns(pl.Series("name_key", [names.spelling_keys(p.name)[0] for p in parties]))
    handed = CompiledRegistry.from_records(companies, people, watch).resolve(keyed)
    assert handed.to_dicts() == computed.to_dicts()
