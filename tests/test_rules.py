"""The rule loader and validators: located errors, all of them, and nothing half-loaded."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from customs_rules.contract.errors import RuleError
from customs_rules.engine.examples import run_examples
from customs_rules.rules.loader import load_pack, parse_pack
from customs_rules.rules.model import RulePack, Status
from customs_rules.rules.validators import validate_pack
from customs_rules.workflow.screener import default_rules_dir

GOOD = """\
id: test-rule
title: A test rule
description: Fires on drones to Russia.
status: active
action: inspect
score: 10
conditions:
  all:
    - field: item.hs_code
      in_list: drones
    - field: declaration.destination_country
      equals: RU
examples:
  fire:
    - {item.hs_code: "880621", declaration.destination_country: RU}
  no_fire:
    - {item.hs_code: "100199", declaration.destination_country: RU}
"""


@pytest.fixture()
def pack_dir(tmp_path: Path) -> Path:
    target = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), target)
    return target


def errors_of(directory: Path) -> list[str]:
    pack, errors = parse_pack(directory)
    errors += validate_pack(pack)
    return [str(e) for e in errors]


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / "extra" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return path


def test_default_pack_is_valid_and_every_example_passes(pack: RulePack) -> None:
    assert validate_pack(pack) == []
    results = run_examples(pack)
    assert results and all(r.passed for r in results), [r.describe() for r in results if not r.passed]


def test_default_pack_families_and_examples(pack: RulePack) -> None:
    families = {r.family for r in pack.rules}
    assert {"dual-use", "drones", "destination", "profile", "linked-parties", "watchlist"} <= families
    for rule in pack.rules:
        assert len(rule.examples) >= 2, rule.id
        assert rule.references and all(str(r).strip() for r in rule.references), f"{rule.id} names no source"
        assert any(e.expect_fire for e in rule.examples) and any(not e.expect_fire for e in rule.examples)
    assert any(r.status is Status.TEST for r in pack.rules)


def test_the_readme_says_why_each_default_rule_in_test_status_is_there(pack: RulePack) -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    start = readme.index("**Rules in `test` status**")
    section = readme[start : min(readme.index("\n- ", start), readme.index("\n\n", start))]  # its bullet
    for rule in pack.rules:
        assert (f"`{rule.id}`" in section) == (rule.status is Status.TEST), rule.id


def test_a_good_extra_rule_loads(pack_dir: Path) -> None:
    write(pack_dir, "good.yaml", GOOD)
    assert errors_of(pack_dir) == []


def test_numbers_in_rules_keep_their_precision(pack_dir: Path) -> None:
    # a net mass under 10 mg: the engine parses no exponent, and rules need none
    small = (
        GOOD.replace("id: test-rule", "id: extra-tiny-mass")
        .replace(
            "    - field: declaration.destination_country\n      equals: RU",
            "    - field: item.net_mass_kg\n      lt: 0.00001",
        )
        .replace("declaration.destination_country: RU}", "item.net_mass_kg: 0.000005}")
    )
    write(pack_dir, "tiny.yaml", small)
    assert errors_of(pack_dir) == []
    pack = load_pack(pack_dir)
    results = [r for r in run_examples(pack) if r.rule.id == "extra-tiny-mass"]
    assert results and all(r.passed for r in results), [r.describe() for r in results]


@pytest.mark.parametrize("written", ["20220224", "2022-W08-4"])
def test_dates_in_rules_are_written_yyyy_mm_dd(pack_dir: Path, written: str) -> None:
    # Python reads both as dates; the engine would compare 20220224 as 202222
    rule = GOOD.replace(
        "    - field: declaration.destination_country\n      equals: RU",
        f'    - field: exporter.registered_on\n      gt: "{written}"',
    )
    write(pack_dir, "dates.yaml", rule)
    errors = errors_of(pack_dir)
    assert any(f"date '{written}' must be written YYYY-MM-DD" in e for e in errors), errors


def test_yaml_syntax_error_is_located(pack_dir: Path) -> None:
    write(pack_dir, "broken.yaml", GOOD.replace("score: 10", "score: [10"))
    (error,) = errors_of(pack_dir)
    assert error.startswith("rules/extra/broken.yaml:")
    assert "YAML syntax" in error


@pytest.mark.parametrize(
    ("old", "new", "line", "message"),
    [
        ("score: 10", "score: 10\nseverity: high", 7, "unknown key 'severity'"),
        ("status: active", "status: live", 4, "status must be one of active, test, retired"),
        ("      in_list: drones", "      in_list: drone", 10, "unknown list 'drone'"),
        (
            "    - field: item.hs_code",
            "    - field: item.hscode",
            9,
            "unknown field 'item.hscode'; did you mean 'item.hs_code'?",
        ),
        ("      equals: RU", "      matches: RU", 11, "unknown operator 'matches'"),
        ("      equals: RU", "      equals: Russia", 12, "unknown country 'Russia'"),
        ("      equals: RU", "      gt: RU", 12, "operator 'gt' does not fit country field"),
        ("      in_list: drones", "      in_group: ru_by", 10, "operator 'in_group' does not fit hs field"),
        ("score: 10", "score: -1", 6, "score must be a number >= 0"),
    ],
)
def test_broken_rule_is_located(pack_dir: Path, old: str, new: str, line: int, message: str) -> None:
    assert old in GOOD
    write(pack_dir, "bad.yaml", GOOD.replace(old, new))
    errors = errors_of(pack_dir)
    assert len(errors) == 1, errors
    assert errors[0].startswith(f"rules/extra/bad.yaml:{line}"), errors[0]
    assert message in errors[0]


def test_all_errors_are_collected(pack_dir: Path) -> None:
    write(pack_dir, "a.yaml", GOOD.replace("status: active", "status: live"))
    write(pack_dir, "b.yaml", GOOD.replace("test-rule", "other").replace("equals: RU", "equals: XX"))
    errors = errors_of(pack_dir)
    assert len(errors) == 2
    assert errors[0].startswith("rules/extra/a.yaml:4") and errors[1].startswith("rules/extra/b.yaml:12")


def test_duplicate_ids_are_refused(pack_dir: Path) -> None:
    write(pack_dir, "dup.yaml", GOOD + "---\n" + GOOD)
    (error,) = errors_of(pack_dir)
    assert error.startswith("rules/extra/dup.yaml:19") and "duplicate rule id 'test-rule'" in error


def test_example_with_unknown_field_is_refused(pack_dir: Path) -> None:
    write(
        pack_dir,
        "ex.yaml",
        GOOD.replace("declaration.destination_country: RU}\n  no_fire", "destination: RU}\n  no_fire"),
    )
    (error,) = errors_of(pack_dir)
    assert "example sets unknown field 'destination'" in error


def test_packs_past_engine_limits_are_refused(pack_dir: Path) -> None:
    countries = ["AM", "AZ", "GE", "TR", "AE", "CN", "IN", "UZ", "KG", "TJ"] * 7
    many = "      in: [" + ", ".join(countries) + "]"
    write(pack_dir, "wide.yaml", GOOD.replace("      equals: RU", many))
    (error,) = errors_of(pack_dir)
    assert "expands to 70 alternative paths; the engine allows 64" in error
    assert error.startswith("rules/extra/wide.yaml:1")


def test_too_many_groups_are_refused(pack_dir: Path) -> None:
    leaf = "{field: item.value, gt: 1}"
    nested = leaf
    for i in range(16):
        nested = f"{{{'all' if i % 2 else 'any'}: [{nested}, {{field: item.value, lt: {i}}}]}}"
    text = GOOD.split("conditions:")[0] + f"conditions: {nested}\n"
    write(pack_dir, "deep.yaml", text)
    errors = errors_of(pack_dir)
    assert any("all/any groups after compiling; the engine allows 15" in e for e in errors), errors


def test_broken_pack_is_refused_whole(pack_dir: Path) -> None:
    write(pack_dir, "bad.yaml", GOOD.replace("status: active", "status: live"))
    with pytest.raises(RuleError) as info:
        load_pack(pack_dir)
    assert "nothing was evaluated" in str(info.value)


def test_rule_files_cannot_construct_python_objects(pack_dir: Path) -> None:
    write(pack_dir, "evil.yaml", GOOD.replace("title: A test rule", "title: !!python/object/apply:os.system ['true']"))
    (error,) = errors_of(pack_dir)
    assert error.startswith("rules/extra/evil.yaml:2") and "YAML syntax" in error


def test_policy_errors_are_located(pack_dir: Path) -> None:
    policy = pack_dir / "policy.yaml"
    policy.write_text(policy.read_text().replace("floors: {}", "floors: {no-such-rule: hold}"))
    (error,) = errors_of(pack_dir)
    assert error.startswith("rules/policy.yaml:") and "floor for unknown rule 'no-such-rule'" in error


def test_reference_list_errors_are_located(pack_dir: Path) -> None:
    groups = pack_dir / "lists" / "country_groups.yaml"
    groups.write_text(groups.read_text().replace("[RU, BY]", "[RU, XY]"))
    (error,) = errors_of(pack_dir)
    assert error.startswith("rules/lists/country_groups.yaml:") and "unknown country 'XY'" in error


@pytest.mark.parametrize(
    ("target", "old", "new", "message"),
    [
        (
            "extra/x.yaml",
            None,
            GOOD.replace('  fire:\n    - {item.hs_code: "880621", declaration.destination_country: RU}', "  fire: 5"),
            "examples.fire must be a list",
        ),
        ("extra/x.yaml", None, GOOD.replace("score: 10", "score: .nan"), "score must be a number >= 0"),
        ("extra/x.yaml", None, GOOD.replace("id: test-rule", "id: [a, b]"), "id must be plain text"),
        (
            "extra/x.yaml",
            None,
            GOOD.replace("score: 10", "score: 10\nvalid_from: '2025-01-01'\nvalid_until: '2024-01-01'"),
            "never in force",
        ),
        ("policy.yaml", "floors: {}", "floors: [a]", "floors must be a mapping"),
        ("lists/country_groups.yaml", "groups:\n", "groups: [a, b]\nold_groups:\n", "groups must be a mapping"),
        ("lists/activity_goods.yaml", '"01.61": ["8806", "880730"]', '"01.61": 85', "each activity maps to a list"),
    ],
)
def test_wrong_shapes_in_pack_files_are_located(
    pack_dir: Path, target: str, old: str | None, new: str, message: str
) -> None:
    path = pack_dir / target
    path.parent.mkdir(exist_ok=True)
    path.write_text(new if old is None else path.read_text().replace(old, new))
    errors = errors_of(pack_dir)
    assert any(e.startswith(f"rules/{target}:") and message in e for e in errors), errors
