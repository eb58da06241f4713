"""The decisions recorded before the columnar core (issue #13) are reproduced exactly.

`tests/golden/record_golden.py` wrote them with the per-declaration pipeline: the
fixture shipments and declarations against the fixture registry, and 20,000 generated
lines against a generated registry of 2,000 companies. Any difference here is either a
bug or a documented change of behaviour (then the golden files are recorded again).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from customs_rules.cli.base import main
from customs_rules.rules.loader import load_pack

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden"
FIXTURE_INPUTS = ["fixtures/shipments.csv", *sorted(
    str(p.relative_to(ROOT)) for p in (ROOT / "fixtures" / "declarations").iterdir() if p.suffix in (".json", ".jsonl")
)]  # fmt: skip


def screened(tmp_path: Path, registry: Path, inputs: list[str], monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    monkeypatch.chdir(ROOT)
    db = f"sqlite:///{tmp_path / 'golden.db'}"
    runner = CliRunner()
    load = ["--db", db, "registry", "load", "--companies", str(registry / "companies.csv"),
            "--people", str(registry / "people.csv"), "--watchlist", str(registry / "watchlist.csv")]  # fmt: skip
    assert runner.invoke(main, load, catch_exceptions=False).exit_code == 0
    run = runner.invoke(main, ["--db", db, "-q", "screen", *inputs, "--format", "json", "--no-store"],
                        catch_exceptions=False)  # fmt: skip
    assert run.exit_code == 0, run.stderr
    return [json.loads(line) for line in run.stdout.splitlines()]


def golden(name: str) -> list[Any]:
    with gzip.open(GOLDEN / f"{name}.jsonl.gz", "rt", encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


def assert_same(found: list[Any], expected: list[Any]) -> None:
    """Equal decisions, but for the rule-set version: a rule or list added to the bundled
    pack changes it (a new content hash) while the existing rules decide exactly as before.
    Each decision must name the pack it was screened with."""
    assert [d["declaration_id"] for d in found] == [d["declaration_id"] for d in expected]
    version = load_pack(ROOT / "rules").version
    for decision, want in zip(found, expected, strict=True):
        decision.pop("screened_at")
        assert decision.pop("ruleset_version") == version
        assert decision == {k: v for k, v in want.items() if k != "ruleset_version"}, decision["declaration_id"]


@pytest.mark.parametrize(
    ("name", "registry", "inputs"),
    [
        ("fixtures", ROOT / "fixtures" / "registry", FIXTURE_INPUTS),
        ("shipments20k", GOLDEN, ["tests/golden/shipments20k.csv.gz"]),
    ],
)
def test_decisions_equal_the_golden_files(
    name: str, registry: Path, inputs: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert_same(screened(tmp_path, registry, inputs, monkeypatch), golden(name))
