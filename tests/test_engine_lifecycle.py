"""The engine's rulesets: released when a compiled pack is dropped, compiled once per process
(issue #12, item 5.5; the memory it saves is measured by benchmarks/bench_compile_leak.py)."""

from __future__ import annotations

import gc
import json
import weakref
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from customs_rules.cli.base import main
from customs_rules.engine import compiler, evaluation
from customs_rules.engine.compiler import compile_pack
from customs_rules.rules.model import RulePack

DECLARATION = {
    "date": "2024-01-15",
    "exporter": {"name": "Dala Grain LLP", "country": "KZ"},
    "consignee": {"name": "Harbin Grain Import Co"},
    "dispatch_country": "KZ",
    "destination_country": "RU",
    "items": [{"hs_code": "8806.21", "value": 100}],
}


@pytest.fixture()
def deleted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The handles of every engine ruleset deleted while the test runs."""
    found: list[int] = []
    real = compiler.engine.delete_ruleset

    def delete_ruleset(handle: int) -> Any:
        found.append(handle)
        return real(handle)

    monkeypatch.setattr(compiler.engine, "delete_ruleset", delete_ruleset)
    return found


def test_a_dropped_pack_deletes_its_rulesets(pack: RulePack, deleted: list[int]) -> None:
    compiled = compile_pack(pack.evaluated(), pack.reference)
    compiled.match({"item.hs_code": "880621", "declaration.destination_country": "RU"})
    handles = [h for h, _ in compiled._handles]
    alive = weakref.ref(compiled)
    del compiled
    gc.collect()
    assert alive() is None
    assert sorted(deleted) == sorted(handles)


def test_close_releases_once_even_if_never_used(pack: RulePack, deleted: list[int]) -> None:
    compiled = compile_pack(pack.evaluated(), pack.reference)
    handles = [h for h, _ in compiled._handles]
    compiled.close()
    assert compiled.released and sorted(deleted) == sorted(handles)
    del compiled
    gc.collect()
    assert sorted(deleted) == sorted(handles)  # not deleted twice


def test_a_pack_released_after_many_facts_frees_cleanly(pack: RulePack, deleted: list[int]) -> None:
    # the engine frees a session's action context on delete: it must have been left empty
    for values in ({}, {"item.hs_code": "880621"}, {"declaration.destination_country": "RU"}):
        compiled = compile_pack(pack.evaluated(), pack.reference)
        compiled.match(values)
        compiled.close()
    assert len(deleted) >= 3


def test_submitting_many_declarations_compiles_once(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    compiled: list[int] = []
    real = evaluation.compile_pack

    def counting(*args: Any) -> Any:
        compiled.append(1)
        return real(*args)

    monkeypatch.setattr(evaluation, "compile_pack", counting)
    monkeypatch.setattr(evaluation, "_SHARED", {})  # as in a fresh process
    path = tmp_path / "many.json"
    path.write_text(json.dumps([DECLARATION | {"declaration_id": f"D-{n}"} for n in range(5)]))
    result = CliRunner().invoke(main, ["--db", sqlite_url, "submit", str(path), "--format", "json", "--no-registry"])
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 5
    assert len(compiled) == 1


def test_a_new_pack_version_replaces_and_releases_the_old(
    pack: RulePack, tmp_path: Path, deleted: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(evaluation, "_SHARED", {})
    first = evaluation.Evaluator(pack)
    handles = [h for h, _ in first.compiled._handles]
    assert evaluation.Evaluator(pack).compiled is first.compiled
    other = RulePack(pack.rules, pack.reference, pack.policy_doc, pack.directory, pack.contents | {"x.yaml": "#"})
    second = evaluation.Evaluator(other)
    assert second.compiled is not first.compiled
    del first
    gc.collect()
    assert sorted(deleted) == sorted(handles)
