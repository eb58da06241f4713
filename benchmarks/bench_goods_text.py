#!/usr/bin/env python3
"""Precision and recall of the goods-description facts on a labelled set.

    python benchmarks/bench_goods_text.py [--data tests/data/goods_descriptions.csv] [--rules rules] [--errors]
    python benchmarks/bench_goods_text.py --timing 200000     # CPU time of the set core's facts

Each row of the set is a description, the HS code declared for it, the keyword lists the
goods are (`lists`, `;`-separated: what a customs officer reading it would say the
shipment is, not what it is for or has inside) and whether the code disagrees with them
(`mismatch`). The script computes the facts exactly as screening does
(`enrichment.description_features`, with the pack's keyword lists) and counts:

- lists: one decision per (row, list): true positive when the fact names a list the label
  names, false positive when it names one the label does not, false negative when it
  misses one;
- mismatch: one yes/no decision per row (`item.description_code_mismatch`);
- the default rule's condition (drones or microelectronics named, and a mismatch).

It prints precision, recall and counts per measure and per language, the CPU time per
description, and with `--errors` every row it gets wrong. `--timing N` instead times the
set core's computation (`screening.descriptions.description_columns`) on N items of N
distinct descriptions (ten goods phrases with a random model and lot number each), then
on 1,000,000 items sharing ten descriptions.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from customs_rules.engine.enrichment import description_features  # noqa: E402
from customs_rules.rules.loader import load_pack  # noqa: E402
from customs_rules.screening.descriptions import description_columns  # noqa: E402

RULE_LISTS = {"drones", "microelectronics"}


def read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def ratio(a: int, b: int) -> float:
    return a / b if b else 1.0


def measure(rows: list[dict[str, str]], rules: Path) -> dict[str, object]:
    reference = load_pack(rules).reference
    counts: Counter[str] = Counter()
    errors = []
    started = time.process_time()
    for row in rows:
        facts = description_features(row["description"], row["hs_code"], reference)
        found = set(facts["item.description_lists"].value or [])
        mismatch = bool(facts["item.description_code_mismatch"].value)
        wanted = {n for n in row["lists"].split(";") if n}
        expected = row["mismatch"] == "true"
        for kind, lang in (("lists", "all"), (f"lists/{row['lang']}", row["lang"])):
            counts[f"{kind}:tp"] += len(found & wanted)
            counts[f"{kind}:fp"] += len(found - wanted)
            counts[f"{kind}:fn"] += len(wanted - found)
            del lang
        for kind, got, want in (
            ("mismatch", mismatch, expected),
            ("rule", mismatch and bool(found & RULE_LISTS), expected and bool(wanted & RULE_LISTS)),
        ):
            counts[f"{kind}:tp"] += got and want
            counts[f"{kind}:fp"] += got and not want
            counts[f"{kind}:fn"] += want and not got
        if found != wanted or mismatch != expected:
            errors.append((row, sorted(found), mismatch))
    cpu = time.process_time() - started
    return {"counts": counts, "errors": errors, "cpu": cpu}


PHRASES = ["Quadcopter DJI Mavic", "Микросхемы интегральные", "Wheat other than seed", "Пшеница мягкая 3 класс",
           "Processors Intel Core", "Бензин автомобильный АИ-92", "Laptop computers", "Ноутбуки Lenovo ThinkPad",
           "Potato chips salted", "Части компьютеров"]  # fmt: skip


def timing(count: int, rules: Path) -> None:
    import random

    import polars as pl

    reference = load_pack(rules).reference
    rng = random.Random(1)
    schema = {"description": pl.String, "hs_code": pl.String}
    codes = ["100199", "854231", "880622"]
    rows = [(f"{rng.choice(PHRASES)} модель {rng.randrange(10**6)} партия {rng.randrange(10**4)}", rng.choice(codes))
            for _ in range(count)]  # fmt: skip
    frame = pl.DataFrame(rows, schema=schema, orient="row")
    started = time.process_time()
    found = description_columns(frame, reference)
    cpu = time.process_time() - started
    flagged = found["item.description_code_mismatch"].sum()
    print(
        f"{count} items, {frame.n_unique()} distinct (description, code): {cpu:.2f} s CPU "
        f"({1e6 * cpu / count:.1f} us each), {flagged} mismatches"
    )
    frame = pl.DataFrame([(rng.choice(PHRASES), rng.choice(codes)) for _ in range(1_000_000)], schema=schema,
                         orient="row")  # fmt: skip
    started = time.process_time()
    description_columns(frame, reference)
    print(f"1000000 items, {frame.n_unique()} distinct: {time.process_time() - started:.2f} s CPU")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT / "tests" / "data" / "goods_descriptions.csv")
    parser.add_argument("--rules", type=Path, default=ROOT / "rules")
    parser.add_argument("--errors", action="store_true", help="list the rows the facts get wrong")
    parser.add_argument("--timing", type=int, metavar="N", help="time the set core on N distinct descriptions")
    args = parser.parse_args()
    if args.timing:
        timing(args.timing, args.rules)
        return
    rows = read(args.data)
    result = measure(rows, args.rules)
    counts: Counter[str] = result["counts"]  # type: ignore[assignment]
    positives = sum(1 for r in rows if r["lists"])
    print(
        f"{len(rows)} labelled descriptions ({positives} naming listed goods, {len(rows) - positives} not), "
        f"by language: {dict(Counter(r['lang'] for r in rows))}"
    )
    print(f"{'measure':<14} {'precision':>9} {'recall':>7} {'tp':>5} {'fp':>4} {'fn':>4}")
    kinds = sorted({k.split(":")[0] for k in counts})
    for kind in ["lists", *[k for k in kinds if k.startswith("lists/")], "mismatch", "rule"]:
        tp, fp, fn = counts[f"{kind}:tp"], counts[f"{kind}:fp"], counts[f"{kind}:fn"]
        print(f"{kind:<14} {ratio(tp, tp + fp):>9.3f} {ratio(tp, tp + fn):>7.3f} {tp:>5} {fp:>4} {fn:>4}")
    cpu = float(result["cpu"])  # type: ignore[arg-type]
    print(f"CPU time {cpu:.3f} s for {len(rows)} descriptions, first reading ({1e6 * cpu / len(rows):.0f} us each)")
    if args.errors:
        for row, found, mismatch in result["errors"]:  # type: ignore[attr-defined]
            print(
                f"  {row['description']!r} {row['hs_code']}: labelled {row['lists'] or '-'} "
                f"mismatch={row['mismatch']}; found {';'.join(found) or '-'} mismatch={str(mismatch).lower()}"
            )


if __name__ == "__main__":
    main()
