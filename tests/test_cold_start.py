"""`--help` and argument errors answer without importing the heavy layers.

Each check runs in a fresh interpreter (a subprocess), so modules that other tests
imported do not hide a regression. No timing here: benchmarks/bench_cold_start.py
measures the time, this test only holds what makes it short.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

HEAVY = ("sqlalchemy", "sqlmodel", "durable_rules", "durable_rules_engine", "polars", "pydantic", "alembic")

# runs the CLI in-process on the given argument lists, then prints which heavy top-level
# packages got imported, and the exit code of each run
PROBE = """
import json, sys
from customs_rules.cli import main

codes = []
for args in json.loads(sys.argv[1]):
    try:
        main(args, prog_name="customs-rules")
    except SystemExit as exit:
        codes.append(exit.code)
heavy = sorted({name.split(".")[0] for name in sys.modules} & set(json.loads(sys.argv[2])))
print(json.dumps({"codes": codes, "heavy": heavy}))
"""


def probe(*runs: list[str]) -> dict[str, list]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(runs), json.dumps(HEAVY)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.splitlines()[-1])


def all_command_paths() -> list[list[str]]:
    import click

    from customs_rules.cli.base import main

    paths: list[list[str]] = []

    def walk(command: click.Command, path: list[str]) -> None:
        paths.append(path)
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                walk(sub, [*path, name])

    walk(main, [])
    return paths


def test_help_of_the_program_imports_no_heavy_layer() -> None:
    assert probe(["--help"]) == {"codes": [0], "heavy": []}


def test_help_of_every_command_imports_no_heavy_layer() -> None:
    runs = [[*path, "--help"] for path in all_command_paths()]
    assert len(runs) > 10
    assert probe(*runs) == {"codes": [0] * len(runs), "heavy": []}


@pytest.mark.parametrize(
    "args",
    [
        ["submit", "--format", "xml"],
        ["decisions", "list", "--decision", "maybe"],
        ["outcome", "#1"],  # --result missing
        ["audit", "--action", "rejectd"],
        ["decisions", "list", "--since", "2024-01-01"],
        ["screen"],  # no PATHS
        ["no-such-command"],
    ],
)
def test_argument_errors_import_no_heavy_layer(args: list[str]) -> None:
    assert probe(args) == {"codes": [2], "heavy": []}


def _with_lines(node: object) -> object:
    """A YAML value with the line of each mapping, key and list: what errors are located by."""
    if isinstance(node, dict):
        return (
            getattr(node, "line", None),
            getattr(node, "key_lines", None),
            {k: _with_lines(v) for k, v in node.items()},
        )
    if isinstance(node, list):
        return (getattr(node, "line", None), [_with_lines(v) for v in node])
    return node


def test_rule_files_read_through_libyaml_as_through_the_python_parser() -> None:
    """A cold `submit` parses the whole pack: libyaml's parser does it ten times faster,
    and must give the same values and the same lines."""
    import yaml

    from customs_rules.rules import yamlfile
    from customs_rules.workflow.screener import default_rules_dir

    assert yamlfile._FastLoader is not yamlfile._Loader, "PyYAML without libyaml: rule packs parse slowly"
    paths = sorted(default_rules_dir().rglob("*.y*ml"))
    assert len(paths) > 5
    for path in paths:
        text = path.read_text(encoding="utf-8")
        fast = [_with_lines(d) for d in yaml.load_all(text, Loader=yamlfile._FastLoader)]
        slow = [_with_lines(d) for d in yaml.load_all(text, Loader=yamlfile._Loader)]
        assert fast == slow, path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("id: a\n  title: b\n", "rules/x.yaml:2: YAML syntax: mapping values are not allowed here"),
        ("id: a\nid: b\n", "rules/x.yaml:2: YAML syntax: duplicate key 'id'"),
        (
            "- [a, b\n",
            "rules/x.yaml:2: YAML syntax: while parsing a flow sequence expected ',' or ']', but got '<stream end>'",
        ),
    ],
)
def test_yaml_errors_read_as_the_python_parser_words_them(tmp_path: Path, text: str, message: str) -> None:
    from customs_rules.rules.yamlfile import load_documents

    path = tmp_path / "x.yaml"
    path.write_text(text, encoding="utf-8")
    documents, errors = load_documents(path, "rules/x.yaml")
    assert documents == []
    assert [str(e) for e in errors] == [message]


# imported by other commands, never by a `submit --format json`: drawing tables, schema
# upgrades (the database is at head), dataframes, the batch's process pool and its mapped registry
# polars: a submission is stored as a set of one, through the one bulk routine (issue #13, 6)
# SQLAlchemy's PostgreSQL dialect: not on SQLite (the partial indexes' PostgreSQL WHERE is
# described only when a PostgreSQL database is opened, `tables.describe_for_postgresql`)
NOT_FOR_SUBMIT_JSON = (
    "rich", "alembic", "multiprocessing", "concurrent.futures.process", "pyarrow", "sqlalchemy.dialects.postgresql",
)  # fmt: skip

SUBMIT_PROBE = """
import gc, json, os, sys
from customs_rules.cli import main

try:
    main(json.loads(sys.argv[1]), prog_name="customs-rules")
except SystemExit as exit:
    code = exit.code
names = {name for name in sys.modules}
print(json.dumps({
    "code": code,
    "polars_threads": sys.modules["polars"].thread_pool_size(),
    "threads_variable_left": "POLARS_MAX_THREADS" in os.environ,
    "imported": sorted(n for n in json.loads(sys.argv[2]) if n in names),
    "gc_enabled": gc.isenabled(),
    "imports_frozen": gc.get_freeze_count() > 10_000,
}))
"""


def submit_probe(args: list[str]) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k != "POLARS_MAX_THREADS"}
    result = subprocess.run(
        [sys.executable, "-c", SUBMIT_PROBE, json.dumps(args), json.dumps(NOT_FOR_SUBMIT_JSON)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return json.loads(result.stdout.splitlines()[-1])


def test_submit_as_json_imports_only_what_it_uses(sqlite_url: str, tmp_path: Path) -> None:
    """A cold `submit --format json` on a database at the current schema: no rich, no
    Alembic, no process pool, no PostgreSQL dialect on SQLite; the collector is back on
    after the imports, with what they made frozen out of its reach (else each collection
    the command's own objects set off walks all of it again: 0.15 s of a cold submit);
    polars works on one thread (a set of one), the variable that said so gone again."""
    from conftest import FIXTURES, load_fixture_registry

    load_fixture_registry(sqlite_url)
    seed = json.loads((FIXTURES / "declarations" / "aspan_arba_drones.json").read_text(encoding="utf-8"))
    path = tmp_path / "d.json"
    path.write_text(json.dumps(seed), encoding="utf-8")
    submit = ["--db", sqlite_url, "submit", str(path), "--officer", "t"]
    expected = {"code": 0, "imported": [], "gc_enabled": True, "imports_frozen": True, "polars_threads": 1,
                "threads_variable_left": False}  # fmt: skip
    assert submit_probe([*submit, "--format", "json"]) == expected
    # the table format draws with rich, the same declaration again is found as stored
    assert submit_probe([*submit, "--format", "table"]) == expected | {"imported": ["rich"]}
