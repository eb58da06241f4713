"""Time storing screened sets in bulk (issue #13, 6): `Store.record_set` per bulk method,
on SQLite and PostgreSQL, and ADBC's ingest of the same rows for comparison.

    python benchmarks/bench_store.py [--lines 100000] [--chunk 50000] [--pg URL]
                                     [--methods tuples,copy,core] [--adbc]

It generates --lines shipment lines (benchmarks/generate_shipments.py), reads them with
the project's parser into a `DeclarationSet` (`from_declarations`), and makes a
`ScreenedSet` of it with synthetic decisions, findings (a third of the declarations, with
evidence) and facts (the header facts from the declaration's columns and registry-like
flags; each item's own from its columns). Then, for each back-end and method, a fresh
database stores the set in chunks of --chunk declarations (each chunk one transaction,
sealed by its audit entry) and it prints N, rows written, seconds and rows/s. With
--adbc it also times ADBC's `adbc_ingest` of the declaration, item, decision and finding
rows into the same tables (a connection of its own: no audit entry, no lookups).
--pg is an admin URL (postgresql+psycopg://user@host:port/db); databases are created
and dropped beside it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

import polars as pl  # noqa: E402

from customs_rules.io.declarations import read_all  # noqa: E402
from customs_rules.io.parsing import Parsed  # noqa: E402
from customs_rules.screening.frames import FINDING_SCHEMA, DeclarationSet, ScreenedSet  # noqa: E402
from customs_rules.store import Store  # noqa: E402
from customs_rules.store.prepared import prepare  # noqa: E402

VERSION = "sha256:bench"


def declarations(lines: int, directory: Path) -> DeclarationSet:
    out = directory / "day.csv"
    registry = HERE.parent / "fixtures" / "registry"
    import subprocess

    subprocess.run([sys.executable, str(HERE / "generate_shipments.py"), "--lines", str(lines), "--seed", "1",
                    "--registry", str(registry), "--out", str(out)], check=True, capture_output=True)  # fmt: skip
    parsed = [p.declaration for p in read_all([str(out)]) if isinstance(p, Parsed)]
    return DeclarationSet.from_declarations(parsed)


def screened(decls: DeclarationSet) -> ScreenedSet:
    h, i = decls.headers, decls.items
    n = h.height
    verdict = pl.Series(["release", "inspect", "hold"])[pl.int_range(n, eager=True) % 3]
    decisions = h.select("decl", "declaration_id").with_columns(
        verdict.alias("decision"), (pl.col("decl") % 7 * 10.0).alias("score")
    )
    hit = h.filter(pl.col("decl") % 3 == 0)
    findings = hit.select(
        "decl", pl.lit("R-DUAL-USE").alias("rule_id"), pl.lit("Dual-use goods to a risk country").alias("title"),
        pl.lit("inspect").alias("action"), pl.lit(60.0).alias("score"), pl.lit(1, pl.Int64).alias("item_line"),
        pl.lit(False).alias("is_test"),
        pl.format('{{"hs_code": "{}", "destination": "{}"}}', pl.col("declaration_id"), "destination_country")
        .alias("evidence"),
        pl.lit(0, pl.UInt32).alias("rank"),
    ).cast(FINDING_SCHEMA)  # fmt: skip
    header = h.select(
        "decl", pl.col("procedure").alias("declaration.procedure"), pl.col("date").dt.to_string().alias("declaration.date"),
        pl.col("destination_country").alias("declaration.destination_country"),
        pl.col("exporter_name").alias("exporter.name"), pl.col("exporter_id").alias("exporter.id"),
        (pl.col("decl") % 5 != 0).alias("exporter.known"), pl.lit("id").alias("exporter.match"),
        pl.col("consignee_name").alias("consignee.name"), (pl.col("decl") % 4 == 0).alias("consignee.known"),
        pl.lit(False).alias("parties.linked"), pl.lit(0).alias("parties.shared_persons"),
    )  # fmt: skip
    own = i.select(
        "decl", "position", pl.col("line").alias("item.line"), pl.col("hs_code").alias("item.hs_code"),
        pl.col("value").alias("item.value"), pl.col("origin_country").alias("item.origin_country"),
        (pl.col("position") % 2 == 0).alias("item.exporter_activity_covers"),
    )  # fmt: skip
    facts = own.join(header, on="decl").select("decl", "position", *header.columns[1:], *own.columns[2:])
    return ScreenedSet(decls, decisions, findings, facts, VERSION, dt.datetime.now(dt.UTC))


def chunks(whole: ScreenedSet, size: int) -> list[ScreenedSet]:
    parts = []
    for start in range(0, len(whole), size):
        part = whole.declarations.slice(start, size)
        shift = (pl.col("decl") - start).cast(pl.UInt32)

        def take(frame: pl.DataFrame, start: int = start, shift: pl.Expr = shift) -> pl.DataFrame:
            return frame.filter(pl.col("decl").is_between(start, start + size - 1)).with_columns(shift)

        parts.append(ScreenedSet(part, take(whole.decisions), take(whole.findings), take(whole.facts),
                                 whole.ruleset_version, whole.screened_at))  # fmt: skip
    return parts


def run(url: str, method: str, parts: list[ScreenedSet]) -> tuple[int, float, float]:
    store = Store(url)
    store.bulk_method = method
    store.record_ruleset(VERSION, {"bench.yaml": "id: bench"})
    prepared_time = stored_time = 0.0
    written = 0
    try:
        for part in parts:
            began = time.perf_counter()
            ready = prepare(part)
            middle = time.perf_counter()
            (stored,) = store.record_sets([ready], "screen", "bench")
            stored_time += time.perf_counter() - middle
            prepared_time += middle - began
            written += stored.written
    finally:
        store.close()
    return written, prepared_time, stored_time


def adbc(url: str, backend: str, whole: ScreenedSet) -> tuple[int, float]:
    """ADBC ingest of the same rows (declaration, item, decision, finding) into the tables."""
    store = Store(url)  # the schema
    store.record_ruleset(VERSION, {"bench.yaml": "id: bench"})
    store.close()
    ready = prepare(whole)
    n = len(whole)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    frames = {
        "declaration": ready.heads.select(
            (pl.col("decl").cast(pl.Int64) + 1).alias("id"), pl.lit(1).alias("revision"), "content_hash",
            *[c for c in ready.heads.columns if c not in ("decl", "content_hash")], pl.lit(now).alias("received_at"),
        ),
        "item": whole.declarations.items.select((pl.col("decl").cast(pl.Int64) + 1).alias("declaration_pk"),
                                                pl.all().exclude("decl")),
        "decision": whole.decisions.select(
            (pl.col("decl").cast(pl.Int64) + 1).alias("id"), (pl.col("decl").cast(pl.Int64) + 1).alias("declaration_pk"),
            "declaration_id", "decision", "score", pl.lit(VERSION).alias("ruleset_version"),
            pl.lit(now).alias("screened_at"), pl.lit("screen").alias("kind"),
        ),
        "finding": whole.findings.select((pl.col("decl").cast(pl.Int64) + 1).alias("decision_id"),
                                         pl.all().exclude("decl", "rank")),
    }  # fmt: skip
    if backend == "sqlite":
        import adbc_driver_sqlite.dbapi as driver

        conn = driver.connect(url.removeprefix("sqlite:///"))
    else:
        import adbc_driver_postgresql.dbapi as driver  # type: ignore[no-redef]

        conn = driver.connect(url.replace("postgresql+psycopg://", "postgresql://"))
    rows = sum(frame.height for frame in frames.values())
    began = time.perf_counter()
    with conn.cursor() as cursor:
        for table, frame in frames.items():
            if backend == "postgresql":  # binary COPY: integer columns are int4
                ints = [pl.col(c).cast(pl.Int32) for c, t in frame.schema.items() if t.is_integer()]
                frame = frame.with_columns(ints)
            cursor.adbc_ingest(table, frame.to_arrow(), mode="append")
    conn.commit()
    conn.close()
    del n
    return rows, time.perf_counter() - began


def pg_database(admin: str) -> tuple[str, Any]:
    import psycopg

    name = f"cr_bench_{uuid.uuid4().hex[:8]}"
    plain = admin.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return f"{admin.rpartition('/')[0]}/{name}", drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--chunk", type=int, default=50_000)
    parser.add_argument("--pg", default=None, help="PostgreSQL admin URL; without it, SQLite only")
    parser.add_argument("--methods", default="tuples,copy,core")
    parser.add_argument("--adbc", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        began = time.perf_counter()
        decls = declarations(args.lines, Path(tmp))
        whole = screened(decls)
        print(f"input: {args.lines} lines, {len(whole)} declarations, {decls.items.height} items, "
              f"{whole.findings.height} findings; read and built in {time.perf_counter() - began:.1f} s")  # fmt: skip
        parts = chunks(whole, args.chunk)
        backends = [("sqlite", None)] + ([("postgresql", args.pg)] if args.pg else [])
        for backend, admin in backends:
            for method in args.methods.split(","):
                if method == "copy" and backend == "sqlite":
                    continue
                url, drop = (f"sqlite:///{tmp}/{uuid.uuid4().hex}.db", None) if admin is None else pg_database(admin)
                try:
                    written, prep, stored = run(url, method, parts)
                finally:
                    if drop:
                        drop()
                total = prep + stored
                print(f"{backend:10} {method:7} N={len(whole)} rows={written} prepare={prep:.2f}s store={stored:.2f}s "
                      f"total={total:.2f}s rows/s={written / total:,.0f}")  # fmt: skip
            if args.adbc:
                url, drop = (f"sqlite:///{tmp}/{uuid.uuid4().hex}.db", None) if admin is None else pg_database(admin)
                try:
                    rows, seconds = adbc(url, backend, whole)
                finally:
                    if drop:
                        drop()
                print(f"{backend:10} adbc    N={len(whole)} rows={rows} (4 tables only) ingest={seconds:.2f}s "
                      f"rows/s={rows / seconds:,.0f}")  # fmt: skip


if __name__ == "__main__":
    main()
