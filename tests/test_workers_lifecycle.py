"""Worker processes and cluster workers leave nothing behind (issue #12, items 5.3, 5.4):
no traceback when their parent goes, no temporary folders."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from customs_rules.entities.registry import RegistryIndex
from customs_rules.rules.model import RulePack
from customs_rules.workflow import batch

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
AT = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
DECLARATION = {
    "date": "2024-01-15",
    "exporter": {"name": "Dala Grain LLP", "country": "KZ"},
    "consignee": {"name": "Harbin Grain Import Co"},
    "dispatch_country": "KZ",
    "destination_country": "RU",
    "items": [{"hs_code": "8806.21", "value": 100}, {"hs_code": "1001.99", "value": 5}],
}


def many_declarations(path: Path, count: int) -> Path:
    with path.open("w") as out:
        for n in range(count):
            out.write(json.dumps(DECLARATION | {"declaration_id": f"D-{n}"}) + "\n")
    return path


def group_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.mark.parametrize(
    ("how", "exit_codes"),
    [("kill the parent", {-signal.SIGKILL}), ("terminate the parent", {143}), ("ctrl-c", {1, 130})],
)
def test_workers_exit_quietly_when_the_parent_goes(tmp_path: Path, how: str, exit_codes: set[int]) -> None:
    path = many_declarations(tmp_path / "many.jsonl", 6000)
    command = [sys.executable, "-m", "customs_rules", "--db", f"sqlite:///{tmp_path / 'c.db'}", "-q",
               "screen", str(path), "--workers", "2", "--format", "json", "--no-registry"]  # fmt: skip
    temporary = tmp_path / "tmp"  # a parent killed outright leaves its spool there, not in the system's
    temporary.mkdir()
    env = os.environ | {"TMPDIR": str(temporary)}
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, env=env)
    assert proc.stdout is not None and proc.stderr is not None
    try:
        # the first decision printed: the workers are busy with the next blocks
        assert proc.stdout.readline().startswith(b"{")
        if how == "kill the parent":
            proc.kill()
        elif how == "terminate the parent":
            proc.terminate()
        else:
            os.killpg(proc.pid, signal.SIGINT)  # what a terminal sends the whole group
        proc.stdout.close()
        # every process of the group holds stderr: it ends when the last one has gone
        stderr = proc.stderr.read().decode()
        code = proc.wait(timeout=120)
    finally:
        if not group_gone(proc.pid):
            os.killpg(proc.pid, signal.SIGKILL)
    assert "Traceback" not in stderr and "Error" not in stderr.replace("Aborted!", ""), stderr
    assert code in exit_codes
    deadline = time.monotonic() + 60  # not a timing assertion: a bound on waiting for the reaper
    while not group_gone(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert group_gone(proc.pid)


@pytest.mark.parametrize("count", [6000, 16000])  # 16,000: over EARLY_BYTES, workers start before the pre-pass
def test_a_terminated_batch_removes_the_registry_copy_its_workers_map(tmp_path: Path, count: int) -> None:
    """SIGTERM stops a batch as an error would: the workers go, and the temporary copy of
    the registry snapshot they map is removed (SIGKILL alone may leave it), and so is the
    spool of the chunks the pre-pass read."""
    path = many_declarations(tmp_path / "many.jsonl", count)
    assert batch.worth_starting_early([str(path)], 2) == (count == 16000)
    db = f"sqlite:///{tmp_path / 'c.db'}"
    registry = FIXTURES / "registry"
    loaded = subprocess.run(
        [sys.executable, "-m", "customs_rules", "--db", db, "-q", "registry", "load",
         "--companies", str(registry / "companies.csv"), "--people", str(registry / "people.csv")],
        capture_output=True, check=False,
    )  # fmt: skip
    assert loaded.returncode == 0, loaded.stderr
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    command = [sys.executable, "-m", "customs_rules", "--db", db, "-q", "screen", str(path), "--workers", "2",
               "--format", "json"]  # fmt: skip
    env = os.environ | {"TMPDIR": str(temporary)}
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True, env=env)
    assert proc.stderr is not None
    try:
        deadline = time.monotonic() + 120  # a bound on waiting for the copy, not a timing assertion
        # (the batch's spool of pre-read chunks, `customs-rules-chunks-*`, is there before it)
        copies = lambda: [p for p in temporary.iterdir() if p.name.startswith("customs-rules-registry-")]  # noqa: E731
        # started early, the workers boot from their file while the pre-pass reads: stopped then
        booting = lambda: count < 16000 or any(temporary.glob("customs-rules-run-*/worker.pickle"))  # noqa: E731
        while not (copies() and booting()) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(copies()) == 1 and booting()
        proc.terminate()
        stderr = proc.stderr.read().decode()
        code = proc.wait(timeout=120)
    finally:
        if not group_gone(proc.pid):
            os.killpg(proc.pid, signal.SIGKILL)
    assert code == 143 and "Traceback" not in stderr and stderr.endswith("Terminated.\n"), stderr
    assert list(temporary.iterdir()) == []
    deadline = time.monotonic() + 60  # not a timing assertion: a bound on waiting for the reaper
    while not group_gone(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert group_gone(proc.pid)  # no worker left


def test_cluster_workers_leave_no_pack_folders(
    pack: RulePack, small_registry: RegistryIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    distributed = pytest.importorskip("distributed")
    from customs_rules.workflow.cluster import cluster_screening

    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the worker processes' temporary folder
    monkeypatch.setattr(tempfile, "tempdir", None)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        screening = cluster_screening(cluster.scheduler_address, pack, small_registry, AT, batch.Wanted(keep=True))
        outcomes = list(batch.screen_files([str(FIXTURES / "shipments.csv")], screening, chunk_lines=7))
        with distributed.Client(cluster) as client:
            where = set(client.run(tempfile.gettempdir).values())
    assert outcomes and where == {str(tmp_path)}
    assert sorted(p.name for p in tmp_path.glob("customs-rules-pack-*")) == []


@pytest.mark.parametrize(("user", "expected"), [(None, "3"), ("5", "5")])
def test_each_worker_sizes_polars_for_its_share_of_the_cores(
    monkeypatch: pytest.MonkeyPatch, user: str | None, expected: str
) -> None:
    """Six cores, two workers: three polars threads each (not the cores polars would count
    itself), unless $POLARS_MAX_THREADS says."""
    import polars

    from customs_rules.workflow import batch_pool

    monkeypatch.setattr(batch_pool, "default_workers", lambda: 6)
    if user is None:
        monkeypatch.delenv("POLARS_MAX_THREADS", raising=False)
    else:
        monkeypatch.setenv("POLARS_MAX_THREADS", user)
    pool = batch_pool.spawn_pool(2, time.sleep, 0)  # a setup that does nothing
    try:
        sizes = {pool.apply(polars.thread_pool_size) for _ in range(4)}
    finally:
        pool.terminate()
        pool.join()
    assert sizes == {int(expected)}
    assert os.environ.get("POLARS_MAX_THREADS") == user  # this process's own is as it was


def test_a_sigterm_while_the_workers_start_is_held_until_each_has_its_data(monkeypatch: pytest.MonkeyPatch) -> None:
    """The signal is held while the pool starts (a worker cut off from its start-up data
    died with a traceback), then the pool is abandoned and the signal delivered."""
    import multiprocessing

    from customs_rules.workflow import batch_pool

    spawn, made, caught = multiprocessing.get_context("spawn"), [], []

    class Starting:
        def Pool(self, *args: object, **kwargs: object) -> object:  # noqa: N802 (multiprocessing's name)
            signal.raise_signal(signal.SIGTERM)  # as if it came while a worker was handed its data
            made.append(spawn.Pool(*args, **kwargs))  # type: ignore[arg-type]
            return made[-1]

    def terminated(signum: int, frame: object) -> None:
        caught.append(signum)
        raise SystemExit(143)

    monkeypatch.setattr(batch_pool.multiprocessing, "get_context", lambda method: Starting())
    previous = signal.signal(signal.SIGTERM, terminated)
    try:
        with pytest.raises(SystemExit):
            batch_pool.spawn_pool(2, time.sleep, 0)
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert caught == [signal.SIGTERM] and len(made) == 1
    deadline = time.monotonic() + 30  # not a timing assertion: a bound on waiting for them to go
    while any(p.is_alive() for p in made[0]._pool) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(p.is_alive() for p in made[0]._pool)  # the pool was abandoned
