"""Time registry look-ups on a large registry: parties, people and links (issue #5).

    python benchmarks/bench_registry.py [--companies 100000] [--people 300000] [--lookups 300]
                                        [--seed 1] [--keep DIR]

It writes a synthetic registry (benchmarks/generate_shipments.py's `synthetic_registry`,
about 2 people per company, then extra founders, shareholders and owners up to --people;
every company gets a registered address from a pool where some are shared, and 5% of
companies are founded by another company through `person_company_id`), loads it into a
fresh SQLite database with `api.load_registry` (timed), builds the in-memory index
(`Store.registry_index`, timed), then times, on both back-ends (`RegistryIndex` in memory
and `StoredRegistry` in the database), --lookups look-ups of each kind, every one cold
(the look-up's caches are cleared first):
  - party by id: the company's id as declared;
  - party by exact name: its registered name;
  - party by fuzzy name: a Latin alias with one letter dropped, or the Cyrillic name
    transliterated with one letter dropped;
  - person namesakes: the people rows that may be one person (all back-ends' `namesakes`);
  - links, depth 1 and depth 2: `links.link_paths` between random company pairs (most are
    not linked: the whole neighbourhood is explored) and between the two ends of each
    company-held founder row followed by one more person step (linked at 2).
It prints the input sizes and, per kind and back-end, the median and p95 in milliseconds.
With --keep DIR the registry CSVs and the database are written there and reused.
"""

from __future__ import annotations

import argparse
import csv
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

import generate_shipments as gen  # noqa: E402

from customs_rules.contract.models import Party  # noqa: E402
from customs_rules.entities import links, name_text  # noqa: E402
from customs_rules.entities.registry import RegistryIndex, RegistryLookup  # noqa: E402
from customs_rules.store import Store  # noqa: E402
from customs_rules.workflow.screener import load_registry  # noqa: E402

COMPANY_COLUMNS = gen.COMPANY_COLUMNS  # its last column is the address, written here as before
PEOPLE_COLUMNS = [*gen.PEOPLE_COLUMNS, "person_company_id"]
STREETS = ["Абая", "Достык", "Сатпаева", "Толе би", "Назарбаева", "Кенесары", "Республики", "Жибек жолы"]
EXTRA_ROLES = ("founder", "shareholder", "beneficial_owner")


def write_registry(directory: Path, companies: int, people: int, seed: int) -> None:
    rng = random.Random(seed)
    firms, persons = gen.synthetic_registry(rng, companies)
    ids = [c.company_id for c in firms]
    holder_rows = []
    for company in rng.sample(firms, len(firms) // 20):  # founded by another company of the registry
        holder = rng.choice(firms)
        if holder is not company:
            holder_rows.append([company.company_id, holder.name, "founder", "", "", holder.company_id])
    with (directory / "companies.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(COMPANY_COLUMNS)
        for company in firms:
            # about 1 in 40 addresses is shared by two or three firms (a business centre)
            number = rng.randint(1, companies // 8)
            address = f"г. {rng.choice(gen.CITIES)[0]}, ул. {rng.choice(STREETS)}, д. {number}"
            writer.writerow([*company.row()[:-1], address])
    with (directory / "people.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(PEOPLE_COLUMNS)
        writer.writerows([*p.row(), ""] for p in persons)
        writer.writerows(holder_rows)
        for _ in range(max(0, people - len(persons) - len(holder_rows))):
            company = firms[rng.randrange(len(firms))]
            name, _male = gen._person(rng, company.country)
            writer.writerow([company.company_id, name, rng.choice(EXTRA_ROLES), "", "", ""])
    print(f"wrote {len(ids)} companies to {directory}", file=sys.stderr)


def count(path: Path) -> int:
    with path.open(newline="", encoding="utf-8") as handle:
        return sum(1 for _ in csv.DictReader(handle))


def drop_letter(rng: random.Random, text: str) -> str:
    tokens = text.split()
    longest = max(range(len(tokens)), key=lambda i: len(tokens[i]))
    token = tokens[longest]
    cut = rng.randrange(1, len(token) - 1) if len(token) > 3 else 1
    tokens[longest] = token[:cut] + token[cut + 1 :]
    return " ".join(tokens)


def timings(lookup: RegistryLookup, cases: list[Any], work: Callable[[RegistryLookup, Any], Any]) -> list[float]:
    out = []
    for case in cases:
        forget = getattr(lookup, "forget", lookup.clear_caches)
        forget()
        start = time.perf_counter()
        work(lookup, case)
        out.append((time.perf_counter() - start) * 1000)
    return out


def report(kind: str, backend: str, ms: list[float]) -> None:
    ms = sorted(ms)
    p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
    print(f"{kind:30} {backend:9} n={len(ms):4}  median {statistics.median(ms):8.2f} ms   p95 {p95:8.2f} ms")


def cases(index: RegistryIndex, n: int, seed: int) -> dict[str, list[Any]]:
    rng = random.Random(seed + 1)
    companies = list(index.companies.values())
    sample = rng.sample(companies, n)
    fuzzy = []
    for company in sample:
        latin = [a for a in company.aliases if a.isascii()]
        base = latin[0] if latin and rng.random() < 0.5 else name_text.transliterate(company.name)
        fuzzy.append(Party(name=drop_letter(rng, base), country=company.country))
    people = [p for group in index.people.values() for p in group if not p.person_company_id]
    held = [p for group in index.people.values() for p in group if p.person_company_id]
    linked = []
    for row in rng.sample(held, min(n, len(held))):
        holder = index.company_by_id(row.person_company_id or "")
        neighbours = links.neighbours(index, holder, False) if holder else []
        onward = [s.target for s in neighbours if s.kind == "person"]
        if onward:  # founded by X, whose person sits in Y: linked at 2
            linked.append((index.company_by_id(row.company_id), onward[0]))
    return {
        "party by id": [Party(name=c.name, id=c.company_id) for c in sample],
        "party by exact name": [Party(name=c.name, country=c.country) for c in sample],
        "party by fuzzy name": fuzzy,
        "person namesakes": rng.sample(people, n),
        "links, random pairs": [(a, b) for a, b in zip(sample, rng.sample(companies, n), strict=True)],
        "links, linked at 2": linked,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--companies", type=int, default=100_000)
    parser.add_argument("--people", type=int, default=300_000)
    parser.add_argument("--lookups", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="write (or reuse) the registry and database here")
    args = parser.parse_args(argv)
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-registry-"))
    work.mkdir(parents=True, exist_ok=True)
    db = work / "registry.db"
    if not (work / "people.csv").exists():
        write_registry(work, args.companies, args.people, args.seed)
        db.unlink(missing_ok=True)
    print(f"input: {count(work / 'companies.csv')} companies, {count(work / 'people.csv')} people rows", flush=True)
    store = Store(f"sqlite:///{db}")
    if store.registry_counts()["people"] == 0:
        start = time.perf_counter()
        result = load_registry(store, work / "companies.csv", work / "people.csv")
        assert not result.failed, result.failed
        print(f"registry load (SQLite, with name and address keys): {time.perf_counter() - start:.1f} s")
    start = time.perf_counter()
    index = store.registry_index()
    print(f"in-memory index build (read + index): {time.perf_counter() - start:.1f} s")
    work_cases = cases(index, args.lookups, args.seed)
    kinds: dict[str, Callable[[RegistryLookup, Any], Any]] = {
        "party by id": lambda lk, p: lk.resolve(p),
        "party by exact name": lambda lk, p: lk.resolve(p),
        "party by fuzzy name": lambda lk, p: lk.resolve(p),
        "person namesakes": lambda lk, p: lk.namesakes(p),
        "links depth 1, random pairs": lambda lk, ab: links.link_paths(lk, ab[0], ab[1], 1),
        "links depth 2, random pairs": lambda lk, ab: links.link_paths(lk, ab[0], ab[1], 2),
        "links depth 2, linked at 2": lambda lk, ab: links.link_paths(lk, ab[0], ab[1], 2),
    }
    source = {
        "links depth 1, random pairs": "links, random pairs",
        "links depth 2, random pairs": "links, random pairs",
    }
    source["links depth 2, linked at 2"] = "links, linked at 2"
    found = {}
    with store.stored_registry() as stored:
        for kind, job in kinds.items():
            chosen = work_cases[source.get(kind, kind)]
            for backend, lookup in (("memory", index), ("sqlite", stored)):
                report(kind, backend, timings(lookup, chosen, job))
            if kind.startswith("links"):
                found[kind] = sum(1 for a, b in chosen if links.link_paths(index, a, b, int(kind[12])) != (None, None))
            if kind == "party by fuzzy name":
                found[kind] = sum(1 for p in chosen if index.resolve(p).company is not None)
    for kind, hits in found.items():
        print(f"{kind}: {hits} of {len(work_cases[source.get(kind, kind)])} found")
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
