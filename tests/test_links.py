"""Entity links between exporter and consignee: weak initials matches (issue #5)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from customs_rules.contract.models import Declaration
from customs_rules.contract.registry_rows import CompanyRecord, PersonRecord
from customs_rules.entities.registry import RegistryIndex
from customs_rules.rules.loader import parse_pack
from customs_rules.rules.model import RulePack
from customs_rules.rules.validators import validate_pack
from customs_rules.workflow.screener import Screener, default_rules_dir

EXPORTER = {"company_id": "100140000003", "name": "Kazakh Microelectronics LLP", "country": "KZ",
            "registered_on": "2010-01-20", "activity_codes": "46.52", "aliases": ""}  # fmt: skip
CONSIGNEE = {"company_id": "AE1", "name": "Gulf Electronics FZE", "country": "AE",
             "registered_on": "2012-01-01", "activity_codes": "46.52", "aliases": ""}  # fmt: skip


def registry(*people: tuple[str, str, str]) -> RegistryIndex:
    companies = [CompanyRecord.model_validate(c) for c in (EXPORTER, CONSIGNEE)]
    rows = [PersonRecord.model_validate({"company_id": c, "person_name": n, "role": r}) for c, n, r in people]
    return RegistryIndex(companies, rows, [])


def declaration(hs: str = "854231") -> Declaration:
    return Declaration.model_validate({
        "declaration_id": "W-1", "date": "2024-03-01",
        "exporter": {"name": "Kazakh Microelectronics LLP", "country": "KZ"},
        "consignee": {"name": "Gulf Electronics FZE", "country": "AE"},
        "dispatch_country": "KZ", "destination_country": "AE",
        "items": [{"hs_code": hs, "value": 1000, "currency": "USD"}],
    })  # fmt: skip


def screen(pack: RulePack, index: RegistryIndex, hs: str = "854231") -> tuple[dict[str, Any], dict[str, Any]]:
    screening = Screener(pack, index).screen(declaration(hs))
    return screening.decision.as_dict(), screening.facts[0]


# (exporter's person, consignee's person, weak link expected): labelled initials cases
INITIALS_CASES = [
    ("Goldberg I. M.", "Гольдберг Илья Маркович", True),
    ("Goldberg I. M.", "Ilya Goldberg", True),
    ("Гольдберг И. М.", "Iliá Goldberg", True),
    ("Goldberg I.", "Goldberg Igor", True),  # cannot tell Ilya from Igor: that is why it is weak
    ("Shaposhnikov M. A.", "Шапошников Михаил Андреевич", True),
    ("Ахметов Р.", "Ruslan Akhmetov", True),
    ("Goldberg I. M.", "Goldman Ilya", False),  # the surname differs
    ("Goldberg I. M.", "Goldberg Pavel", False),  # the initials differ
    ("I. M.", "Ilya Markov", False),  # initials alone name nobody
    ("Bekova A.", "Aigerim Bekov", False),  # masculine/feminine forms are not one person
]


@pytest.mark.parametrize(("a", "b", "weak"), INITIALS_CASES)
def test_initials_only_persons_make_a_weak_link(pack: RulePack, a: str, b: str, weak: bool) -> None:
    decision, facts = screen(pack, registry(("100140000003", a, "director"), ("AE1", b, "founder")))
    assert facts["parties.linked"] is False
    assert facts["parties.linked_weak"] is weak
    rules = [f["rule_id"] for f in decision["findings"]]
    assert rules == (["linked-parties-initials-listed-goods"] if weak else [])


def test_weak_link_evidence_is_marked_and_never_holds_on_its_own(pack: RulePack) -> None:
    index = registry(("100140000003", "Goldberg I. M.", "director"), ("AE1", "Гольдберг Илья Маркович", "founder"))
    decision, _ = screen(pack, index)
    assert decision["decision"] == "inspect" and decision["score"] == 30
    (finding,) = decision["findings"]
    evidence = finding["evidence"]["parties.linked_weak"]
    assert evidence["exporter"] == "Kazakh Microelectronics LLP" and evidence["consignee"] == "Gulf Electronics FZE"
    (person,) = evidence["shared_persons"]
    assert person == {
        "person": "Goldberg I. M.", "exporter_role": "director",
        "consignee_person": "Гольдберг Илья Маркович", "consignee_role": "founder", "score": 0.8,
        "method": "initials",
        "why": "tokens 'goldberg'~'goldberg' 1.00, 'i'~'ilya' 0.80, 'm'~'markovich' 0.80; initials only",
    }  # fmt: skip
    assert "cannot tell Ilya from Igor" in evidence["note"]
    ordinary, _ = screen(pack, index, "100199")
    assert ordinary["decision"] == "release"  # weak and ordinary goods: nothing to look at


def test_a_strong_link_is_not_downgraded_by_an_initials_match(pack: RulePack) -> None:
    index = registry(
        ("100140000003", "Goldberg I. M.", "director"), ("AE1", "Гольдберг Илья Маркович", "founder"),
        ("100140000003", "Ruslan Akhmetov", "beneficial_owner"), ("AE1", "Ахметов Руслан", "director"),
    )  # fmt: skip
    decision, facts = screen(pack, index)
    assert facts["parties.linked"] is True and facts["parties.shared_persons"] == 1
    assert facts["parties.linked_weak"] is False
    assert [f["rule_id"] for f in decision["findings"]] == ["linked-parties-listed-goods"]


def test_different_birth_dates_or_ids_rule_out_a_weak_link(pack: RulePack) -> None:
    companies = [CompanyRecord.model_validate(c) for c in (EXPORTER, CONSIGNEE)]
    people = [
        PersonRecord.model_validate({"company_id": "100140000003", "person_name": "Goldberg I. M.",
                                     "role": "director", "birth_date": "1970-01-01"}),
        PersonRecord.model_validate({"company_id": "AE1", "person_name": "Ilya Goldberg",
                                     "role": "director", "birth_date": "1980-01-01"}),
    ]  # fmt: skip
    _, facts = screen(pack, RegistryIndex(companies, people, []))
    assert facts["parties.linked_weak"] is False


@pytest.fixture()
def pack_dir(tmp_path: Path) -> Path:
    target = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), target)
    return target


WEAK_RULE = """\
id: weak-hold
title: Holds on initials
description: A rule that would hold on weak evidence.
status: active
action: {action}
score: {score}
conditions:
  field: parties.linked_weak
  equals: true
examples:
  fire:
    - {{parties.linked_weak: true}}
  no_fire:
    - {{parties.linked_weak: false}}
"""


@pytest.mark.parametrize(
    ("action", "score", "floor", "message"),
    [
        ("hold", 10, None, "rules/extra/weak.yaml:1, field action: rule weak-hold reads weak evidence"),
        ("inspect", 100, None, "its score must stay below the hold threshold 100"),
        ("inspect", 10, "hold", "rules/policy.yaml:"),
    ],
)
def test_weak_evidence_can_never_hold_on_its_own(
    pack_dir: Path, action: str, score: int, floor: str | None, message: str
) -> None:
    (pack_dir / "extra").mkdir()
    (pack_dir / "extra" / "weak.yaml").write_text(WEAK_RULE.format(action=action, score=score))
    if floor:
        policy = pack_dir / "policy.yaml"
        policy.write_text(policy.read_text().replace("floors: {}", f"floors: {{weak-hold: {floor}}}"))
    parsed, errors = parse_pack(pack_dir)
    (error,) = [str(e) for e in errors + validate_pack(parsed)]
    assert message in error and "must never hold on its own" in error


def test_the_default_pack_keeps_its_weak_rules_below_hold(pack: RulePack) -> None:
    from customs_rules.contract.facts import FIELDS

    weak = [r for r in pack.rules if any(FIELDS[f].weak for f in r.fields())]
    assert weak and all(r.action == "inspect" and r.score < 100 for r in weak)


def _person(company: str, name: str, **extra: str) -> PersonRecord:
    return PersonRecord.model_validate({"company_id": company, "person_name": name, "role": "director"} | extra)


# (exporter's person, consignee's person, what both rows add, linked, weak): issue #12, 1.4
INITIALS_WITH_EVIDENCE = [
    ("Petrenko O. N.", "Петренко Олег Николаевич", {"birth_date": "1975-03-02"}, {"birth_date": "1975-03-02"},
     True, False),
    ("Petrenko O. N.", "Oleg Petrenko", {"person_id": "750302300123"}, {"person_id": "750302300123"}, True, False),
    ("Goldberg I. M.", "Гольдберг Илья Маркович", {"birth_date": "1970-01-01"}, {"birth_date": "1970-01-01"},
     True, False),
    # the surname ends in the initial's letter, and the full name has no patronymic
    ("Petrenko O. N.", "Petrenko Oleg", {"birth_date": "1975-03-02"}, {"birth_date": "1975-03-02"}, True, False),
    ("Petrenko O. N.", "Petrenko Oleg", {}, {}, False, True),
    # different birth dates or ids are never one person; a date on one side only stays weak
    ("Petrenko O. N.", "Петренко Олег Николаевич", {"birth_date": "1975-03-02"}, {"birth_date": "1975-03-03"},
     False, False),
    ("Petrenko O. N.", "Oleg Petrenko", {"person_id": "750302300123"}, {"person_id": "750302300124"}, False, False),
    ("Petrenko O. N.", "Петренко Олег Николаевич", {"birth_date": "1975-03-02"}, {}, False, True),
    # the same birth date does not make different surnames one person
    ("Petrenko O. N.", "Петров Олег Николаевич", {"birth_date": "1975-03-02"}, {"birth_date": "1975-03-02"},
     False, False),
]  # fmt: skip


@pytest.mark.parametrize(("a", "b", "extra_a", "extra_b", "linked", "weak"), INITIALS_WITH_EVIDENCE)
def test_initials_with_the_same_birth_date_or_id_are_one_person(
    pack: RulePack, a: str, b: str, extra_a: dict[str, str], extra_b: dict[str, str], linked: bool, weak: bool
) -> None:
    companies = [CompanyRecord.model_validate(c) for c in (EXPORTER, CONSIGNEE)]
    people = [_person("100140000003", a, **extra_a), _person("AE1", b, **extra_b)]
    decision, facts = screen(pack, RegistryIndex(companies, people, []))
    assert facts["parties.linked"] is linked
    assert facts["parties.linked_weak"] is weak
    assert (facts["parties.link_path_length"] == 1) is linked
    rules = [f["rule_id"] for f in decision["findings"]]
    assert ("linked-parties-listed-goods" in rules) is linked
    assert ("linked-parties-initials-listed-goods" in rules) is weak


def test_initials_and_birth_date_evidence_says_how_the_person_was_matched(pack: RulePack) -> None:
    companies = [CompanyRecord.model_validate(c) for c in (EXPORTER, CONSIGNEE)]
    people = [
        _person("100140000003", "Petrenko O. N.", birth_date="1975-03-02"),
        _person("AE1", "Петренко Олег Николаевич", birth_date="1975-03-02"),
    ]
    decision, _ = screen(pack, RegistryIndex(companies, people, []))
    (finding,) = [f for f in decision["findings"] if f["rule_id"] == "linked-parties-listed-goods"]
    (person,) = finding["evidence"]["parties.linked"]["shared_persons"]
    assert person["method"] == "initials+birth_date" and person["score"] == 1.0
    assert person["why"].endswith("initials only; same birth date")
