"""The batch writer alone, on the sets a real screen hands it (issue #13, storing).

    python benchmarks/bench_writer.py --input ship200k.csv --registry-db reg.db --keep DIR
                                      [--pg postgresql+psycopg://postgres@127.0.0.1:5432/postgres] [--repeat 2]

The first run screens --input with one worker (`customs-rules screen --workers 1`, in this
process, storing into a copy of --registry-db) and pickles every `ScreenedSet` the core
made, before it is prepared, into DIR/sets.pickle; later runs reuse it. Then, --repeat
times: `prepare` of every set (what the workers do: content hashes, party keys, the facts'
signatures) and a `SetWriter` storing them all, in order, into a fresh copy of
--registry-db (and, with --pg, into a fresh PostgreSQL database, dropped at the end).
It prints the lines and sets, the CPU time (user + system of this process, polars' threads
included) of each phase, and the fact signatures stored (rows, bytes) with the database's
size.
"""

from __future__ import annotations

import argparse
import pickle
import resource
import shutil
import sys
import time
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def capture(source: Path, registry: Path, keep: Path) -> Path:
    """Screen `source` once, keeping each set the core made (before it is prepared)."""
    from click.testing import CliRunner

    from customs_rules.cli.base import main
    from customs_rules.store import prepared

    out = keep / "sets.pickle"
    if out.exists():
        return out
    db = keep / "capture.db"
    shutil.copyfile(registry, db)
    original, handle = prepared.prepare, (keep / "sets.tmp").open("wb")

    def keeping(screened: Any) -> Any:
        pickle.dump(screened, handle, protocol=pickle.HIGHEST_PROTOCOL)
        return original(screened)

    prepared.prepare = keeping  # type: ignore[assignment]
    try:
        args = ["-q", "--db", f"sqlite:///{db}", "screen", str(source), "--workers", "1", "--format", "json",
                "--out", "/dev/null"]  # fmt: skip
        result = CliRunner().invoke(main, args, catch_exceptions=False)
        assert result.exit_code == 0, result.output
    finally:
        prepared.prepare = original  # type: ignore[assignment]
        handle.close()
    (keep / "sets.tmp").rename(out)
    db.unlink()
    return out


def load(path: Path) -> list[Any]:
    sets = []
    with path.open("rb") as handle:
        while True:
            try:
                sets.append(pickle.load(handle))  # written by `capture`, in this benchmark
            except EOFError:
                return sets


def store_all(url: str, sets: list[Any]) -> tuple[float, float]:
    """(prepare CPU, writer CPU) of storing every set into the database at `url`."""
    from customs_rules.store import Store
    from customs_rules.store.prepared import prepare
    from customs_rules.store.writer import SetWriter

    store = Store(url)
    store.record_ruleset(sets[0].ruleset_version, {"bench.yaml": "id: bench"})
    start = cpu()
    prepared = [prepare(screened) for screened in sets]
    middle = cpu()
    writer = SetWriter(store)
    for number, ready in enumerate(prepared):
        writer.put(number, ready)
    done = writer.close()
    end = cpu()
    store.close()
    assert all(w.stored for w in done), [w.error for w in done if not w.stored][:1]
    return middle - start, end - middle


def signatures(url: str) -> tuple[int, int]:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows, size = conn.execute(text("SELECT count(*), sum(length(facts)) FROM fact_signature")).one()
    finally:
        engine.dispose()
    return int(rows), int(size or 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", type=Path, required=True)
    parser.add_argument("--registry-db", type=Path, required=True)
    parser.add_argument("--keep", type=Path, required=True)
    parser.add_argument("--pg", help="a PostgreSQL admin URL: a database is created and dropped beside it")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    args.keep.mkdir(parents=True, exist_ok=True)
    sets = load(capture(args.input, args.registry_db, args.keep))
    lines = sum(int(s.declarations.headers["lines"].sum() or 0) for s in sets)
    print(f"input: {args.input}, {lines} lines, {sum(len(s) for s in sets)} declarations in {len(sets)} sets")
    for run in range(args.repeat):
        db = args.keep / "writer.db"
        shutil.copyfile(args.registry_db, db)
        for suffix in ("-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{db}"
        began = time.perf_counter()
        prepare_cpu, write_cpu = store_all(url, sets)
        rows, size = signatures(url)
        print(f"run {run + 1} sqlite: prepare {prepare_cpu:.2f} s CPU, writer {write_cpu:.2f} s CPU "
              f"({time.perf_counter() - began:.1f} s wall); fact_signature {rows} rows, {size / 1e6:.1f} MB; "
              f"database {db.stat().st_size / 1e6:.0f} MB")  # fmt: skip
        if args.pg:
            pg_run(args.pg, args.registry_db, sets)


def pg_run(admin: str, registry: Path, sets: list[Any]) -> None:
    """The same into PostgreSQL (COPY): a fresh database, the registry not loaded (the
    writer reads only its version), dropped at the end."""
    from sqlalchemy import create_engine, text

    name = f"bench_writer_{uuid.uuid4().hex[:8]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin.rsplit("/", 1)[0] + f"/{name}"
    try:
        prepare_cpu, write_cpu = store_all(url, sets)
        rows, size = signatures(url)
        print(f"    postgresql: prepare {prepare_cpu:.2f} s CPU, writer {write_cpu:.2f} s CPU (client); "
              f"fact_signature {rows} rows, {size / 1e6:.1f} MB")  # fmt: skip
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


if __name__ == "__main__":
    main()
