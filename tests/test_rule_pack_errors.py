"""A broken rule pack, whatever the command: refused first, every error at once, located.

Issue #12: 1.6 (every command that takes --rules checks the pack first), 5.2 (conditions
nested too deep are a located error, never a RecursionError), 6.5 (one `rules validate`
run reports the errors of every stage: parsing, validators, policy, engine limits).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result
from conftest import GOOD_DECLARATION as GOOD

from customs_rules.cli import officer as officer_cli
from customs_rules.cli.base import main
from customs_rules.rules.loader import parse_pack
from customs_rules.rules.validators import validate_pack
from customs_rules.store import DecisionRecord, DeclarationRecord, Store
from customs_rules.workflow.screener import default_rules_dir

BROKEN_AT = "rules/drones/drones.yaml:18, field item.hs_code: rule drones-ru-by: unknown list 'drone'"


def run(db: str, *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(main, ["--db", db, *args], input=input, catch_exceptions=False)


def counts(db: str) -> tuple[int, int]:
    store = Store(db)
    try:
        return store.count(DeclarationRecord), store.count(DecisionRecord)
    finally:
        store.close()


@pytest.fixture()
def broken(tmp_path: Path) -> Path:
    rules = tmp_path / "broken" / "rules"
    shutil.copytree(default_rules_dir(), rules)
    target = rules / "drones" / "drones.yaml"
    target.write_text(target.read_text().replace("in_list: [drones, drone_parts]", "in_list: [drone]", 1))
    return rules


@pytest.fixture()
def declaration(tmp_path: Path) -> str:
    path = tmp_path / "d.json"
    path.write_text(json.dumps(GOOD))
    return str(path)


def commands_taking_rules(group: click.Group, prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    found: set[tuple[str, ...]] = set()
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found |= commands_taking_rules(command, (*prefix, name))
        elif any(p.name == "rules_dir" for p in command.params):
            found.add((*prefix, name))
    return found


# each command that takes --rules, with the arguments it needs ({decl}: a declaration file)
INVOCATIONS = {
    ("rules", "validate"): [],
    ("rules", "list"): [],
    ("rules", "test"): [],
    ("rules", "publish"): ["--officer", "kz-042"],
    ("rules", "snooze"): ["profile-new-company", "--party", "190540218733", "--until", "2026-12-31", "--reason", "x"],
    ("registry", "match"): ["Dala Grain"],
    ("submit",): ["{decl}"],
    ("rescreen",): [],
    ("screen",): ["{decl}"],
    ("backtest",): [],  # the candidate pack: refused before the store is opened
}


def test_every_command_taking_rules_is_covered() -> None:
    assert commands_taking_rules(main) == set(INVOCATIONS)


@pytest.mark.parametrize("command", sorted(INVOCATIONS))
def test_every_command_refuses_a_broken_pack_first(
    command: tuple[str, ...], sqlite_url: str, broken: Path, declaration: str
) -> None:
    # a declaration already stored: `submit` must not answer it from the store, `rescreen`
    # must not touch it; and the pack is checked before the (empty) registry
    assert run(sqlite_url, "-q", "submit", declaration, "--format", "json", "--no-registry").exit_code == 0
    before = counts(sqlite_url)
    args = [a.replace("{decl}", declaration) for a in INVOCATIONS[command]]
    result = run(sqlite_url, *command, *args, "--rules", str(broken))
    assert result.exit_code == 2, result.output
    assert BROKEN_AT in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert counts(sqlite_url) == before


def test_submit_checks_the_pack_before_anything_is_read(
    sqlite_url: str, broken: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rejected = tmp_path / "bad.json"
    rejected.write_text(json.dumps(GOOD | {"date": "yesterday"}))
    result = run(sqlite_url, "submit", str(rejected), "--rules", str(broken))
    assert result.exit_code == 2 and BROKEN_AT in result.stderr and "yesterday" not in result.stderr
    # on a terminal, the officer is not asked field by field for a pack that cannot screen
    monkeypatch.setattr(officer_cli, "stdin_is_terminal", lambda: True)
    result = run(sqlite_url, "submit", "--rules", str(broken), input="")
    assert result.exit_code == 2 and BROKEN_AT in result.stderr and result.stdout == ""


RULE = """\
id: {id}
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
    - {{item.hs_code: "880621", declaration.destination_country: RU}}
"""


def line(text: str, needle: str) -> int:
    """The 1-based line of the first line holding `needle`."""
    return next(n for n, row in enumerate(text.splitlines(), 1) if needle in row)


def copy_pack(tmp_path: Path) -> Path:
    rules = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), rules)
    (rules / "extra").mkdir()
    return rules


def errors_of(directory: Path) -> list[str]:
    pack, errors = parse_pack(directory)
    errors += validate_pack(pack)
    return [str(e) for e in errors]


def nested(kind: str, levels: int, flow: bool) -> str:
    """`conditions:` holding `levels` all/any/not groups around one field test."""
    leaf = "{field: item.value, gt: 1}"
    if flow:
        opening = "{not: " if kind == "not" else f"{{{kind}: ["
        closing = "}" if kind == "not" else "]}"
        return "conditions: " + opening * levels + leaf + closing * levels + "\n"
    rows, indent = ["conditions:"], "  "
    for _ in range(levels):
        rows.append(f"{indent}{kind}:")
        indent += "  "
        if kind != "not":
            rows.append(f"{indent}-")
            indent += "  "
    rows[-1] += " " + leaf if kind != "not" else ""
    if kind == "not":
        rows.append(f"{indent}field: item.value\n{indent}gt: 1")
    return "\n".join(rows) + "\n"


HEAD = RULE.split("conditions:")[0]


@pytest.mark.parametrize("kind", ["all", "not"])
@pytest.mark.parametrize("levels", [33, 1_000])
def test_deep_block_conditions_are_a_located_error(tmp_path: Path, kind: str, levels: int) -> None:
    rules = copy_pack(tmp_path)
    (rules / "extra" / "deep.yaml").write_text(HEAD.format(id="deep") + nested(kind, levels, flow=False))
    (error,) = errors_of(rules)
    assert error.startswith("rules/extra/deep.yaml:"), error
    assert "nest" in error and "32" in error


@pytest.mark.parametrize("kind", ["all", "any", "not"])
@pytest.mark.parametrize("levels", [33, 1_000, 100_000])
def test_deep_flow_conditions_are_a_located_error(tmp_path: Path, sqlite_url: str, kind: str, levels: int) -> None:
    rules = copy_pack(tmp_path)
    (rules / "extra" / "deep.yaml").write_text(HEAD.format(id="deep") + nested(kind, levels, flow=True))
    (error,) = errors_of(rules)
    assert error.startswith(f"rules/extra/deep.yaml:{line(HEAD, 'score') + 1}"), error
    result = run(sqlite_url, "rules", "validate", "--rules", str(rules))
    assert result.exit_code == 2 and "Traceback" not in result.stderr and "RecursionError" not in result.stderr


@pytest.mark.parametrize("levels", [1_000, 100_000])
def test_deep_flow_lists_are_a_located_error(tmp_path: Path, levels: int) -> None:
    rules = copy_pack(tmp_path)
    text = HEAD.format(id="deep") + "conditions: {all: " + "[" * levels + "]" * levels + "}\n"
    (rules / "extra" / "deep.yaml").write_text(text)
    (rules / "lists" / "deep.yaml").write_text("kind: hs_list\nentries: " + "[" * levels + "]" * levels + "\n")
    errors = errors_of(rules)
    assert len(errors) == 2 and all("nested deeper than 100 levels" in e for e in errors), errors
    assert {e.split(":")[0] for e in errors} == {"rules/extra/deep.yaml", "rules/lists/deep.yaml"}


def test_thirty_two_levels_still_load(tmp_path: Path) -> None:
    rules = copy_pack(tmp_path)
    text = HEAD.format(id="deep") + nested("all", 32, flow=False) + "examples:\n  fire:\n    - {item.value: 5}\n"
    (rules / "extra" / "deep.yaml").write_text(text)
    assert errors_of(rules) == []


def test_rules_built_in_memory_past_the_cap_are_refused(tmp_path: Path) -> None:
    from customs_rules.contract.errors import RuleError
    from customs_rules.engine.compiler import compile_pack
    from customs_rules.rules.loader import load_pack
    from customs_rules.rules.model import Leaf, Node, RulePack

    pack = load_pack(default_rules_dir())
    condition: Leaf | Node = Leaf("item.value", "gt", 1)
    for _ in range(5_000):
        condition = Node("not", (condition,))
    rule = pack.rules[0]
    deep = type(rule)(**{**rule.__dict__, "id": "deep", "condition": condition})
    built = RulePack([*pack.rules, deep], pack.reference, pack.policy_doc, pack.directory)
    (error,) = [str(e) for e in validate_pack(built)]
    assert "rule deep: conditions nest 5000 all/any/not levels; at most 32" in error
    with pytest.raises(RuleError):
        compile_pack([deep], pack.reference)


def test_one_run_reports_every_error_of_every_stage(tmp_path: Path, sqlite_url: str) -> None:
    rules = copy_pack(tmp_path)
    expected: list[tuple[str, int, str]] = []

    def add(name: str, text: str, *wanted: tuple[str, str]) -> None:
        path = rules / name
        path.write_text(text)
        expected.extend((f"rules/{name}", line(text, needle), message) for needle, message in wanted)

    # the example: a bad action hid the unknown groups until it was fixed
    hodl = (
        RULE.format(id="hodl")
        .replace("action: inspect", "action: hodl")
        .replace(
            "    - field: declaration.destination_country\n      equals: RU",
            "    - field: declaration.destination_country\n      in_group: [nowhere]\n"
            "    - field: declaration.dispatch_country\n      in_group: [elsewhere]",
        )
    )
    add("extra/hodl.yaml", hodl, ("action: hodl", "action must be one of hold, inspect"),
        ("[nowhere]", "unknown country group 'nowhere'"), ("[elsewhere]", "unknown country group 'elsewhere'"))  # fmt: skip
    # parsing errors and validator errors in one rule, and a rule missing keys
    mixed = (
        RULE.format(id="mixed")
        .replace("score: 10", "score: -1\nseverity: high")
        .replace("item.hs_code\n      in_list", "item.hscode\n      in_list")
    )
    add("extra/mixed.yaml", mixed, ("score: -1", "score must be a number >= 0"),
        ("severity", "unknown key 'severity'"), ("item.hscode", "unknown field 'item.hscode'"))  # fmt: skip
    untitled = RULE.format(id="untitled").replace("title: A test rule\n", "").replace("equals: RU", "equals: Russia")
    add("extra/untitled.yaml", untitled, ("id: untitled", "missing required key 'title'"),
        ("equals: Russia", "unknown country 'Russia'"))  # fmt: skip
    # a syntax error, an engine limit, a rule nested too deep, a duplicate id
    syntax = RULE.format(id="syntax").replace("score: 10", "score: [10")
    add("extra/syntax.yaml", syntax, ("conditions:", "YAML syntax"))  # where PyYAML finds the flow unclosed
    wide = RULE.format(id="wide").replace("      equals: RU", "      in: [" + ", ".join(["AM", "AZ", "GE"] * 23) + "]")
    add("extra/wide.yaml", wide, ("id: wide", "expands to 69 alternative paths"))
    deep = HEAD.format(id="deep") + nested("not", 40, flow=False)
    add("extra/deep.yaml", deep, ("  " * 33 + "not:", "nest deeper than 32"))  # the 33rd level
    add("extra/dup.yaml", RULE.format(id="drones-ru-by"), ("id: drones-ru-by", "duplicate rule id 'drones-ru-by'"))
    # a reference list and the policy
    add("lists/bad.yaml", "kind: hs_list\nname: bad\nsource: test\nentries:\n  - {code: '88x'}\n",
        ("88x", "must be an HS prefix"))  # fmt: skip
    policy = (rules / "policy.yaml").read_text()
    policy = policy.replace("inspect: 40", "inspect: -1").replace("floors: {}", "floors: {no-such-rule: hold}")
    add("policy.yaml", policy, ("thresholds:", "threshold must be a number > 0"),
        ("floors:", "floor for unknown rule 'no-such-rule'"))  # fmt: skip

    result = run(sqlite_url, "rules", "validate", "--rules", str(rules))
    assert result.exit_code == 2
    reported = result.stderr
    missing = [f"{f}:{n} ... {m}" for f, n, m in expected if not any(
        row.strip().startswith(f"{f}:{n}") and m in row for row in reported.splitlines())]  # fmt: skip
    assert not missing, reported
    assert "Traceback" not in reported


def test_a_bad_policy_section_does_not_hide_the_others(tmp_path: Path) -> None:
    rules = copy_pack(tmp_path)
    policy = (rules / "policy.yaml").read_text()
    policy = policy.replace("thresholds:\n  inspect: 40\n  hold: 100", "thresholds: [40, 100]")
    policy = policy.replace("floors: {}", "floors: {no-such-rule: hold}\nseverity: high")
    (rules / "policy.yaml").write_text(policy)
    errors = errors_of(rules)
    wanted = ["thresholds must be a mapping", "floor for unknown rule 'no-such-rule'", "field severity: unknown key"]
    assert all(any(w in e and e.startswith("rules/policy.yaml:") for e in errors) for w in wanted), errors


def test_a_misshapen_group_is_still_checked_inside(tmp_path: Path) -> None:
    rules = copy_pack(tmp_path)
    text = (
        RULE.format(id="shared")
        .replace("  all:\n", "  field: item.value\n  all:\n")
        .replace("equals: RU", "in_group: [nowhere]")
    )
    (rules / "extra" / "shared.yaml").write_text(text)
    errors = errors_of(rules)
    assert any("'all' cannot share its mapping with: field" in e for e in errors), errors
    assert any(e.startswith(f"rules/extra/shared.yaml:{line(text, 'nowhere')}") for e in errors), errors
