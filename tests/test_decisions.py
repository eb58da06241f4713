"""The decision policy on the default pack, and the seed case end to end."""

from __future__ import annotations

from typing import Any

import pytest

from customs_rules.contract.models import Declaration
from customs_rules.rules.policy import Policy
from customs_rules.workflow.screener import Screener

KAZ_MICRO = {"name": "Kazakh Microelectronics LLP", "id": "100140000003", "country": "KZ"}
DALA = {"name": "Dala Grain LLP", "country": "KZ"}
ELEKTRONIK = {"name": "Elektronik Handel GmbH", "country": "DE"}
HARBIN = {"name": "Harbin Grain Import Co", "country": "CN"}


def decl(exporter: dict[str, Any], consignee: dict[str, Any], dest: str, *hs: str, **extra: Any) -> Declaration:
    items = [{"hs_code": code, "value": 1000, "currency": "USD"} for code in hs]
    data = {
        "declaration_id": "P-1", "date": "2024-03-01", "exporter": exporter, "consignee": consignee,
        "dispatch_country": "KZ", "destination_country": dest, "items": items,
    } | extra  # fmt: skip
    return Declaration.model_validate(data)


CASES = [
    ("chpl tier 1 to RU", decl(KAZ_MICRO, {"name": "OOO Vector", "country": "RU"}, "RU", "8542.31"), {"hold"}),
    ("chpl tier 2 via BY", decl(KAZ_MICRO, {"name": "Vector", "country": "AM"}, "AM", "8517.62", transit_countries=["BY"]), {"hold"}),
    ("drones to BY", decl(KAZ_MICRO, {"name": "Minsk Aero", "country": "BY"}, "BY", "8806.21"), {"hold"}),
    ("lower tier to RU", decl(KAZ_MICRO, {"name": "OOO Vector", "country": "RU"}, "RU", "8541.10"), {"inspect", "hold"}),
    ("linked parties, listed goods, third country",
     decl({"name": "Bishkek Components", "country": "KG"}, {"name": "Gulf Electronics FZE", "country": "AE"}, "AE", "854231"),
     {"inspect", "hold"}),
    ("watchlisted consignee with listed goods",
     decl(KAZ_MICRO, {"name": "ООО «Радиокомплект»", "country": "RU"}, "AM", "854231"), {"hold"}),
    ("profile mismatch with listed goods", decl(DALA, HARBIN, "CN", "854231"), {"inspect", "hold"}),
    ("ordinary goods, clean known parties", decl(DALA, HARBIN, "CN", "1001.99"), {"release"}),
    ("listed goods, clean parties whose profile covers them", decl(KAZ_MICRO, ELEKTRONIK, "DE", "854231", "8542.32"), {"release"}),
]  # fmt: skip


@pytest.mark.parametrize(("case", "declaration", "expected"), CASES, ids=[c[0] for c in CASES])
def test_policy_table(screener: Screener, case: str, declaration: Declaration, expected: set[str]) -> None:
    decision = screener.screen(declaration).decision.as_dict()
    assert decision["decision"] in expected, (case, decision["findings"])


def test_linked_parties_finding_names_the_person_and_roles(screener: Screener) -> None:
    d = decl({"name": "Bishkek Components", "country": "KG"}, {"name": "Gulf Electronics FZE"}, "AE", "854231")
    (finding,) = [
        f for f in screener.screen(d).decision.as_dict()["findings"] if f["rule_id"] == "linked-parties-listed-goods"
    ]
    link = finding["evidence"]["parties.linked"]
    assert link["exporter"] == "Bishkek Components" and link["consignee"] == "Gulf Electronics FZE"
    (person,) = link["shared_persons"]
    assert person["person"] == "Ruslan Akhmetov" and person["consignee_person"] == "Ахметов Руслан"
    assert (person["exporter_role"], person["consignee_role"]) == ("beneficial_owner", "director")


def test_seed_case_holds_with_findings_from_every_family(screener: Screener) -> None:
    seed = Declaration.model_validate({
        "declaration_id": "SNT-2022-0001", "date": "2022-11-15", "document_type": "goods_invoice",
        "exporter": {"name": "Aspan Arba LLP", "country": "KZ"},
        "consignee": {"name": "Nebesnaya Mejanica", "country": "RU"},
        "dispatch_country": "KZ", "destination_country": "RU",
        "items": [
            {"line": 1, "hs_code": "8806 21 000 0", "quantity": 120, "unit": "pcs", "value": 480000, "currency": "USD", "origin_country": "CN"},
            {"line": 2, "hs_code": "8807.30", "value": 60000, "currency": "USD", "origin_country": "CN"},
            {"line": 3, "hs_code": "8542.31", "value": 95000, "currency": "USD", "origin_country": "TW"},
        ],
    })  # fmt: skip
    decision = screener.screen(seed).decision.as_dict()
    assert decision["decision"] == "hold"
    rules = {f["rule_id"]: f for f in decision["findings"]}
    assert {"drones-ru-by", "dual-use-chpl-high-tier-ru-by", "destination-ru-by-listed-goods",
            "profile-activity-mismatch", "linked-parties-listed-goods"} <= set(rules)  # fmt: skip
    assert rules["drones-ru-by"]["item_line"] == 1 and rules["drones-ru-by"]["evidence"]["item_lines"] == [1, 2]
    assert rules["profile-activity-mismatch"]["item_line"] == 3
    # on an export the domestic party whose profile is judged is the exporter
    mismatch = rules["profile-activity-mismatch"]["evidence"]["item.domestic_party_activity_covers"]
    assert mismatch["activity_codes"] == ["24.10", "46.72", "01.61", "84.25"] and mismatch["covering"] == []
    assert mismatch["role"] == "exporter"
    link = rules["linked-parties-listed-goods"]["evidence"]["parties.linked"]
    (person,) = link["shared_persons"]
    assert person["person"] == "Гольдберг Илья Маркович" and person["consignee_person"] == "Goldberg Ilya"
    assert (person["exporter_role"], person["consignee_role"]) == ("founder", "director")
    assert link["exporter"] == "ТОО «Аспан Арба»" and link["consignee"] == "ООО «Небесная механика»"
    assert decision["score"] == sum(f["score"] for f in decision["findings"])  # once per rule
    assert decision["ruleset_version"].startswith("sha256:")
    assert decision["screened_at"].endswith("Z")


def test_a_rule_counts_once_per_declaration(screener: Screener) -> None:
    fifty = decl(DALA, HARBIN, "CN", *["854231"] * 1, items=[{"line": n, "hs_code": "854231"} for n in range(1, 51)])
    decision = screener.screen(fifty).decision.as_dict()
    assert [f["rule_id"] for f in decision["findings"]] == ["profile-activity-mismatch"]
    assert decision["score"] == 40 and decision["decision"] == "inspect"


def test_test_rules_never_change_the_decision(screener: Screener) -> None:
    unknown = decl({"name": "Nobody Known Ltd", "country": "KZ"}, HARBIN, "CN", "1001.99")
    decision = screener.screen(unknown).decision.as_dict()
    assert decision["decision"] == "release" and decision["findings"] == []
    assert [f["rule_id"] for f in decision["test_findings"]] == ["profile-unknown-exporter-any-goods"]


def test_policy_floors_thresholds_and_overrides() -> None:
    policy = Policy(inspect_at=40, hold_at=100, floors={"quiet": "release"})
    assert policy.decide([]) == ("release", 0)
    assert policy.decide([("a", "inspect", 10)]) == ("inspect", 10)  # the action is a floor
    assert policy.decide([("a", "hold", 1)]) == ("hold", 1)
    assert policy.decide([("quiet", "inspect", 10)]) == ("release", 10)  # floor overridden
    assert policy.decide([("quiet", "inspect", 45)]) == ("inspect", 45)
    assert policy.decide([("a", "inspect", 60), ("b", "inspect", 40)]) == ("hold", 100)  # adds up
