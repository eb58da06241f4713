"""Profile rules judge the domestic party: the exporter on export and re-export, the
consignee on import, nobody on transit (issue #12, item 1.5)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from customs_rules.cli.base import main
from customs_rules.contract.models import Declaration
from customs_rules.contract.registry_rows import CompanyRecord
from customs_rules.engine.enrichment import enrich
from customs_rules.entities.registry import RegistryIndex
from customs_rules.rules.model import RulePack
from customs_rules.workflow.screener import Screener

PROFILE = {"profile-activity-mismatch", "profile-new-company", "profile-unknown-exporter"}

AGRO = {"name": "Qazaq Agro LLP", "id": "100540000001", "country": "KZ"}  # farming: 01.11, 46.21
CHIPS = {"name": "Almaty Chip Distribution LLP", "id": "120340000002", "country": "KZ"}  # electronics: 46.52
NEW = {"name": "Jana Trade LLP", "id": "230340000003", "country": "KZ"}  # electronics, registered 2023
TOOLS = {"name": "Werkzeugmaschinen Bayern GmbH", "id": "DE100", "country": "DE"}  # machine tools: 28.41
DRONES = {"name": "Shenzhen Drone Works Co", "id": "CN300", "country": "CN"}  # aircraft: 30.30
FOREIGN_UNKNOWN = {"name": "Guangzhou Anonymous Chips Co", "country": "CN"}  # in no Kazakh registry
LOCAL_UNKNOWN = {"name": "Nobody Imports LLP", "country": "KZ"}
BUYER_UNKNOWN = {"name": "Tashkent Unknown Buyer MChJ", "country": "UZ"}


@pytest.fixture(scope="module")
def screener(pack: RulePack) -> Screener:
    rows = [
        ("100540000001", "Qazaq Agro LLP", "KZ", "2010-04-01", "01.11;46.21"),
        ("120340000002", "Almaty Chip Distribution LLP", "KZ", "2012-03-01", "46.52"),
        ("230340000003", "Jana Trade LLP", "KZ", "2023-03-01", "46.52"),
        ("DE100", "Werkzeugmaschinen Bayern GmbH", "DE", "1990-01-01", "28.41"),
        ("CN300", "Shenzhen Drone Works Co", "CN", "2015-01-01", "30.30"),
    ]
    companies = [
        CompanyRecord.model_validate(
            {"company_id": i, "name": n, "country": c, "registered_on": r, "activity_codes": a, "aliases": ""}
        )
        for i, n, c, r, a in rows
    ]
    return Screener(pack, RegistryIndex(companies, [], []))


def declaration(
    procedure: str, exporter: dict[str, Any], consignee: dict[str, Any], hs: str, route: tuple[str, str]
) -> Declaration:
    return Declaration.model_validate({
        "declaration_id": f"DP-{procedure}-{hs}", "date": "2024-05-02", "procedure": procedure,
        "exporter": exporter, "consignee": consignee, "dispatch_country": route[0],
        "destination_country": route[1], "items": [{"line": 1, "hs_code": hs, "value": 5000, "currency": "USD"}],
    })  # fmt: skip


INTO_KZ, OUT_OF_KZ = ("CN", "KZ"), ("KZ", "UZ")

# (case, procedure, exporter, consignee, HS code, route, the profile rules that must fire)
CASES = [
    # before: inspected as an "unknown exporter", the foreign supplier; the importer deals in chips
    ("chips imported from an ordinary foreign supplier", "import", FOREIGN_UNKNOWN, CHIPS, "854231", INTO_KZ, set()),
    # before: released, the German toolmaker's profile covers the machines; the farm's does not
    ("a farm imports CNC machining centres", "import", TOOLS, AGRO, "845710", ("DE", "KZ"),
     {"profile-activity-mismatch"}),
    ("a farm imports drones", "import", DRONES, AGRO, "880621", INTO_KZ, {"profile-activity-mismatch"}),
    ("a company registered in 2023 imports chips", "import", FOREIGN_UNKNOWN, NEW, "854231", INTO_KZ,
     {"profile-new-company"}),
    ("an importer unknown to the registry buys chips", "import", DRONES, LOCAL_UNKNOWN, "854231", INTO_KZ,
     {"profile-unknown-exporter"}),
    ("an importer's ordinary goods", "import", FOREIGN_UNKNOWN, LOCAL_UNKNOWN, "100199", INTO_KZ, set()),
    # exports judge the exporter, as before
    ("a farm exports chips", "export", AGRO, BUYER_UNKNOWN, "854231", OUT_OF_KZ, {"profile-activity-mismatch"}),
    ("an unknown exporter ships chips", "export", LOCAL_UNKNOWN, BUYER_UNKNOWN, "854231", OUT_OF_KZ,
     {"profile-unknown-exporter"}),
    ("a chip distributor exports to an unknown buyer", "export", CHIPS, BUYER_UNKNOWN, "854231", OUT_OF_KZ, set()),
    ("a new company exports chips", "export", NEW, BUYER_UNKNOWN, "854231", OUT_OF_KZ, {"profile-new-company"}),
    ("a farm re-exports drones", "re-export", AGRO, BUYER_UNKNOWN, "880621", OUT_OF_KZ,
     {"profile-activity-mismatch"}),
    ("a re-export to a known foreign firm by an unknown exporter", "re-export", LOCAL_UNKNOWN, TOOLS, "854231",
     ("KZ", "DE"), {"profile-unknown-exporter"}),
    # transit: no domestic party, whoever the foreign parties are
    ("chips in transit between unknown foreign firms", "transit", FOREIGN_UNKNOWN, BUYER_UNKNOWN, "854231",
     ("CN", "UZ"), set()),
    ("drones in transit from a drone maker to a farm", "transit", DRONES, AGRO, "880621", ("CN", "UZ"), set()),
]  # fmt: skip


@pytest.mark.parametrize(("case", "procedure", "exporter", "consignee", "hs", "route", "expected"), CASES,
                         ids=[c[0] for c in CASES])  # fmt: skip
def test_profile_rules_judge_the_domestic_party(
    screener: Screener, case: str, procedure: str, exporter: dict[str, Any], consignee: dict[str, Any],
    hs: str, route: tuple[str, str], expected: set[str],
) -> None:  # fmt: skip
    decision = screener.screen(declaration(procedure, exporter, consignee, hs, route)).decision.as_dict()
    fired = {f["rule_id"] for f in decision["findings"]} & PROFILE
    assert fired == expected, (case, decision["findings"])


def test_the_evidence_names_the_importer_and_its_activities(screener: Screener) -> None:
    decision = screener.screen(declaration("import", TOOLS, AGRO, "845710", ("DE", "KZ"))).decision.as_dict()
    assert decision["decision"] == "inspect"
    (finding,) = [f for f in decision["findings"] if f["rule_id"] == "profile-activity-mismatch"]
    covers = finding["evidence"]["item.domestic_party_activity_covers"]
    assert covers["value"] is False and covers["role"] == "consignee"
    assert covers["activity_codes"] == ["01.11", "46.21"] and covers["covering"] == []
    assert covers["why"] == "none of the activities 01.11, 46.21 covers HS 845710"
    unknown = screener.screen(declaration("import", DRONES, LOCAL_UNKNOWN, "854231", INTO_KZ)).decision.as_dict()
    (finding,) = [f for f in unknown["findings"] if f["rule_id"] == "profile-unknown-exporter"]
    known = finding["evidence"]["domestic_party.known"]
    assert known["value"] is False and (known["role"], known["procedure"]) == ("consignee", "import")
    assert finding["title"] == "Domestic party unknown to the registry trades listed goods"


def test_the_test_rule_counts_unknown_importers_not_foreign_suppliers(screener: Screener) -> None:
    supplier = screener.screen(declaration("import", FOREIGN_UNKNOWN, CHIPS, "100199", INTO_KZ)).decision.as_dict()
    assert supplier["test_findings"] == []
    importer = screener.screen(declaration("import", CHIPS, LOCAL_UNKNOWN, "100199", INTO_KZ)).decision.as_dict()
    assert [f["rule_id"] for f in importer["test_findings"]] == ["profile-unknown-exporter-any-goods"]


PARTIES = [AGRO, CHIPS, NEW, TOOLS, DRONES, FOREIGN_UNKNOWN, LOCAL_UNKNOWN]


@given(
    procedure=st.sampled_from(["export", "import", "re-export", "transit"]),
    exporter=st.sampled_from(PARTIES),
    consignee=st.sampled_from(PARTIES),
    hs=st.sampled_from(["854231", "845710", "880621", "100199"]),
)
def test_domestic_facts_are_the_right_partys_own(
    screener: Screener, procedure: str, exporter: dict[str, Any], consignee: dict[str, Any], hs: str
) -> None:
    decl = declaration(procedure, exporter, consignee, hs, ("KZ", "UZ"))
    enriched = enrich(decl, screener.registry, screener.pack.reference)
    (facts,) = enriched.items
    role = {"export": "exporter", "re-export": "exporter", "import": "consignee"}.get(procedure)
    assert facts["domestic_party.role"] == role
    for key in ("name", "id", "known", "registered_on"):
        assert facts[f"domestic_party.{key}"] == (facts[f"{role}.{key}"] if role else None)
    if role is None:
        assert facts["item.domestic_party_activity_covers"] is None
    elif role == "exporter":
        assert facts["item.domestic_party_activity_covers"] == facts["item.exporter_activity_covers"]
    # exporter.* and consignee.* stay what they are, whatever the procedure
    assert facts["exporter.name"] == exporter["name"] and facts["consignee.name"] == consignee["name"]


def test_transit_evidence_says_there_is_no_domestic_party(screener: Screener) -> None:
    decl = declaration("transit", FOREIGN_UNKNOWN, BUYER_UNKNOWN, "854231", ("CN", "UZ"))
    enriched = enrich(decl, screener.registry, screener.pack.reference)
    assert enriched.items[0]["domestic_party.known"] is None
    assert enriched.details[0]["domestic_party.role"]["why"].startswith("a transit declaration has no domestic party")


def test_rules_fields_lists_the_domestic_party() -> None:
    result = CliRunner().invoke(main, ["rules", "fields"])
    assert result.exit_code == 0
    lines = {line.split()[0]: line for line in result.stdout.splitlines()}
    for name, kind in (("domestic_party.role", "text"), ("domestic_party.known", "bool"),
                       ("domestic_party.registered_on", "date"), ("item.domestic_party_activity_covers", "bool")):  # fmt: skip
        assert lines[name].split()[1] == kind and lines[name].endswith("(may be missing)")


BAD_RULE = """\
id: bad-domestic
title: Bad domestic rule
description: reads the domestic party with values of the wrong type
status: active
action: inspect
score: 10
conditions:
  all:
    - field: domestic_party.known
      equals: "no"
    - field: domestic_party.registered_on
      gt: 20220224
"""


def test_validators_type_check_the_domestic_fields(tmp_path: Path) -> None:
    import shutil

    from customs_rules.workflow.screener import default_rules_dir

    rules = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), rules)
    (rules / "profile" / "bad.yaml").write_text(BAD_RULE)
    result = CliRunner().invoke(main, ["rules", "validate", "--rules", str(rules)])
    assert result.exit_code == 2
    assert "rules/profile/bad.yaml:10, field domestic_party.known: rule bad-domestic: equals 'no': expected true " \
           "or false" in result.stderr  # fmt: skip
    assert "rules/profile/bad.yaml:12, field domestic_party.registered_on: rule bad-domestic: gt 20220224: " \
           "expected a text value" in result.stderr  # fmt: skip
