"""`--help` and argument errors answer without importing the heavy layers.

Each check runs in a fresh interpreter (a subprocess), so modules that other tests
imported do not hide a regression. No timing here: benchmarks/bench_cold_start.py
measures the time, this test only holds what makes it short.
"""

from __future__ import annotations

import json
import subprocess
import sys

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

    from customs_rules.cli import main

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
        ["screen"],  # no PATHS
        ["no-such-command"],
    ],
)
def test_argument_errors_import_no_heavy_layer(args: list[str]) -> None:
    assert probe(args) == {"codes": [2], "heavy": []}
