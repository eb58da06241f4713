"""A large batch starts its workers before its history's pre-pass (`batch_workers.PoolStart`):
they boot while the inputs are read, get the run's past once it is read, and screen as a
pool started afterwards would; a run that turns out to be one chunk, or stops before
screening, leaves no worker and no file behind."""

from __future__ import annotations

import json
import multiprocessing
import os
import pickle
import time
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


def no_worker_left() -> bool:
    """Whether every worker process this test started has gone (waiting a while for them)."""
    deadline = time.monotonic() + 30  # not a timing assertion: a bound on waiting for them to go
    while multiprocessing.active_children() and time.monotonic() < deadline:
        time.sleep(0.05)
    return not multiprocessing.active_children()


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
    assert list(run_files.iterdir()) == [] and no_worker_left()  # the worker, the past, the registry copy


def reexport(path: Path) -> Path:
    """Drones imported by a company, then, eight declarations later (another chunk of 7
    lines), exported by it to Russia: `history-reexport-listed` fires only when the
    export's chunk is screened against the run's whole past."""
    base = {"dispatch_country": "KZ", "items": [{"hs_code": "8807.30", "value": 100}]}
    records = [
        base
        | {
            "declaration_id": "IMP-1",
            "date": "2024-01-10",
            "procedure": "import",
            "exporter": {"name": "Shenzhen Sky Parts Co", "country": "CN"},
            "dispatch_country": "CN",
            "consignee": {"name": "Aspan Arba LLP", "country": "KZ"},
            "destination_country": "KZ",
        }
    ]
    records += [
        {
            "declaration_id": f"G-{n}",
            "date": "2024-01-12",
            "procedure": "export",
            "dispatch_country": "KZ",
            "exporter": {"name": "Dala Grain LLP", "country": "KZ"},
            "destination_country": "CN",
            "consignee": {"name": "Harbin Grain Import Co", "country": "CN"},
            "items": [{"hs_code": "1001.99", "value": 5}],
        }
        for n in range(8)
    ]
    records.append(base | {"declaration_id": "EXP-1", "date": "2024-01-15", "procedure": "export",
                           "exporter": {"name": "Aspan Arba LLP", "country": "KZ"}, "destination_country": "RU",
                           "consignee": {"name": "OOO Nebesnaya Mekhanika", "country": "RU"}})  # fmt: skip
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    return path


def test_early_workers_screen_each_chunk_against_the_whole_run(
    registered: str, run_files: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run's past reaches workers started before it was read: the export's chunk sees
    the import of an earlier chunk, as in one process."""
    path = reexport(tmp_path / "reexport.jsonl")
    want = screen(registered, "--workers", "1", path=path)
    assert "history-reexport-listed" in {finding["rule_id"] for finding in want[-1]["findings"]}
    monkeypatch.setattr(batch_workers, "EARLY_BYTES", 0)
    monkeypatch.setattr(batch, "CHUNK_LINES", 7)
    assert screen(registered, "--workers", "2", path=path) == want


@pytest.fixture
def early_pools(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every input starts its pool early; the pools started, kept here."""
    pools: list[Any] = []
    start = batch.PoolStart

    def started(*args: Any) -> Any:
        pools.append(start(*args))
        return pools[-1]

    monkeypatch.setattr(batch, "PoolStart", started)
    monkeypatch.setattr(batch_workers, "EARLY_BYTES", 0)
    return pools


def test_an_early_pool_is_dropped_when_the_input_is_one_chunk(
    registered: str, run_files: Path, early_pools: list[Any]
) -> None:
    want = screen(registered, "--workers", "1")
    assert screen(registered, "--workers", "2") == want  # screened here: one chunk
    assert len(early_pools) == 1 and early_pools[0].pool is None
    assert list(run_files.iterdir()) == [] and no_worker_left()


def test_a_run_stopped_by_its_pre_pass_stops_the_early_workers(
    registered: str, run_files: Path, tmp_path: Path, early_pools: list[Any]
) -> None:
    """A file the pre-pass refuses (here: columns missing) ends the run with its located
    error; the workers already started are stopped and their files removed."""
    bad = tmp_path / "no_columns.csv"
    bad.write_text("declaration_id,date\nD-1,2024-01-15\n")
    result = CliRunner().invoke(main, ["--db", registered, "-q", "screen", str(bad), "--no-store", "--workers", "2"])
    assert result.exit_code == 2 and "no_columns.csv" in result.output and "Traceback" not in result.output
    assert len(early_pools) == 1 and early_pools[0].pool is None
    assert list(run_files.iterdir()) == [] and no_worker_left()


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


def test_a_worker_that_cannot_read_its_file_reports_it_with_its_first_chunk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not a start-up error, which would make the pool start the worker again and again."""
    monkeypatch.setattr(batch_workers, "_WORKER", None)
    monkeypatch.setattr(batch_workers, "_FAILED", None)
    broken = tmp_path / "worker.pickle"
    broken.write_bytes(b"not a pickle")
    batch_workers._take_worker(str(broken))
    with pytest.raises(pickle.UnpicklingError):
        batch_workers._screen_in_child(None, None, None)
