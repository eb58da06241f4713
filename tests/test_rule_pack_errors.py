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

from customs_rules import officer_cli
from customs_rules.api import default_rules_dir
from customs_rules.cli import main
from customs_rules.rules import parse_pack
from customs_rules.storage import DecisionRecord, DeclarationRecord, Store
from customs_rules.validators import validate_pack

GOOD = {
    "declaration_id": "D-1",
    "date": "2024-01-15",
    "exporter": {"name": "Dala Grain LLP", "country": "KZ"},
    "consignee": {"name": "Harbin Grain Import Co"},
    "dispatch_country": "KZ",
    "destination_country": "CN",
    "items": [{"hs_code": "1001.99", "value": 100}],
}
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
    ("registry", "match"): ["Dala Grain"],
    ("submit",): ["{decl}"],
    ("rescreen",): [],
    ("screen",): ["{decl}"],
}


def test_every_command_taking_rules_is_covered() -> None:
    assert commands_taking_rules(main) == set(INVOCATIONS)


@pytest.mark.parametrize("command", sorted(INVOCATIONS))
def test_every_command_refuses_a_broken_pack_first(
    command: tuple[str, ...], sqlite_url: str, broken: Path, declaration: str
) -> None:
    # a declaration already stored: `submit` must not answer it from the store, `rescreen`
    # must not touch it
    assert run(sqlite_url, "-q", "submit", declaration, "--format", "json").exit_code == 0
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
