"""The floor under issue #4's ratio target: what two steps no pipeline can skip cost alone.

    python benchmarks/bench_floor.py [--keep DIR] [--sample 20000] [--pg URL]

On the file and registry of bench_batch.py (generated and loaded in DIR if missing), in
one run, it times:
 1. Python's csv.DictReader reading the file, nothing else (the target's yardstick);
 2. parsing and validating every declaration with the project's own parser, nothing else
    (`io.declarations.read_declarations`, one process);
 3. storing what design.md section 6 requires (declarations, items, decisions with the
    facts they were made on, findings) with nothing else to do: `screen` stores the
    file's first --sample lines into a copy of the registry database; those rows are
    replicated, with new keys, to the whole file's number of declarations, prepared in
    memory beforehand, and inserted into a copy of that database (the rule set it names is
    there) with sqlite3's `executemany`, one transaction per replica. Each replica's
    declaration ids get a prefix that sorts after the previous replica's, so the ids
    arrive in order, as a day's file brings them (suffixed ids scattered the inserts over
    the whole index and cost 40% more). Three times: with the project's settings
    (write-ahead log, foreign keys, SQLite's default synchronous=FULL); with no journal
    and no syncing at all, the fastest SQLite writes (never a setting to keep data with);
    and the bare rows with the project's settings: the same rows with the declaration's
    content and the decision's facts emptied, which no pipeline may skip (design.md
    section 6), to show that the row count alone exceeds the budget. With --pg, the
    same rows also go to PostgreSQL through COPY (the server shares the machine's cores).

SQLite has one writer, so no number of workers shortens step 3. The last line is the
best ratio read/screen that any pipeline storing these rows could reach on this machine,
were everything else free.
"""

from __future__ import annotations

import argparse
import csv
import math
import shutil
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_batch import prepare, read_only

from customs_rules.io.declarations import read_declarations
from customs_rules.io.parsing import Parsed

STORED = ("declaration", "item", "decision", "finding")  # parents first: foreign keys hold
# the column each table's rows point through, to the table whose key it holds
POINTS_TO = {"item": "declaration_pk", "decision": "declaration_pk", "finding": "decision_id"}


def first_declarations(data: Path, lines: int, out: Path) -> None:
    """The first `lines` lines of the file, not cutting a declaration in two."""
    with data.open(newline="", encoding="utf-8") as source, out.open("w", newline="", encoding="utf-8") as sink:
        reader = csv.reader(source)
        writer = csv.writer(sink, lineterminator="\n")
        header = next(reader)
        writer.writerow(header)
        key = header.index("declaration_id")
        last = None
        for number, row in enumerate(reader):
            if number >= lines and row[key] != last:
                break
            writer.writerow(row)
            last = row[key]


def validation_seconds(data: Path) -> tuple[float, int, int]:
    start = time.perf_counter()
    parsed = rejected = 0
    for outcome in read_declarations(str(data)):
        if isinstance(outcome, Parsed):
            parsed += 1
        else:
            rejected += 1
    return time.perf_counter() - start, parsed, rejected


Rows = dict[str, list[tuple[Any, ...]]]


def stored_rows(db: Path) -> tuple[dict[str, list[str]], Rows]:
    """(each table's columns, each table's rows) as `screen` stored them."""
    with sqlite3.connect(db) as connection:
        columns = {t: [r[1] for r in connection.execute(f'PRAGMA table_info("{t}")')] for t in STORED}
        rows = {t: connection.execute(f'SELECT * FROM "{t}" ORDER BY id').fetchall() for t in STORED}
    return columns, rows


def replicas(columns: dict[str, list[str]], rows: Rows, count: int) -> list[Rows]:
    """`count` copies of the rows under new keys (and new declaration ids), built before
    the clock starts; the big strings (content, facts, evidence) are shared, not copied."""
    top = max(row[0] for table in STORED for row in rows[table]) + 1
    copies = []
    for n in range(1, count + 1):
        shift = n * top
        copy: Rows = {}
        for table in STORED:
            pointer = columns[table].index(POINTS_TO[table]) if table in POINTS_TO else None
            ident = columns[table].index("declaration_id") if table in ("declaration", "decision") else None
            copy[table] = [_shifted(row, shift, pointer, ident, n) for row in rows[table]]
        copies.append(copy)
    return copies


def _shifted(row: tuple[Any, ...], shift: int, pointer: int | None, ident: int | None, n: int) -> tuple[Any, ...]:
    values = list(row)
    values[0] += shift
    if pointer is not None:
        values[pointer] += shift
    if ident is not None:
        values[ident] = f"{n:04d}#{values[ident]}"  # after every id of replica n - 1: in order
    return tuple(values)


def bare(columns: dict[str, list[str]], rows: Rows) -> Rows:
    """The same rows without the declaration's content and the decision's facts."""
    emptied = {"declaration": columns["declaration"].index("content"), "decision": columns["decision"].index("facts")}
    result = dict(rows)
    for table, column in emptied.items():
        result[table] = [(*row[:column], "{}", *row[column + 1 :]) for row in rows[table]]
    return result


def insert_seconds(base_db: Path, target: Path, copies: list[Rows], fast: bool) -> float:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(base_db, target)
    connection = sqlite3.connect(target, isolation_level=None)
    if fast:
        connection.execute("PRAGMA journal_mode=OFF")
        connection.execute("PRAGMA synchronous=OFF")
    else:  # what storage.Store sets on every connection
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA foreign_keys=ON")
    start = time.perf_counter()
    for copy in copies:
        connection.execute("BEGIN")
        for table in STORED:
            marks = ",".join("?" * len(copy[table][0])) if copy[table] else ""
            if not marks:
                continue
            connection.executemany(f'INSERT INTO "{table}" VALUES ({marks})', copy[table])
        connection.execute("COMMIT")
    seconds = time.perf_counter() - start
    connection.close()
    return seconds


def postgres_seconds(url: str, columns: dict[str, list[str]], copies: list[Rows], version: tuple[Any, ...]) -> float:
    """The same rows through COPY into a fresh PostgreSQL database made by the project's
    migrations (the server runs on the same cores), one transaction per replica."""
    import psycopg

    from customs_rules.store import Store

    base, _, _ = url.rpartition("/")
    name = "customs_rules_floor"
    libpq = base.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(f"{libpq}/postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name}")
        admin.execute(f"CREATE DATABASE {name}")
    try:
        Store(f"{base}/{name}").close()  # the schema, by the migrations
        with psycopg.connect(f"{libpq}/{name}") as connection:
            connection.execute("INSERT INTO ruleset_version VALUES (%s, %s, %s)", version)
            connection.commit()
            is_test = columns["finding"].index("is_test")  # 0/1 in SQLite, a boolean here
            start = time.perf_counter()
            for copy in copies:
                with connection.transaction():
                    for table in STORED:
                        quoted = ", ".join(f'"{c}"' for c in columns[table])
                        with connection.cursor().copy(f'COPY "{table}" ({quoted}) FROM STDIN') as sink:
                            for row in copy[table]:
                                if table == "finding":
                                    row = (*row[:is_test], bool(row[is_test]), *row[is_test + 1 :])
                                sink.write_row(row)
            return time.perf_counter() - start
    finally:
        with psycopg.connect(f"{libpq}/postgres", autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000, help="of the file, when it must be generated")
    parser.add_argument("--companies", type=int, default=100_000, help="of the registry, when it must be generated")
    parser.add_argument("--sample", type=int, default=20_000, help="lines screened and stored for real")
    parser.add_argument("--keep", type=Path, help="work in this directory and keep the files")
    parser.add_argument("--pg", metavar="URL", help="also COPY the rows into PostgreSQL at this server "
                        "(postgresql+psycopg://USER@HOST:PORT/DB; a scratch database is made and dropped)")  # fmt: skip
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="cr-floor-"))
    work.mkdir(parents=True, exist_ok=True)
    data, base_db, cli = prepare(work, args.lines, args.companies)
    sample, sample_db, floor_db = work / "floor-sample.csv", work / "floor-sample.db", work / "floor.db"

    rows, read_s = read_only(data)
    print(f"input: {rows:,} lines ({data.stat().st_size / 1e6:.0f} MB), registry of {args.companies:,} companies")
    print(f"1. csv.DictReader read only: {read_s:.2f} s ({rows / read_s:,.0f} lines/s)")
    valid_s, declarations, rejected = validation_seconds(data)
    print(f"2. parse and validate only: {valid_s:.1f} s in one process for {declarations:,} declarations "
          f"({rejected} rejected), {valid_s / 2:.1f} s were it split over 2 workers")  # fmt: skip

    first_declarations(data, args.sample, sample)
    shutil.copyfile(base_db, sample_db)
    command = [*cli, "--db", f"sqlite:///{sample_db}", "screen", str(sample), "--format", "json", "--workers", "2"]
    subprocess.run(command, stdout=subprocess.DEVNULL, check=True)
    columns, stored = stored_rows(sample_db)
    count = math.ceil(declarations / len(stored["declaration"]))
    copies = replicas(columns, stored, count)
    total = sum(len(copy[table]) for copy in copies for table in STORED)
    facts_mb = sum(len(row[columns["decision"].index("facts")]) for row in stored["decision"]) * count / 1e6
    print(f"3. storing only: {count} copies of the {len(stored['declaration']):,} declarations stored from the first "
          f"{args.sample:,} lines = {count * len(stored['declaration']):,} declarations, {total:,} rows "
          f"({facts_mb:,.0f} MB of facts)")  # fmt: skip
    project_s = insert_seconds(sample_db, floor_db, copies, fast=False)
    print(f"   with the project's settings (WAL, foreign keys, synchronous=FULL): {project_s:.1f} s")
    fast_s = insert_seconds(sample_db, floor_db, copies, fast=True)
    print(f"   with no journal and no syncing (SQLite's fastest): {fast_s:.1f} s")
    if args.pg:
        with sqlite3.connect(sample_db) as connection:
            version = connection.execute("SELECT version, first_used_at, content FROM ruleset_version").fetchone()
        pg_s = postgres_seconds(args.pg, columns, copies, version)
        print(f"   PostgreSQL, COPY from Python, the server on the same cores: {pg_s:.1f} s")
    del copies
    bare_s = insert_seconds(sample_db, floor_db, replicas(columns, bare(columns, stored), count), fast=False)
    print(f"   the bare rows (no content, no facts), project's settings: {bare_s:.1f} s")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{floor_db}{suffix}").unlink(missing_ok=True)
    print(f"budget at the target (ratio 0.5): {2 * read_s:.1f} s for everything, storing included")
    print(f"best ratio read/screen any pipeline storing these rows could reach here: {read_s / project_s:.3f} "
          f"(project's settings), {read_s / fast_s:.3f} (SQLite's fastest), {read_s / bare_s:.3f} (bare rows); "
          "the target is 0.5")  # fmt: skip


if __name__ == "__main__":
    main()
