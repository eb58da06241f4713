"""The set core (`screening.core.screen_set`) against the per-declaration reference.

Random sets of declarations (messy names in both scripts, unknown parties, repeated and
scattered ids, every procedure, listed and ordinary goods, missing values) over random
registries (people across companies, roles held by companies, shared addresses, every
link depth), screened with the default pack or a pack of random rules (every operator):
the core's decisions (verdict, score, findings, evidence) equal `Screener.screen`'s.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_compiled_registry import parties_of, registries
from test_engine import condition

from customs_rules.contract.models import Declaration
from customs_rules.entities.registry import RegistryIndex
from customs_rules.rules.model import Action, Rule, RulePack, Status
from customs_rules.screening import evaluate
from customs_rules.screening.core import screen_set
from customs_rules.screening.frames import DeclarationSet
from customs_rules.screening.history import HistoryBase
from customs_rules.workflow.screener import Screener

AT = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
HS = ["8806.21", "880730", "854231", "8542 31 000 0", "901420", "848210", "100199", "720851"]
COUNTRIES = ["KZ", "RU", "BY", "CN", "AE", "KG", "DE"]
PROCEDURES = ["export", "import", "re-export", "transit", None]
# goods descriptions: listed goods named (under their code or not), decoys, ordinary, none
DESCRIPTIONS = [
    None,
    "Квадрокоптер DJI Mavic 3",
    "Quadcopters with camera",
    "Микросхемы интегральные",
    "БПЛA-лар",
    "Toy drone for kids",
    "Чипсы картофельные",
    "Аккумулятор для квадрокоптера",
    "GPS tracker",
    "Wheat",
]


@st.composite
def declarations(draw: st.DrawFn, companies: list[Any]) -> list[Declaration]:
    parties = parties_of(draw, companies)
    found = []
    for number in range(draw(st.integers(1, 8))):
        exporter, consignee = draw(st.sampled_from(parties)), draw(st.sampled_from(parties))
        exporter = exporter.model_dump(exclude_none=True)
        if draw(st.booleans()):  # ids with a checked scheme: a valid and a broken BIN, an INN
            exporter |= draw(st.sampled_from([{"id": "160440214573", "country": "KZ"}, {"id": "160440214574",
                             "country": "KZ"}, {"id": "7707083893", "country": "RU"}]))  # fmt: skip
        items = [
            {"hs_code": draw(st.sampled_from(HS)), "value": draw(st.sampled_from([None, 0, 10, 1000.5, 50000])),
             "currency": draw(st.sampled_from([None, "USD", "KZT"])), "origin_country": draw(st.sampled_from(
                 [None, *COUNTRIES])), "quantity": draw(st.sampled_from([None, 1, 2.5])),
             "net_mass_kg": draw(st.sampled_from([None, 3.0])), "description": draw(st.sampled_from(DESCRIPTIONS))}
            for _ in range(draw(st.integers(1, 4)))
        ]  # fmt: skip
        data = {
            "declaration_id": f"D-{draw(st.integers(0, number))}",  # ids may come again
            "date": draw(st.sampled_from(["2019-05-14", "2023-06-01", "2024-01-02"])),
            "procedure": draw(st.sampled_from(PROCEDURES)),
            "document_type": draw(st.sampled_from([None, "goods_invoice"])),
            "exporter": exporter,
            "consignee": consignee.model_dump(exclude_none=True),
            "dispatch_country": draw(st.sampled_from(COUNTRIES)),
            "destination_country": draw(st.sampled_from(COUNTRIES)),
            "transit_countries": draw(st.lists(st.sampled_from(COUNTRIES), max_size=2)),
            "items": items,
        }
        found.append(Declaration.model_validate(data))
    return found


def random_pack(draw: st.DrawFn, pack: RulePack) -> RulePack:
    rules = [
        Rule(f"r-{n}", "t", "d", draw(st.sampled_from([Status.ACTIVE, Status.TEST])),
             draw(st.sampled_from([Action.INSPECT, Action.HOLD])), draw(st.sampled_from([10, 40, 100])),
             draw(condition(pack)))
        for n in range(draw(st.integers(1, 6)))
    ]  # fmt: skip
    return RulePack(rules, pack.reference, pack.policy_doc, pack.directory)


def plain(value: Any) -> Any:
    return json.loads(json.dumps(value, ensure_ascii=False))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), depth=st.integers(1, 3))
def test_the_core_decides_as_the_reference(pack: RulePack, data: st.DataObject, depth: int) -> None:
    decides_as_the_reference(pack, data, depth)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), depth=st.integers(1, 3))
def test_the_core_decides_as_the_reference_when_values_share_a_hash(
    pack: RulePack, data: st.DataObject, depth: int
) -> None:
    """The signatures' other path: a field whose distinct values share a hash has its
    values' numbers joined to the items instead (forced here for every field)."""
    with mock.patch.object(evaluate, "_distinct", lambda hashes: False):
        decides_as_the_reference(pack, data, depth)


def decides_as_the_reference(pack: RulePack, data: st.DataObject, depth: int) -> None:
    companies, people, watch = data.draw(registries())
    chosen = pack if data.draw(st.booleans()) else random_pack(data.draw, pack)
    screener = Screener(chosen, RegistryIndex(companies, people, watch))
    screener.policy = dataclasses.replace(screener.policy, link_depth=depth)
    found = data.draw(declarations(companies))
    screened = DeclarationSet.from_declarations(found)
    core = screen_set(screener, screened, AT)
    # the set is its own history: earlier-dated declarations of it count for the reference too
    screener.plain_history = HistoryBase().with_set(screened).plain()
    reference = [screener.screen(declaration, AT) for declaration in found]
    assert plain([d.as_dict() for d in core.decisions]) == plain([s.decision.as_dict() for s in reference])
    assert core.registered == [s.registered for s in reference]
    assert plain(core.item_facts()) == plain([s.facts for s in reference])
