"""A large batch starts its workers before its history's pre-pass (`batch_workers.PoolStart`):
they boot while the inputs are read, get the run's past once it is read, and screen as a
pool started afterwards would; a run that turns out to be one chunk, or stops before
screening, leaves no worker and no file behind."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import load_fixture_registry

from customs_rules.cli.base import main
from customs_rules.workflow import batch, batch_workers

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SHIPMENTS = FIXTURES / "shipments.csv"


def decisions(output: str) -> list[dict[str, Any]]:
    """The decisions of `--format json`, without the run's own time."""
    found = [json.loads(line) for line in output.splitlines()]
    for decision in found:
        decision.pop("screened_at")
    return found


def screen(db: str, *options: str, path: Path = SHIPMENTS) -> list[dict[str, Any]]:
    result = CliRunner().invoke(main, ["--db", db, "-q", "screen", str(path), "--no-store", "--format", "json",
                                       *options])  # fmt: skip
    assert result.exit_code == 0, result.output
    return decisions(result.stdout)


@pytest.fixture
def registered(sqlite_url: str) -> str:
    load_fixture_registry(sqlite_url)
    return sqlite_url


@pytest.fixture
def run_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where this test's runs make their temporary files."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(folder))
    return folder


def test_workers_started_before_the_pre_pass_screen_as_one_process(
    registered: str, run_files: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    want = screen(registered, "--workers", "1")
    steps: list[str] = []
    start, history = batch.PoolStart, batch.run_history

    def started(*args: Any) -> Any:
        steps.append("pool")
        return start(*args)

    def read(*args: Any, **kwargs: Any) -> Any:
        steps.append("pre-pass")
        return history(*args, **kwargs)

    monkeypatch.setattr(batch, "PoolStart", started)
    monkeypatch.setattr(batch, "run_history", read)
    monkeypatch.setattr(batch_workers, "EARLY_BYTES", 0)
    monkeypatch.setattr(batch, "CHUNK_LINES", 7)  # chunks enough for the pool
    assert screen(registered, "--workers", "2") == want
    assert steps == ["pool", "pre-pass"]
    assert list(run_files.iterdir()) == []  # the worker, the past, the registry copy: removed


def test_an_early_pool_is_dropped_when_the_input_is_one_chunk(
    registered: str, run_files: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    want = screen(registered, "--workers", "1")
    pools: list[Any] = []
    start = batch.PoolStart

    def started(*args: Any) -> Any:
        pools.append(start(*args))
        return pools[-1]

    monkeypatch.setattr(batch, "PoolStart", started)
    monkeypatch.setattr(batch_workers, "EARLY_BYTES", 0)
    assert screen(registered, "--workers", "2") == want  # screened here: one chunk
    assert len(pools) == 1 and pools[0].pool is None
    assert list(run_files.iterdir()) == []


def test_a_run_stopped_by_its_pre_pass_stops_the_early_workers(
    registered: str, run_files: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file the pre-pass refuses (here: columns missing) ends the run with its located
    error; the workers already started are stopped and their files removed."""
    bad = tmp_path / "no_columns.csv"
    bad.write_text("declaration_id,date\nD-1,2024-01-15\n")
    pools: list[Any] = []
    start = batch.PoolStart

    def started(*args: Any) -> Any:
        pools.append(start(*args))
        return pools[-1]

    monkeypatch.setattr(batch, "PoolStart", started)
    monkeypatch.setattr(batch_workers, "EARLY_BYTES", 0)
    result = CliRunner().invoke(main, ["--db", registered, "-q", "screen", str(bad), "--no-store", "--workers", "2"])
    assert result.exit_code == 2 and "no_columns.csv" in result.output and "Traceback" not in result.output
    assert len(pools) == 1 and pools[0].pool is None
    assert list(run_files.iterdir()) == []


def test_only_large_inputs_on_several_workers_start_early(tmp_path: Path) -> None:
    small, large = tmp_path / "small.csv", tmp_path / "large.csv"
    small.write_bytes(b"x" * 10)
    with large.open("wb") as handle:
        handle.truncate(batch_workers.EARLY_BYTES)
    assert batch.worth_starting_early([str(large)], 2)
    assert batch.worth_starting_early([str(small), str(large)], 2)
    assert not batch.worth_starting_early([str(large)], 1)
    assert not batch.worth_starting_early([str(small)], 2)
    assert not batch.worth_starting_early([str(large), "-"], 2)  # stdin: its size is unknown
    assert not batch.worth_starting_early([str(tmp_path / "missing.csv")], 2)
    assert os.path.getsize(large) == batch_workers.EARLY_BYTES
